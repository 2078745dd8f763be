import type { IDataObject, ITriggerFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { compileFilters, compileSelection, FilterConfigError } from '../core/events/filters';
import type { EventPredicate, ItemPredicate, PayloadFilterSpec } from '../core/events/filters';
import type { ShortEventType } from '../core/events/types';
import { isWatchEvent, type WatchEventName } from '../core/watch/items';
import { DEFAULT_EVENTS } from '../shared/descriptions';

/** The parameters both trigger modes share, read once per activation. */
export interface SharedParameters {
	/** ESI Leap's own lease events among the chosen ones. */
	events: ShortEventType[];
	select: EventPredicate;
	/** The watch events among the chosen ones (Event History mode only). */
	watchEvents: WatchEventName[];
	/** The payload filters alone, for the watch items. */
	matchesFilters: ItemPredicate;
	includeRaw: boolean;
}

/** Reads and validates the shared parameters; bad values fail activation, naming the field. */
export function readSharedParameters(context: ITriggerFunctions): SharedParameters {
	const chosen = context.getNodeParameter('events', DEFAULT_EVENTS) as string[];
	const watchEvents = chosen.filter(isWatchEvent);
	const events = chosen.filter((event) => !isWatchEvent(event)) as ShortEventType[];
	const mode = context.getNodeParameter('mode', 'messageBus') as string;
	if (watchEvents.length > 0 && mode !== 'eventHistory') {
		throw new NodeOperationError(
			context.getNode(),
			`Events: ${watchEvents.join(', ')} can only be watched in Event History mode`,
			{
				description:
					'ESI Leap sends no notification for them; the Event History mode finds them in the lease and offer lists.',
			},
		);
	}
	const filterRows = context.getNodeParameter('payloadFilters.filter', []) as IDataObject[];
	const filters: PayloadFilterSpec[] = filterRows.map((row) => ({
		path: String(row.path ?? ''),
		operator: (row.operator ?? 'equals') as PayloadFilterSpec['operator'],
		value: row.value === undefined ? undefined : String(row.value),
	}));
	const onlyWatch = events.length === 0 && watchEvents.length > 0;
	const compiled = onlyWatch
		? compileSelectionOrFail(context, () => compileFilters(filters) && (() => false))
		: compileSelectionOrFail(context, () => compileSelection({ events, filters }));
	return {
		events,
		select: compiled,
		watchEvents,
		matchesFilters: compileFilters(filters),
		includeRaw: context.getNodeParameter('options.includeRawEnvelope', false) as boolean,
	};
}

function compileSelectionOrFail(
	context: ITriggerFunctions,
	compile: () => EventPredicate,
): EventPredicate {
	const compiled = (() => {
		try {
			return compile();
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
