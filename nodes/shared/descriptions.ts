import type { INodeProperties } from 'n8n-workflow';

import { FILTER_OPERATORS } from '../core/events/filters';
import type { FilterOperator } from '../core/events/filters';
import type { ShortEventType } from '../core/events/types';

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

export const eventsProperty: INodeProperties = {
	displayName: 'Events',
	name: 'events',
	type: 'multiOptions',
	required: true,
	default: ['fulfill.end', 'delete.end'],
	options: (Object.keys(EVENT_LABELS) as ShortEventType[]).map((value) => ({
		name: EVENT_LABELS[value].name,
		value,
		description: EVENT_LABELS[value].description,
	})),
	description:
		'Lease events that start the workflow. ESI Leap sends no separate expire event: an expiry is a delete.',
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
