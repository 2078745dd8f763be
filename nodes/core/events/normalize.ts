import { EnvelopeDecodeError, parseEventType } from './envelope';
import type { LeaseNotification } from './envelope';
import { tryParseEsiTime } from '../api/time';
import type { EsiLeapEvent, EsiLeapEventType, NormalizedLease, NormalizedNode } from './types';

/**
 * One item shape for both trigger modes (types.ts). The bus gives a full pre-transition lease
 * snapshot; a history row only names the lease, so its `lease`/`node` stay null unless the caller
 * fetched the lease over REST and passes it in.
 */

export interface NormalizeOptions {
	/** Attach the raw message (bus: oslo message without `_context_*`; history: the row). */
	includeRaw?: boolean;
}

/** Raised when a time field is not one of ESI Leap's time formats. */
function invalidTime(field: string): EnvelopeDecodeError {
	return new EnvelopeDecodeError('invalid_payload', `${field}: not an ESI Leap UTC time`, field);
}

function requiredTime(value: string, field: string): string {
	const iso = tryParseEsiTime(value);
	if (iso === undefined) throw invalidTime(field);
	return iso;
}

function optionalTime(value: string | null | undefined, field: string): string | null {
	if (value === null || value === undefined || value === '') return null;
	return requiredTime(value, field);
}

function objectOrEmpty(value: unknown): Record<string, unknown> {
	return value !== null && typeof value === 'object' && !Array.isArray(value)
		? (value as Record<string, unknown>)
		: {};
}

/** Bus: a decoded lease notification → the normalized item (source `bus`). */
export function normalizeBusNotification(
	notification: LeaseNotification,
	options: NormalizeOptions = {},
): EsiLeapEvent {
	const data = notification.data;
	const at = (field: string) => `payload.esi_leap_object.data.${field}`;
	const lease: NormalizedLease = {
		uuid: data.uuid,
		id: data.id,
		name: data.name,
		project_id: data.project_id,
		owner_id: data.owner_id,
		purpose: data.purpose,
		resource_type: data.resource_type,
		resource_uuid: data.resource_uuid,
		start_time: optionalTime(data.start_time, at('start_time')),
		end_time: optionalTime(data.end_time, at('end_time')),
		fulfill_time: optionalTime(data.fulfill_time, at('fulfill_time')),
		expire_time: optionalTime(data.expire_time, at('expire_time')),
		status: data.status,
		properties: data.properties,
		offer_uuid: data.offer_uuid,
		parent_lease_uuid: data.parent_lease_uuid,
	};
	const node: NormalizedNode = {
		uuid: data.node_uuid,
		name: data.node_name,
		provision_state: data.node_provision_state,
		power_state: data.node_power_state,
		properties: data.node_properties,
	};
	const event: EsiLeapEvent = {
		event_type: notification.event_type,
		event: notification.event,
		action: notification.action,
		phase: notification.phase,
		priority: notification.priority,
		source: 'bus',
		event_id: null,
		message_id: notification.message_id,
		timestamp: requiredTime(notification.timestamp, 'timestamp'),
		publisher_id: notification.publisher_id,
		lease_uuid: data.uuid,
		resource_type: data.resource_type,
		resource_uuid: data.resource_uuid,
		project_id: data.project_id,
		owner_id: data.owner_id,
		lease,
		node,
	};
	if (notification.action === 'delete') event.end_cause = notification.endCause;
	if (options.includeRaw) event.raw = { 'oslo.version': '2.0', 'oslo.message': notification.raw };
	return event;
}

/** A row of `GET /v1/events` (spec §3.4). Extra fields are tolerated. */
export interface HistoryEventRow {
	id: number;
	event_type: string;
	/** Naive local time of the ESI Leap host; read as UTC (spec §10.1). */
	event_time: string;
	object_type?: string | null;
	object_uuid?: string | null;
	resource_type?: string | null;
	resource_uuid?: string | null;
	lessee_id?: string | null;
	owner_id?: string | null;
	[key: string]: unknown;
}

/** A lease as `GET /v1/leases/{uuid}` returns it (spec §3.2); only the fields used here. */
export interface RestLease {
	uuid: string;
	name?: string | null;
	project_id?: string | null;
	owner_id?: string | null;
	purpose?: string | null;
	resource_type?: string | null;
	resource_uuid?: string | null;
	/** Node name as ESI Leap resolves it. */
	resource?: string | null;
	resource_properties?: Record<string, unknown> | null;
	start_time?: string | null;
	end_time?: string | null;
	fulfill_time?: string | null;
	expire_time?: string | null;
	status?: string | null;
	properties?: Record<string, unknown> | null;
	offer_uuid?: string | null;
	parent_lease_uuid?: string | null;
	[key: string]: unknown;
}

