import type { INodeProperties } from 'n8n-workflow';

import type { EsiLeaseOperations } from '../../node.type';
import * as claim from './claim';
import * as create from './create';
import * as del from './delete';
import * as get from './get';
import * as getAll from './getAll';

export const offerOperations: EsiLeaseOperations['offer'] = {
	claim: claim.operation,
	create: create.operation,
	delete: del.operation,
	get: get.operation,
	getAll: getAll.operation,
};

export const offerDescription: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['offer'] } },
		options: [
			{
				name: 'Claim',
				value: 'claim',
				description: 'Lease the node of an available offer; returns the new lease',
				action: 'Claim an offer',
			},
			{
				name: 'Create',
				value: 'create',
				description: 'Offer a node for lease (owner or admin)',
				action: 'Create an offer',
			},
			{
				name: 'Delete',
				value: 'delete',
				description: 'Cancel an offer and the leases made from it',
				action: 'Delete an offer',
			},
			{
				name: 'Get',
				value: 'get',
				description: 'Get an offer by name or UUID',
				action: 'Get an offer',
			},
			{
				name: 'Get Many',
				value: 'getAll',
				description: 'List offers, with every ESI Leap filter',
				action: 'Get many offers',
			},
		],
		default: 'getAll',
	},
	...claim.description,
	...create.description,
	...del.description,
	...get.description,
	...getAll.description,
];
