/**
 * The items of the watch events, in the normalized event's shape (core/events/types.ts): the same
 * `event_type`/`event`/`source`/ids/`lease`/`node` fields, so downstream nodes read them the same
 * way, plus the fields of each event (end times, lead time, offer, why an offer is gone).
 */
import type { Lease, Offer } from '../api/schemas';
import { normalizeRestLease, type RestLease } from '../events/normalize';
import type { EsiLeapEvent, NormalizedNode } from '../events/types';
import { formatLeadTime } from './leadTime';

export const WATCH_EVENTS = [
	'lease.created',
	'lease.end_time_changed',
	'lease.ending_soon',
	'offer.available',
	'offer.gone',
] as const;
export type WatchEventName = (typeof WATCH_EVENTS)[number];

export function isWatchEvent(value: string): value is WatchEventName {
	return (WATCH_EVENTS as readonly string[]).includes(value);
}

/** Why an offer left the list, from its state right after (GET /v1/offers/{uuid}). */
export type OfferGoneReason = 'claimed' | 'deleted' | 'expired' | 'error' | 'unknown';

export interface NormalizedOffer {
	uuid: string;
	name: string | null;
	/** The owner project (ESI's offer `project_id`). */
	owner_id: string | null;
	/** The only project that may claim it, or null for any. */
	lessee_id: string | null;
	resource_type: string | null;
	resource_uuid: string | null;
	resource_class: string | null;
	start_time: string | null;
	end_time: string | null;
	status: string | null;
	properties: Record<string, unknown>;
	/** Free `[start, end]` windows, ISO-8601 UTC. */
	availabilities: Array<[string, string]>;
	parent_lease_uuid: string | null;
}

/** The fields shared with the normalized event, with the same meaning. */
type SharedFields = Pick<
	EsiLeapEvent,
	'resource_type' | 'resource_uuid' | 'project_id' | 'owner_id' | 'lease' | 'node'
>;

export interface WatchItem extends SharedFields {
	event_type: `esi_leap.${WatchEventName}`;
	event: WatchEventName;
	action: string;
	phase: null;
	priority: 'INFO';
	source: 'watch';
	event_id: null;
	message_id: null;
	/** ESI's time of the poll that saw it (the HTTP Date header), ISO-8601 UTC. */
	timestamp: string;
	publisher_id: null;
	/** Stable across restarts: n8n 2.x drops an emission whose key it has seen. */
	dedupe_key: string;
	lease_uuid: string | null;
	offer_uuid: string | null;
	offer: NormalizedOffer | null;
	/** lease.*: the lease's end time (the new one for end_time_changed). */
	end_time?: string;
	previous_end_time?: string;
	lead_time?: string;
	lead_time_seconds?: number;
	/** lease.ending_soon: seconds from `timestamp` to `end_time` (may be <= 0 when ESI is late). */
	seconds_remaining?: number;
	gone_reason?: OfferGoneReason;
	/** offer.gone: why the lookup of the offer's final state failed. */
	offer_error?: string;
}

function base(event: WatchEventName, timestamp: string, dedupeKey: string) {
	const [, action] = event.split('.');
	return {
		event_type: `esi_leap.${event}` as const,
		event,
		action,
		phase: null,
		priority: 'INFO' as const,
		source: 'watch' as const,
		event_id: null,
		message_id: null,
		timestamp,
		publisher_id: null,
		dedupe_key: dedupeKey,
	};
}

export function leaseItem(
	event: 'lease.created' | 'lease.end_time_changed' | 'lease.ending_soon',
	lease: Lease,
	timestamp: string,
	extra: { previousEndTime?: string; leadSeconds?: number } = {},
): WatchItem {
	const { lease: normalized, node } = normalizeRestLease(lease as unknown as RestLease);
	const key = [event, lease.uuid];
	if (event === 'lease.end_time_changed') key.push(extra.previousEndTime ?? '', lease.end_time);
	if (event === 'lease.ending_soon') key.push(String(extra.leadSeconds), lease.end_time);
	const item: WatchItem = {
		...base(event, timestamp, key.join(':')),
		lease_uuid: lease.uuid,
		offer_uuid: lease.offer_uuid,
		resource_type: lease.resource_type,
		resource_uuid: lease.resource_uuid,
		project_id: lease.project_id,
		owner_id: lease.owner_id,
		lease: normalized,
		node,
		offer: null,
		end_time: normalized.end_time ?? lease.end_time,
	};
	if (extra.previousEndTime !== undefined) item.previous_end_time = extra.previousEndTime;
	if (extra.leadSeconds !== undefined) {
		item.lead_time = formatLeadTime(extra.leadSeconds);
		item.lead_time_seconds = extra.leadSeconds;
		item.seconds_remaining = Math.round(
			(Date.parse(lease.end_time) - Date.parse(timestamp)) / 1000,
		);
	}
	return item;
}

export function normalizeOffer(offer: Offer): { offer: NormalizedOffer; node: NormalizedNode } {
	return {
		offer: {
			uuid: offer.uuid,
			name: offer.name,
			owner_id: offer.project_id,
			lessee_id: offer.lessee_id,
			resource_type: offer.resource_type,
			resource_uuid: offer.resource_uuid,
			resource_class: offer.resource_class,
			start_time: offer.start_time,
			end_time: offer.end_time,
			status: offer.status,
			properties: offer.properties,
			availabilities: offer.availabilities,
			parent_lease_uuid: offer.parent_lease_uuid,
		},
		node: {
			uuid: offer.resource_uuid,
			name: offer.resource,
			provision_state: null,
			power_state: null,
			properties: offer.resource_properties,
		},
	};
}

export function offerItem(
	event: 'offer.available' | 'offer.gone',
	subject: { uuid: string; resource_type: string; resource_uuid: string; offer?: Offer },
	timestamp: string,
	extra: { reason?: OfferGoneReason; error?: string } = {},
): WatchItem {
	const normalized = subject.offer ? normalizeOffer(subject.offer) : undefined;
	const item: WatchItem = {
		...base(event, timestamp, `${event}:${subject.uuid}:${timestamp}`),
		lease_uuid: null,
		offer_uuid: subject.uuid,
		resource_type: subject.resource_type,
		resource_uuid: subject.resource_uuid,
		project_id: subject.offer?.lessee_id ?? null,
		owner_id: subject.offer?.project_id ?? null,
		lease: null,
		node: normalized?.node ?? null,
		offer: normalized?.offer ?? null,
	};
	if (extra.reason !== undefined) item.gone_reason = extra.reason;
	if (extra.error !== undefined) item.offer_error = extra.error;
	return item;
}