export interface HistoryNormalizeOptions extends NormalizeOptions {
	/** The lease fetched for this event (its current state, not a pre-transition snapshot). */
	lease?: RestLease | null;
	/** Why fetching the lease failed; the event is still emitted. */
	leaseError?: string;
}

/** `event_type` of a history row is not one of the six lease events. */
export function isSupportedEventType(eventType: string): eventType is EsiLeapEventType {
	return parseEventType(eventType) !== null;
}

export function normalizeRestLease(lease: RestLease): {
	lease: NormalizedLease;
	node: NormalizedNode;
} {
	const at = (field: string) => `lease.${field}`;
	return {
		lease: {
			uuid: lease.uuid,
			id: null,
			name: lease.name ?? null,
			project_id: lease.project_id ?? null,
			owner_id: lease.owner_id ?? null,
			purpose: lease.purpose ?? null,
			resource_type: lease.resource_type ?? null,
			resource_uuid: lease.resource_uuid ?? null,
			start_time: optionalTime(lease.start_time, at('start_time')),
			end_time: optionalTime(lease.end_time, at('end_time')),
			fulfill_time: optionalTime(lease.fulfill_time, at('fulfill_time')),
			expire_time: optionalTime(lease.expire_time, at('expire_time')),
			status: lease.status ?? null,
			properties: objectOrEmpty(lease.properties),
			offer_uuid: lease.offer_uuid ?? null,
			parent_lease_uuid: lease.parent_lease_uuid ?? null,
		},
		node: {
			uuid: lease.resource_uuid ?? null,
			name: lease.resource ?? null,
			// REST leases do not report node states.
			provision_state: null,
			power_state: null,
			properties: objectOrEmpty(lease.resource_properties),
		},
	};
}

/**
 * How a lease ended, from its status after the delete.* event: the manager's `expire` sets
 * `expired` (`wait expire` while it retries a failed release), an API DELETE `deleted` (`wait
 * cancel` while the manager retries it): esi_leap/objects/lease.py:235-241 (cancel) and 303-309
 * (expire), spec §6.2. Null otherwise.
 */
export function endCauseOf(status: string | null): 'expired' | 'deleted' | null {
	if (status === 'expired' || status === 'wait expire') return 'expired';
	if (status === 'deleted' || status === 'wait cancel') return 'deleted';
	return null;
}

/**
 * History: one `GET /v1/events` row → the normalized item (source `history`).
 * Throws EnvelopeDecodeError (field named) for an unknown event type, a missing lease uuid or
 * an unparseable time; use isSupportedEventType() first to skip foreign event types quietly.
 */
export function normalizeHistoryEvent(
	row: HistoryEventRow,
	options: HistoryNormalizeOptions = {},
): EsiLeapEvent {
	const eventType = parseEventType(row.event_type);
	if (!eventType) {
		throw new EnvelopeDecodeError(
			'invalid_message',
			'event_type: not an ESI Leap lease event',
			'event_type',
		);
	}
	if (typeof row.object_uuid !== 'string' || row.object_uuid === '') {
		throw new EnvelopeDecodeError(
			'invalid_message',
			'object_uuid: missing lease uuid',
			'object_uuid',
		);
	}
	const details = options.lease ? normalizeRestLease(options.lease) : null;
	const event: EsiLeapEvent = {
		event_type: row.event_type as EsiLeapEventType,
		...eventType,
		priority: eventType.phase === 'error' ? 'ERROR' : 'INFO',
		source: 'history',
		event_id: row.id,
		message_id: null,
		timestamp: requiredTime(row.event_time, 'event_time'),
		publisher_id: null,
		lease_uuid: row.object_uuid,
		resource_type: row.resource_type ?? null,
		resource_uuid: row.resource_uuid ?? null,
		project_id: row.lessee_id ?? null,
		owner_id: row.owner_id ?? null,
		lease: details?.lease ?? null,
		node: details?.node ?? null,
	};
	if (eventType.action === 'delete') event.end_cause = endCauseOf(details?.lease.status ?? null);
	if (options.leaseError !== undefined) event.lease_error = options.leaseError;
	if (options.includeRaw) event.raw = { ...row };
	return event;
}
