import type { INodeProperties } from 'n8n-workflow';

import type { EsiLeaseOperations } from '../../node.type';
import * as create from './create';
import * as del from './delete';
import * as get from './get';
import * as getAll from './getAll';
import * as updateEndTime from './updateEndTime';

export const leaseOperations: EsiLeaseOperations['lease'] = {
	create: create.operation,
	delete: del.operation,
	get: get.operation,
	getAll: getAll.operation,
	updateEndTime: updateEndTime.operation,
};

export const leaseDescription: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['lease'] } },
		options: [
			{
				name: 'Create',
				value: 'create',
				description: 'Lease a node directly, without an offer (owner or admin)',
				action: 'Create a lease',
			},
			{
				name: 'Delete',
				value: 'delete',
				description: 'Cancel a lease; the node is released',
				action: 'Delete a lease',
			},
			{
				name: 'Get',
				value: 'get',
				description: 'Get a lease by name or UUID',
				action: 'Get a lease',
			},
			{
				name: 'Get Many',
				value: 'getAll',
				description: 'List leases, with every ESI Leap filter',
				action: 'Get many leases',
			},
			{
				name: 'Update End Time',
				value: 'updateEndTime',
				description: 'Shorten or extend a lease (admin only)',
				action: 'Update the end time of a lease',
			},
		],
		default: 'getAll',
	},
	...create.description,
	...del.description,
	...get.description,
	...getAll.description,
	...updateEndTime.description,
];
