import type { INodeProperties } from 'n8n-workflow';

import type { EsiLeaseOperations } from '../../node.type';
import * as create from './create';
import * as del from './delete';

export const consoleTokenOperations: EsiLeaseOperations['consoleToken'] = {
	create: create.operation,
	delete: del.operation,
};

export const consoleTokenDescription: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['consoleToken'] } },
		options: [
			{
				name: 'Create',
				value: 'create',
				description: "Get a token and URL for a node's serial console (Ironic nodes only)",
				action: 'Create a console token',
			},
			{
				name: 'Delete',
				value: 'delete',
				description: 'Revoke every console token of a node',
				action: 'Delete console tokens of a node',
			},
		],
		default: 'create',
	},
	...create.description,
	...del.description,
];
