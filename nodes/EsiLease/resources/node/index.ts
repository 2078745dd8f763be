import type { INodeProperties } from 'n8n-workflow';

import type { EsiLeaseOperations } from '../../node.type';
import * as getAll from './getAll';

export const nodeOperations: EsiLeaseOperations['node'] = {
	getAll: getAll.operation,
};

export const nodeDescription: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['node'] } },
		options: [
			{
				name: 'Get Many',
				value: 'getAll',
				description: 'List Ironic nodes with their current and future offers and leases',
				action: 'Get many nodes',
			},
		],
		default: 'getAll',
	},
	...getAll.description,
];
