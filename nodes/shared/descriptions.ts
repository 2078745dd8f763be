import type { INodeProperties } from 'n8n-workflow';

import { FILTER_OPERATORS } from '../core/events/filters';
import type { FilterOperator } from '../core/events/filters';
import type { ShortEventType } from '../core/events/types';
import type { WatchEventName } from '../core/watch/items';

/*
 * Trigger parameters shared by the Message Bus and the Event History modes, so both look and
 * behave the same. Filters apply to the normalized item (nodes/core/events/types.ts).
 */

const EVENT_LABELS: Record<ShortEventType, { name: string; description: string }> = {
	'fulfill.start': {
		name: 'Fulfill Start',
		description: 'ESI Leap starts handing the node to the lessee',
	},
	'fulfill.end': {
		name: 'Fulfill End',
		description: "The lease became active: the node is the lessee's",
	},
	'fulfill.error': {
		name: 'Fulfill Error',
		description: 'Handing the node over failed; ESI Leap retries',
	},
	'delete.start': {
		name: 'Delete Start',
		description: 'The lease is ending (expired or cancelled)',
	},
	'delete.end': { name: 'Delete End', description: 'The lease ended and the node was released' },
	'delete.error': { name: 'Delete Error', description: 'Releasing the node failed' },
};

export const DEFAULT_EVENTS: ShortEventType[] = ['fulfill.end', 'delete.end'];

/** The events ESI never sends, found by the Event History mode from the lease and offer lists. */
const WATCH_EVENT_LABELS: Record<WatchEventName, { name: string; description: string }> = {
	'lease.created': {
		name: 'Lease Created',
		description: 'A lease appeared (any status before it ends): a claim or a direct lease',
	},
	'lease.end_time_changed': {
		name: 'Lease End Time Changed',
		description: 'A lease was extended or shortened; the item has the old and the new end time',
	},
	'lease.ending_soon': {
		name: 'Lease Ending Soon',
		description: 'An active lease reached one of the Lead Times before its end',
	},
	'offer.available': {
		name: 'Offer Available',
		description: 'A claimable offer matching the Offer Filters appeared',
	},
	'offer.gone': {
		name: 'Offer Gone',
		description: 'An offer matching the Offer Filters was claimed, deleted or expired',
	},
};

const toOptions = <T extends string>(labels: Record<T, { name: string; description: string }>) =>
	(Object.keys(labels) as T[]).map((value) => ({
		name: labels[value].name,
		value,
		description: labels[value].description,
	}));

/**
 * The Events list: ESI's six. Event History mode has its own with the watch events added (one
 * property per mode under the same name, as n8n's resource/operation lists do), so this one is
 * hidden there.
 */
export const eventsProperty: INodeProperties = {
	displayName: 'Events',
	name: 'events',
	type: 'multiOptions',
	required: true,
	default: ['fulfill.end', 'delete.end'],
	displayOptions: { hide: { mode: ['eventHistory'] } },
	options: toOptions(EVENT_LABELS),
	description:
		'Lease events that start the workflow. ESI Leap sends no separate expire event: an expiry is a delete (the item\'s "end_cause" tells them apart).',
};

export const historyEventsProperty: INodeProperties = {
	...eventsProperty,
	displayOptions: { show: { mode: ['eventHistory'] } },
	options: [...toOptions(EVENT_LABELS), ...toOptions(WATCH_EVENT_LABELS)],
	description:
		"Lease events that start the workflow: ESI Leap's six from its event history, and the lease and offer events the trigger finds by comparing the lease and offer lists between polls",
};

const OPERATOR_LABELS: Record<FilterOperator, string> = {
	equals: 'Equals',
	notEquals: 'Not Equals',
	regex: 'Matches Regex',
	exists: 'Exists',
	oneOf: 'Is One Of',
};

export const payloadFiltersProperty: INodeProperties = {
	displayName: 'Payload Filters',
	name: 'payloadFilters',
	type: 'fixedCollection',
	placeholder: 'Add Filter',
	typeOptions: { multipleValues: true },
	default: {},
	description:
		'Only events matching every filter start the workflow; the others are acknowledged and counted',
	options: [
		{
			displayName: 'Filter',
			name: 'filter',
			values: [
				{
					displayName: 'Field',
					name: 'path',
					type: 'string',
					default: '',
					required: true,
					placeholder: 'node.properties.cpu_arch',
					description:
						'Dot path in the output item, e.g. resource_type, lease.properties.ticket, node.name',
				},
				{
					displayName: 'Operator',
					name: 'operator',
					type: 'options',
					default: 'equals',
					options: FILTER_OPERATORS.map((value) => ({ name: OPERATOR_LABELS[value], value })),
				},
				{
					displayName: 'Value',
					name: 'value',
					type: 'string',
					default: '',
					displayOptions: { hide: { operator: ['exists'] } },
					description:
						'Compared with the field as text. Regex: a JavaScript regular expression searched in the text. Is One Of: comma-separated values.',
				},
			],
		},
	],
};

export const includeRawEnvelopeOption: INodeProperties = {
	displayName: 'Include Raw Envelope',
	name: 'includeRawEnvelope',
	type: 'boolean',
	default: false,
	description:
		'Whether to add the original message as "raw": the oslo envelope without its _context_* keys (message bus) or the event row (event history)',
};
