/**
 * Lease and offer state transitions shared by the REST API and the manager tick. Every
 * notification is built from a pre-change snapshot, published, and then written as an event row,
 * exactly in ESI Leap's order (`NotificationBase.emit`).
 */
import { now, payloadFormat, type NaiveTime } from './clock';
import type { Database, EventRow, Lease, LeaseStatus, Offer } from './model';
import {
	encodeNotification,
	managerContext,
	routingKeyFor,
	type Notifier,
	type Priority,
	type RequestContext,
} from './notifier';
import { assignLease, describeResource, releaseLease } from './resources';

export const LEASE_CAN_DELETE: LeaseStatus[] = ['active', 'created', 'error', 'wait fulfill'];
const LEASE_CAN_FULFILL: LeaseStatus[] = ['created', 'wait fulfill'];
const LEASE_CAN_EXPIRE: LeaseStatus[] = ['active', 'created', 'wait expire', 'wait fulfill'];

export interface EventVisibility {
	/** How many of the next written rows stay invisible until released (uncommitted). */
	holdNext: number;
	held: EventRow[];
}

export interface Engine {
	readonly managerContext: RequestContext;
	readonly visibility: EventVisibility;
	/** One manager pass: fulfil, expire leases, retry cancels, expire offers. */
	tick(): Promise<void>;
	/** Resolves when no manager pass is running. */
	settle(): Promise<void>;
	cancelLease(lease: Lease, context: RequestContext): Promise<void>;
	/** Offer DELETE: cascaded lease cancels run without a context, so they emit nothing. */
	deleteOffer(offer: Offer): void;
	writeEvent(row: Omit<EventRow, 'id' | 'visible'>, visible?: boolean): EventRow;
}

export interface EngineOptions {
	notifier: Notifier;
	publisherId: string;
	log: (line: string) => void;
}

function payloadTime(time: NaiveTime | null): string | null {
	return time === null ? null : payloadFormat(time);
}

export function leasePayload(db: Database, lease: Lease): Record<string, unknown> {
	const resource = describeResource(db, lease.resourceType, lease.resourceUuid);
	return {
		'esi_leap_object.name': 'LeaseCRUDPayload',
		'esi_leap_object.namespace': 'esi_leap',
		'esi_leap_object.version': '1.0',
		'esi_leap_object.data': {
			id: lease.id,
			name: lease.name,
			uuid: lease.uuid,
			project_id: lease.projectId,
			owner_id: lease.ownerId,
			purpose: lease.purpose,
			resource_type: lease.resourceType,
			resource_uuid: lease.resourceUuid,
			start_time: payloadTime(lease.startTime),
			end_time: payloadTime(lease.endTime),
			fulfill_time: payloadTime(lease.fulfillTime),
			expire_time: payloadTime(lease.expireTime),
			status: lease.status,
			properties: lease.properties,
			offer_uuid: lease.offerUuid,
			parent_lease_uuid: lease.parentLeaseUuid,
			node_name: resource.name,
			node_uuid: resource.uuid,
			node_provision_state: resource.provisionState,
			node_power_state: resource.powerState,
			node_properties: resource.properties,
		},
	};
}

