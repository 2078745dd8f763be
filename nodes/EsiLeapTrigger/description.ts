import type { IDataObject, ITriggerFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { compileSelection, FilterConfigError } from '../core/events/filters';
import type { EventPredicate, PayloadFilterSpec } from '../core/events/filters';
import type { ShortEventType } from '../core/events/types';
import { DEFAULT_EVENTS } from '../shared/descriptions';

/** The parameters both trigger modes share, read once per activation. */
export interface SharedParameters {
	events: ShortEventType[];
	select: EventPredicate;
	includeRaw: boolean;
}

/** Reads and validates the shared parameters; bad values fail activation, naming the field. */
export function readSharedParameters(context: ITriggerFunctions): SharedParameters {
	const events = context.getNodeParameter('events', DEFAULT_EVENTS) as ShortEventType[];
	const filterRows = context.getNodeParameter('payloadFilters.filter', []) as IDataObject[];
	const filters: PayloadFilterSpec[] = filterRows.map((row) => ({
		path: String(row.path ?? ''),
		operator: (row.operator ?? 'equals') as PayloadFilterSpec['operator'],
		value: row.value === undefined ? undefined : String(row.value),
	}));
	const compiled = compileSelectionOrFail(context, events, filters);
	return {
		events,
		select: compiled,
		includeRaw: context.getNodeParameter('options.includeRawEnvelope', false) as boolean,
	};
}

function compileSelectionOrFail(
	context: ITriggerFunctions,
	events: ShortEventType[],
	filters: PayloadFilterSpec[],
): EventPredicate {
	const compiled = (() => {
		try {
			return compileSelection({ events, filters });
		} catch (error) {
			return error as Error;
		}
	})();
	if (compiled instanceof FilterConfigError) {
		const where = compiled.field === 'events' ? 'Events' : 'Payload Filters';
		throw new NodeOperationError(context.getNode(), `${where}: ${compiled.message}`);
	}
	if (compiled instanceof Error) throw new NodeOperationError(context.getNode(), compiled);
	return compiled;
}
