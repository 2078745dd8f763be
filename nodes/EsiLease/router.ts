/**
 * Runs the chosen operation once per input item. Every output item is paired with its input;
 * a failing item either stops the node with an n8n error (ESI's message, the field, the role a
 * 403 needs) or, with "continue on fail", becomes an `{ error }` item.
 */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { createEsiLeapClient } from '../core/api/client';
import { invalidParameter } from '../shared/locators';
import { toNodeError } from '../shared/errors';
import { esiLeapApiTransport } from '../shared/transport';
import type { EsiLeaseOperation, EsiLeaseOperations, EsiLeaseResource } from './node.type';
import { consoleTokenOperations } from './resources/consoleToken';
import { eventOperations } from './resources/event';
import { leaseOperations } from './resources/lease';
import { nodeOperations } from './resources/node';
import { offerOperations } from './resources/offer';

const OPERATIONS: EsiLeaseOperations = {
	lease: leaseOperations,
	offer: offerOperations,
	node: nodeOperations,
	event: eventOperations,
	consoleToken: consoleTokenOperations,
};

function operationFor(context: IExecuteFunctions, itemIndex: number): EsiLeaseOperation {
	const resource = context.getNodeParameter('resource', itemIndex) as EsiLeaseResource;
	const operation = context.getNodeParameter('operation', itemIndex) as string;
	const found = (OPERATIONS[resource] as Record<string, EsiLeaseOperation> | undefined)?.[
		operation
	];
	if (!found)
		throw invalidParameter('operation', `"${operation}" is not an operation of ${resource}`);
	return found;
}

export async function route(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const client = createEsiLeapClient(esiLeapApiTransport(this));
	const output: INodeExecutionData[] = [];
	const items = this.getInputData();
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		let requiredRole: string | undefined;
		try {
			const operation = operationFor(this, itemIndex);
			requiredRole = operation.requiredRole;
			const result = await operation.execute.call(this, client, itemIndex);
			for (const json of Array.isArray(result) ? result : [result]) {
				output.push({ json, pairedItem: { item: itemIndex } });
			}
		} catch (error) {
			const nodeError = toNodeError(this.getNode(), error, { itemIndex, requiredRole });
			if (!this.continueOnFail()) throw nodeError;
			output.push({
				json: { error: nodeError.message, description: nodeError.description ?? null },
				pairedItem: { item: itemIndex },
			});
		}
	}
	return [output];
}
