/**
 * What every Get Many operation shares: Return All + Limit, a Filters collection, and the
 * shaping of the answer. ESI Leap never paginates, so the limit applies to the full answer.
 */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { EsiLeapClient } from '../../core/api/client';
import { invalidParameter } from '../../shared/locators';
import { scoped } from '../../shared/scoped';
import type { EsiLeaseOperation, EsiLeaseResource } from '../node.type';
import { asJson } from './fields';

const DEFAULT_LIMIT = 50;

export function getManyDescription(
	resource: EsiLeaseResource,
	filters: INodeProperties[],
): INodeProperties[] {
	return scoped(resource, 'getAll', [
		{
			displayName: 'Return All',
			name: 'returnAll',
			type: 'boolean',
			default: false,
			description: 'Whether to return all results or only up to a given limit',
		},
		{
			displayName: 'Limit',
			name: 'limit',
			type: 'number',
			typeOptions: { minValue: 1 },
			// The lint rule wants the literal; it equals DEFAULT_LIMIT.
			default: 50,
			description: 'Max number of results to return',
			displayOptions: { show: { returnAll: [false] } },
		},
		{
			displayName: 'Filters',
			name: 'filters',
			type: 'collection',
			placeholder: 'Add Filter',
			default: {},
			options: filters,
		},
	]);
}

/** `list` turns the item's Filters into one ESI request; its records become output items. */
export function getManyOperation<T extends object>(
	requiredRole: string,
	list: (this: IExecuteFunctions, client: EsiLeapClient, filters: IDataObject) => Promise<T[]>,
): EsiLeaseOperation {
	return {
		requiredRole,
		async execute(client, itemIndex) {
			const filters = this.getNodeParameter('filters', itemIndex, {}) as IDataObject;
			const records = await list.call(this, client, filters);
			return limitResults(this, itemIndex, records).map(asJson);
		},
	};
}

function limitResults<T>(context: IExecuteFunctions, itemIndex: number, records: T[]): T[] {
	if (context.getNodeParameter('returnAll', itemIndex, false) as boolean) return records;
	const limit = context.getNodeParameter('limit', itemIndex, DEFAULT_LIMIT) as number;
	if (!Number.isInteger(limit) || limit < 1) {
		throw invalidParameter('limit', 'must be a whole number ≥ 1');
	}
	return records.slice(0, limit);
}
