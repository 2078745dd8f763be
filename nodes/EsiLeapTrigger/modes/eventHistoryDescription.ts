import type { INodeProperties } from 'n8n-workflow';

import { historyEventsProperty } from '../../shared/descriptions';

/** Parameters of the Event History mode only, shown only when mode = eventHistory. */
const showForHistory = { show: { mode: ['eventHistory'] } };
const showOptionForHistory = { show: { '/mode': ['eventHistory'] } };

export const DEFAULT_POLL_INTERVAL_SECONDS = 30;
/**
 * The shortest interval. Each poll is one GET /v1/events that ESI Leap has Keystone validate;
 * the real API answers it in 0.18 s (p50, 0.27 s max; edge-timing.json), and lease lookups take
 * about 0.8 s (they call Ironic and Keystone). At 5 s a trigger keeps ESI busy at most a few
 * percent of one worker and sends at most 12 polls a minute; 0.01 s made a busy loop of 4-6
 * polls a second. Fulfil and expire events come from ESI's 60 s manager timer (spec §6.4), so
 * polling faster than a few seconds rarely delivers anything sooner.
 */
export const MIN_POLL_INTERVAL_SECONDS = 5;
export const DEFAULT_GRACE_SECONDS = 120;
export const DEFAULT_MAX_EVENTS_PER_POLL = 1000;

const topLevel: INodeProperties[] = [
	{
		displayName: 'Poll Interval (Seconds)',
		name: 'pollIntervalSeconds',
		type: 'number',
		typeOptions: { minValue: MIN_POLL_INTERVAL_SECONDS, numberPrecision: 2 },
		default: DEFAULT_POLL_INTERVAL_SECONDS,
		displayOptions: showForHistory,
		description:
			'How long to wait between two polls of the ESI Leap events API, at least 5 s. Each poll is one request that ESI Leap checks with Keystone; polls never overlap.',
	},
	{
		displayName: 'Start From',
		name: 'startFrom',
		type: 'options',
		noDataExpression: true,
		displayOptions: showForHistory,
		options: [
			{
				name: 'Now',
				value: 'now',
				description: 'Only events after the first activation; history is never replayed',
			},
			{
				name: 'After Event ID',
				value: 'afterEventId',
				description: 'Events with an ID greater than the one given',
			},
			{
				name: 'Beginning',
				value: 'beginning',
				description: 'Every event ESI Leap still has (a large backlog is worked off in batches)',
			},
		],
		default: 'now',
	},
	{
		displayName: 'Event ID',
		name: 'startEventId',
		type: 'number',
		typeOptions: { minValue: 0, numberPrecision: 0 },
		default: 0,
		displayOptions: { show: { mode: ['eventHistory'], startFrom: ['afterEventId'] } },
		description:
			'Events with a greater ID are emitted. The position is kept once the workflow runs; changing Start From starts over.',
	},
	{
		displayName: 'Include Lease Details',
		name: 'includeLeaseDetails',
		type: 'boolean',
		default: false,
		displayOptions: showForHistory,
		description:
			'Whether to fetch each event\'s lease, so items carry the "lease" and "node" fields as on the message bus (the current state, one extra request per lease). A failed lookup still emits the event, with "lease_error".',
	},
];

const options: INodeProperties[] = [
	{
		displayName: 'Resource Type',
		name: 'resourceType',
		type: 'string',
		default: '',
		displayOptions: showOptionForHistory,
		placeholder: 'ironic_node',
		description:
			'Only events of leases (and watched offers) on this resource type (filtered by ESI Leap)',
	},
	{
		displayName: 'Resource UUID',
		name: 'resourceUuid',
		type: 'string',
		default: '',
		displayOptions: showOptionForHistory,
		description:
			'Only events of leases (and watched offers) on this node. ESI Leap filters on it when Resource Type is set too; otherwise the trigger does.',
	},
	{
		displayName: 'Late Event Grace (Seconds)',
		name: 'graceSeconds',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: DEFAULT_GRACE_SECONDS,
		displayOptions: showOptionForHistory,
		description:
			'How long a missing event ID is waited for. ESI Leap can make an event visible after a newer one; it is emitted once when it shows up within this time.',
	},
	{
		displayName: 'Max Events per Poll',
		name: 'maxEventsPerPoll',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		default: DEFAULT_MAX_EVENTS_PER_POLL,
		displayOptions: showOptionForHistory,
		description: 'A larger backlog is worked off over several polls, keeping memory bounded',
	},

	{
		displayName: 'All Projects (Admin)',
		name: 'allProjects',
		type: 'boolean',
		default: false,
		displayOptions: showOptionForHistory,
		description:
			"Whether the lease watch events cover every project's leases (view=all, needs the admin role). Off: the leases of the login's project, as lessee or owner.",
	},
	{
		displayName: 'Emit Current Matches on First Poll',
		name: 'emitCurrent',
		type: 'boolean',
		default: false,
		displayOptions: showOptionForHistory,
		description:
			'Whether the first poll of the lease and offer watch events reports what already exists (once) instead of taking a silent baseline',
	},
];

export const DEFAULT_LEAD_TIMES = '24h';

/** The watch events' own parameters, shown only when such an event is chosen. */
const watch: INodeProperties[] = [
	{
		displayName: 'Lead Times',
		name: 'leadTimes',
		type: 'string',
		default: DEFAULT_LEAD_TIMES,
		placeholder: '7d, 24h, 1h',
		displayOptions: { show: { mode: ['eventHistory'], events: ['lease.ending_soon'] } },
		description:
			'How long before its end an active lease is reported, comma-separated (d, h, m, s; a bare number is hours). Each lead time warns once per lease and end time.',
	},
	{
		displayName: 'Offer Filters',
		name: 'offerFilters',
		type: 'collection',
		placeholder: 'Add Offer Filter',
		default: {},
		displayOptions: { show: { mode: ['eventHistory'], events: ['offer.available', 'offer.gone'] } },
		description:
			'Which offers Offer Available and Offer Gone watch (with Resource Type and Resource UUID from the options). Node properties: use Payload Filters on node.properties.*.',
		options: [
			{
				displayName: 'Resource Class',
				name: 'resourceClass',
				type: 'string',
				default: '',
				placeholder: 'fc430',
				description:
					"Only offers of nodes of this resource class (ESI Leap's resource_class filter)",
			},
			{
				displayName: 'Owner Project',
				name: 'ownerProject',
				type: 'string',
				default: '',
				description: "Only offers made by this project (ID or name; ESI Leap's project_id filter)",
			},
			{
				displayName: 'Lessee Project',
				name: 'lesseeProject',
				type: 'string',
				default: '',
				description:
					"Only offers reserved for this project ID (the offer's lessee_id; checked by the trigger)",
			},
			{
				displayName: 'Free For (Hours)',
				name: 'freeForHours',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description:
					"Only offers free from now for at least this long (ESI Leap's available_start_time/available_end_time); 0 = any free time",
			},
		],
	},
];

/** Event History's Events list (ESI's six and the watch events), then the watch parameters. */
const events: INodeProperties[] = [historyEventsProperty, ...watch];

export const eventHistoryProperties = { topLevel, options, events };
