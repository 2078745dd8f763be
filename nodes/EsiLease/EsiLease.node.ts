import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { searchLeases, searchNodes, searchOffers } from '../shared/listSearch';
import { consoleTokenDescription } from './resources/consoleToken';
import { eventDescription } from './resources/event';
import { leaseDescription } from './resources/lease';
import { nodeDescription } from './resources/node';
import { offerDescription } from './resources/offer';
import { route } from './router';

export class EsiLease implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'ESI Lease',
		name: 'esiLease',
		icon: { light: 'file:../../icons/esiLeap.svg', dark: 'file:../../icons/esiLeap.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
		description: 'Lease, offer and inspect bare-metal nodes with OpenStack ESI Leap',
		defaults: { name: 'ESI Lease' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'esiLeapApi', required: true }],
		properties: [
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Console Token', value: 'consoleToken' },
					{ name: 'Event', value: 'event' },
					{ name: 'Lease', value: 'lease' },
					{ name: 'Node', value: 'node' },
					{ name: 'Offer', value: 'offer' },
				],
				default: 'lease',
			},
			...leaseDescription,
			...offerDescription,
			...nodeDescription,
			...eventDescription,
			...consoleTokenDescription,
		],
	};

	methods = {
		listSearch: { searchLeases, searchOffers, searchNodes },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await route.call(this);
	}
}