export function createEngine(db: Database, options: EngineOptions): Engine {
	const context = managerContext();
	const visibility: EventVisibility = { holdNext: 0, held: [] };

	const writeEvent: Engine['writeEvent'] = (row, visible = true) => {
		const hold = visible && visibility.holdNext > 0;
		if (hold) visibility.holdNext--;
		const event: EventRow = {
			id: db.nextEventId++,
			...row,
			visible: visible && !hold,
		};
		db.events.push(event);
		if (hold) visibility.held.push(event);
		return event;
	};

	const emit = async (
		requestContext: RequestContext,
		action: 'fulfill' | 'delete',
		phase: 'start' | 'end' | 'error',
		lease: Lease,
	): Promise<void> => {
		const eventType = `esi_leap.lease.${action}.${phase}`;
		const priority: Priority = phase === 'error' ? 'ERROR' : 'INFO';
		const body = encodeNotification(
			{
				eventType,
				priority,
				payload: leasePayload(db, lease),
				context: requestContext,
			},
			options.publisherId,
		);
		await options.notifier.publish(routingKeyFor(priority), body);
		writeEvent({
			eventType,
			eventTime: now(),
			objectType: 'lease',
			objectUuid: lease.uuid,
			resourceType: lease.resourceType,
			resourceUuid: lease.resourceUuid,
			lesseeId: lease.projectId,
			ownerId: lease.ownerId,
		});
	};

	const fulfill = async (lease: Lease): Promise<void> => {
		await emit(context, 'fulfill', 'start', lease);
		if (!assignLease(db, lease)) {
			await emit(context, 'fulfill', 'error', lease);
			lease.status = 'wait fulfill';
			return;
		}
		await emit(context, 'fulfill', 'end', lease);
		lease.fulfillTime = now();
		lease.status = 'active';
	};

	/** Expiry and cancellation share the `delete` notifications; only the end state differs. */
	const deactivate = async (
		lease: Lease,
		requestContext: RequestContext,
		finalStatus: 'expired' | 'deleted',
		waitStatus: 'wait expire' | 'wait cancel',
	): Promise<void> => {
		await emit(requestContext, 'delete', 'start', lease);
		// A lease never fulfilled holds no node, so nothing is released: deleting one on a node
		// that does not exist succeeds (edge-083's lease: delete.start and delete.end at 09:31:27).
		if (lease.status !== 'created' && !releaseLease(db, lease)) {
			await emit(requestContext, 'delete', 'error', lease);
			lease.status = waitStatus;
			return;
		}
		await emit(requestContext, 'delete', 'end', lease);
		lease.expireTime = now();
		lease.status = finalStatus;
	};

	const cancelSilently = (lease: Lease): void => {
		if (lease.status !== 'created' && !releaseLease(db, lease)) {
			lease.status = 'wait cancel';
			return;
		}
		lease.expireTime = now();
		lease.status = 'deleted';
	};

	let running: Promise<void> | undefined;
	const runTick = async (): Promise<void> => {
		const current = now();
		for (const lease of db.leases.filter(
			(candidate) =>
				LEASE_CAN_FULFILL.includes(candidate.status) &&
				candidate.startTime <= current &&
				current <= candidate.endTime,
		)) {
			await fulfill(lease);
		}
		for (const lease of db.leases.filter(
			(candidate) => LEASE_CAN_EXPIRE.includes(candidate.status) && candidate.endTime <= current,
		)) {
			await deactivate(lease, context, 'expired', 'wait expire');
		}
		for (const lease of db.leases.filter((candidate) => candidate.status === 'wait cancel')) {
			cancelSilently(lease);
		}
		for (const offer of db.offers.filter(
			(candidate) =>
				(candidate.status === 'available' || candidate.status === 'error') &&
				candidate.endTime <= current,
		)) {
			for (const lease of db.leases.filter(
				(candidate) =>
					candidate.offerUuid === offer.uuid && LEASE_CAN_DELETE.includes(candidate.status),
			)) {
				await deactivate(lease, context, 'expired', 'wait expire');
			}
			offer.status = 'expired';
		}
	};

	return {
		managerContext: context,
		visibility,
		writeEvent,
		tick() {
			running ??= runTick()
				.catch((error: Error) =>
					options.log(`manager tick failed: ${error.stack ?? error.message}`),
				)
				.finally(() => {
					running = undefined;
				});
			return running;
		},
		settle: () => running ?? Promise.resolve(),
		cancelLease: (lease, requestContext) =>
			deactivate(lease, requestContext, 'deleted', 'wait cancel'),
		deleteOffer(offer) {
			for (const lease of db.leases.filter(
				(candidate) =>
					candidate.offerUuid === offer.uuid && LEASE_CAN_DELETE.includes(candidate.status),
			)) {
				cancelSilently(lease);
			}
			offer.status = 'deleted';
		},
	};
}
