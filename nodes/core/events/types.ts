/**
 * The one item both trigger modes emit, so a workflow can switch between the message bus and
 * the event history unchanged. Field names follow ESI Leap's own snake_case, as the action node's
 * output does. Every time is ISO-8601 UTC with ESI's own fraction kept
 * (`2026-11-24T17:21:49.807945Z`, `2026-11-24T17:21:49Z`; see nodes/core/api/time.ts).
 */
export const EVENT_ACTIONS = ['fulfill', 'delete'] as const;
export const EVENT_PHASES = ['start', 'end', 'error'] as const;
export type EventAction = (typeof EVENT_ACTIONS)[number];
export type EventPhase = (typeof EVENT_PHASES)[number];
/** Short form used in the node's event multi-select, e.g. `fulfill.end`. */
export type ShortEventType = `${EventAction}.${EventPhase}`;
/** Wire form, e.g. `esi_leap.lease.fulfill.end`. */
export type EsiLeapEventType = `esi_leap.lease.${ShortEventType}`;

export const SHORT_EVENT_TYPES: readonly ShortEventType[] = EVENT_ACTIONS.flatMap((action) =>
	EVENT_PHASES.map((phase) => `${action}.${phase}` as ShortEventType),
);

export interface NormalizedLease {
	uuid: string;
	/** ESI Leap's integer DB id: only notifications carry it, history items have null. */
	id: number | null;
	name: string | null;
	project_id: string | null;
	owner_id: string | null;
	purpose: string | null;
	resource_type: string | null;
	resource_uuid: string | null;
	start_time: string | null;
	end_time: string | null;
	fulfill_time: string | null;
	expire_time: string | null;
	/** On the bus this is the status before the transition (ESI sends a pre-change snapshot). */
	status: string | null;
	properties: Record<string, unknown>;
	offer_uuid: string | null;
	parent_lease_uuid: string | null;
}

export interface NormalizedNode {
	uuid: string | null;
	name: string | null;
	provision_state: string | null;
	power_state: string | null;
	properties: Record<string, unknown>;
}

export interface EsiLeapEvent {
	event_type: EsiLeapEventType;
	event: ShortEventType;
	action: EventAction;
	phase: EventPhase;
	priority: 'INFO' | 'ERROR';
	source: 'bus' | 'history';
	/** ESI Leap's event id (history mode); null on the bus, where messages carry no event id. */
	event_id: number | null;
	/** oslo message id (bus mode); null in history mode. */
	message_id: string | null;
	/** When ESI Leap emitted the event, ISO-8601 UTC. */
	timestamp: string;
	publisher_id: string | null;
	lease_uuid: string;
	resource_type: string | null;
	resource_uuid: string | null;
	/** Lessee project id. */
	project_id: string | null;
	owner_id: string | null;
	/** Null in history mode unless lease details are fetched. */
	lease: NormalizedLease | null;
	/** Null in history mode unless lease details are fetched. */
	node: NormalizedNode | null;
	/**
	 * delete.* only: `expired` (ESI's manager ended it at its end time) or `deleted` (cancelled
	 * through the API). On the bus from the message's context (manager or user); in history mode
	 * from the lease's final status, so only with lease details (null without, or when the lease
	 * is not final yet).
	 */
	end_cause?: 'expired' | 'deleted' | null;
	/** History mode with lease details: why the lease lookup failed (the event is still emitted). */
	lease_error?: string;
	/**
	 * Only with the "Include Raw Envelope" option: on the bus, the parsed oslo message without its
	 * `_context_*` keys (they can carry a Keystone token); in history mode, the event row as returned.
	 */
	raw?: Record<string, unknown>;
}
