import type { IDataObject, INodeProperties, ITriggerFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { compileSelection, FilterConfigError } from '../core/events/filters';
import type { EventPredicate, PayloadFilterSpec } from '../core/events/filters';
import type { ShortEventType } from '../core/events/types';
import {
	DEFAULT_EVENTS,
	eventsProperty,
	includeRawEnvelopeOption,
	payloadFiltersProperty,
} from '../shared/descriptions';
import { executionsProperties } from './executions';
import { eventHistoryProperties } from './modes/eventHistoryDescription';
import { messageBusProperties } from './modes/messageBusDescription';

/**
 * The trigger's parameters: the mode, then what both modes share (events, filters, options),
 * then each mode's own parameters. A new mode adds its entry to MODE_OPTIONS, its properties to
 * `properties`, and its options to the `options` collection with `displayOptions: {show: {'/mode': [...]}}`.
 */
export type TriggerMode = 'messageBus' | 'eventHistory';

const MODE_OPTIONS = [
	{
		name: 'Message Bus',
		value: 'messageBus',
		description: 'Consume ESI Leap notifications from RabbitMQ (instant, needs broker access)',
	},
	{
		name: 'Event History',
		value: 'eventHistory',
		description: 'Poll the ESI Leap events API (works with an ordinary ESI Leap login)',
	},
];

export const modeProperty: INodeProperties = {
	displayName: 'Mode',
	name: 'mode',
	type: 'options',
	noDataExpression: true,
	options: MODE_OPTIONS,
	default: 'messageBus',
};

export const sharedOptionsProperty: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		includeRawEnvelopeOption,
		...messageBusProperties.options,
		...eventHistoryProperties.options,
	],
};

export const properties: INodeProperties[] = [
	modeProperty,
	...messageBusProperties.topLevel,
	...eventHistoryProperties.topLevel,
	...executionsProperties,
	eventsProperty,
	payloadFiltersProperty,
	sharedOptionsProperty,
];

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
