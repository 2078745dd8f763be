import type { INodeProperties } from 'n8n-workflow';

import type { EsiLeaseOperations } from '../../node.type';
import * as getAll from './getAll';

export const eventOperations: EsiLeaseOperations['event'] = {
	getAll: getAll.operation,
};

export const eventDescription: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['event'] } },
		options: [
			{
				name: 'Get Many',
				value: 'getAll',
				description: 'List lease events in ID order',
				action: 'Get many events',
			},
		],
		default: 'getAll',
	},
	...getAll.description,
];
