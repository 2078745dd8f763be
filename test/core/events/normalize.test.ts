import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { decodeNotification, EnvelopeDecodeError } from '../../../nodes/core/events/envelope';
import type { LeaseNotification } from '../../../nodes/core/events/envelope';
import {
	isSupportedEventType,
	normalizeBusNotification,
	normalizeHistoryEvent,
} from '../../../nodes/core/events/normalize';
import type { HistoryEventRow, RestLease } from '../../../nodes/core/events/normalize';
import { loadAmqpCaptures, loadCapture, REAL_FIXTURES } from '../../helpers/fixtures';

// ESI's fraction is kept as sent (microseconds), see nodes/core/api/time.ts.
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

function leaseNotification(body: Buffer): LeaseNotification {
	const result = decodeNotification(body);
	if (result.kind !== 'lease') throw new Error('expected a lease notification');
	return result.notification;
}

function restBody<T>(file: string): T {
	return JSON.parse(readFileSync(join(REAL_FIXTURES, file), 'utf8')).response.body;
}

/**
 * The item each capture must give, written from the capture's own bytes (the envelope's
 * `oslo.message` and its payload) by the mapping the README documents for the item, not by the
 * normalizer: every field, in the documented order.
 */
function itemFromCapture(body: Buffer, name: string): Record<string, unknown> {
	const envelope = JSON.parse(body.toString('utf8')) as { 'oslo.message': string };
	const message = JSON.parse(envelope['oslo.message']) as Record<string, unknown> & {
		payload: { 'esi_leap_object.data': Record<string, unknown> };
	};
	const data = message.payload['esi_leap_object.data'];
	const eventType = message.event_type as string;
	const [action, phase] = eventType.replace(/^esi_leap\.lease\./, '').split('.');
	return {
		event_type: eventType,
		event: `${action}.${phase}`,
		action,
		phase,
		priority: message.priority,
		source: 'bus',
		event_id: null,
		message_id: message.message_id,
		// oslo's "2026-11-24 17:32:40.831279" (UTC) as ISO-8601 UTC, fraction kept.
		timestamp: `${(message.timestamp as string).replace(' ', 'T')}Z`,
		publisher_id: message.publisher_id,
		lease_uuid: data.uuid,
		resource_type: data.resource_type,
		resource_uuid: data.resource_uuid,
		project_id: data.project_id,
		owner_id: data.owner_id,
		lease: {
			uuid: data.uuid,
			id: data.id,
			name: data.name,
			project_id: data.project_id,
			owner_id: data.owner_id,
			purpose: data.purpose,
			resource_type: data.resource_type,
			resource_uuid: data.resource_uuid,
			// Already ISO-8601 UTC with Z in the notification.
			start_time: data.start_time,
			end_time: data.end_time,
			fulfill_time: data.fulfill_time,
			expire_time: data.expire_time,
			status: data.status,
			properties: data.properties,
			offer_uuid: data.offer_uuid,
			parent_lease_uuid: data.parent_lease_uuid,
		},
		node: {
			uuid: data.node_uuid,
			name: data.node_name,
			provision_state: data.node_provision_state,
			power_state: data.node_power_state,
			properties: data.node_properties,
		},
		// delete.*: the captures named "expire" are the manager's expiries; the others are API
		// deletes by the lessee or the owner (README of the captures).
		...(action === 'delete' ? { end_cause: name.includes('expire') ? 'expired' : 'deleted' } : {}),
	};
}

/** Keys at every level, in order, so that a reordered or extra field shows. */
function keyPaths(value: unknown, prefix = ''): string[] {
	if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
	return Object.entries(value as Record<string, unknown>).flatMap(([key, entry]) => [
		`${prefix}${key}`,
		...(key === 'properties' ? [] : keyPaths(entry, `${prefix}${key}.`)),
	]);
}

describe("normalizeBusNotification on every capture: the item from the capture's own fields", () => {
	it.each(loadAmqpCaptures().map((capture) => [capture.name, capture] as const))(
		'%s',
		(_name, capture) => {
			const item = normalizeBusNotification(leaseNotification(capture.body));
			const expected = itemFromCapture(capture.body, capture.name);
			expect(item).toStrictEqual(expected);
			expect(keyPaths(item)).toEqual(keyPaths(expected));
			expect(item.timestamp).toMatch(ISO_UTC);
			expect(item.raw).toBeUndefined();
		},
	);

	it('the captures vary where it matters (so the comparison above can tell fields apart)', () => {
		const items = loadAmqpCaptures().map((capture) => itemFromCapture(capture.body, capture.name));
		const distinct = (pick: (item: Record<string, unknown>) => unknown) =>
			new Set(items.map((item) => JSON.stringify(pick(item)))).size;
		expect(items).toHaveLength(18);
		expect(distinct((item) => item.event)).toBe(6);
		expect(distinct((item) => item.resource_type)).toBe(2);
		expect(
			distinct((item) => (item.lease as Record<string, unknown>).fulfill_time),
		).toBeGreaterThan(1);
		expect(distinct((item) => (item.lease as Record<string, unknown>).status)).toBeGreaterThan(1);
		expect(
			distinct((item) => (item.node as Record<string, unknown>).provision_state),
		).toBeGreaterThan(1);
	});
});

describe('normalizeBusNotification details', () => {
	it('converts the envelope timestamp (space, microseconds) to ISO UTC', () => {
		const item = normalizeBusNotification(
			leaseNotification(loadCapture('amqp-lease-fulfill-end').body),
		);
		expect(item.timestamp).toBe('2026-11-24T17:32:40.831279Z');
		expect(item.lease?.start_time).toBe('2026-11-24T17:32:35Z');
		expect(item.event).toBe('fulfill.end');
		expect(item.action).toBe('fulfill');
		expect(item.phase).toBe('end');
	});

	it('keeps the error placeholders of a failed delete', () => {
		const item = normalizeBusNotification(
			leaseNotification(loadCapture('amqp-lease-delete-error-ironic-node').body),
		);
		expect(item.priority).toBe('ERROR');
		expect(item.phase).toBe('error');
	});

	it('includes the raw message without any _context_ key when asked', () => {
		const capture = loadCapture('amqp-lease-delete-start');
		const item = normalizeBusNotification(leaseNotification(capture.body), { includeRaw: true });
		const raw = item.raw as { 'oslo.version': string; 'oslo.message': Record<string, unknown> };
		expect(raw['oslo.version']).toBe('2.0');
		expect(raw['oslo.message'].message_id).toBe(capture.decoded['oslo.message'].message_id);
		expect(Object.keys(raw['oslo.message']).filter((key) => key.startsWith('_context'))).toEqual(
			[],
		);
		expect(
			Object.keys(capture.decoded['oslo.message']).filter((key) => key.startsWith('_context'))
				.length,
		).toBeGreaterThan(5);
	});

	it('rejects a timestamp in an unknown format, naming the field', () => {
		const notification = {
			...leaseNotification(loadCapture('amqp-lease-fulfill-end').body),
			timestamp: 'Tuesday',
		};
		expect(() => normalizeBusNotification(notification)).toThrow(EnvelopeDecodeError);
		expect(() => normalizeBusNotification(notification)).toThrow(/timestamp/);
	});
});

describe('normalizeHistoryEvent', () => {
	const rows = restBody<{ events: HistoryEventRow[] }>('rest-40-events-all-admin.json').events;

	it('normalizes every captured event row', () => {
		expect(rows.length).toBeGreaterThan(10);
		for (const row of rows) {
			const item = normalizeHistoryEvent(row);
			expect(item.source).toBe('history');
			expect(item.event_id).toBe(row.id);
			expect(item.message_id).toBeNull();
			expect(item.event_type).toBe(row.event_type);
			expect(item.priority).toBe(row.event_type.endsWith('.error') ? 'ERROR' : 'INFO');
			expect(item.timestamp).toBe(`${row.event_time}Z`);
			expect(Number.isNaN(Date.parse(item.timestamp))).toBe(false);
			expect(item.lease_uuid).toBe(row.object_uuid);
			expect(item.project_id).toBe(row.lessee_id);
			expect(item.owner_id).toBe(row.owner_id);
			expect(item.lease).toBeNull();
			expect(item.node).toBeNull();
		}
	});

	it('gives a bus item and a history item of the same event the same shape', () => {
		const busItem = normalizeBusNotification(
			leaseNotification(loadCapture('amqp-lease-fulfill-end').body),
		);
		const historyItem = normalizeHistoryEvent(rows[0]);
		expect(Object.keys(historyItem).sort()).toEqual(Object.keys(busItem).sort());
	});

	it('attaches a fetched REST lease, its lookup error and the raw row', () => {
		const lease = restBody<RestLease>('rest-12-lease-show-active-dummy.json');
		const row = { ...rows[0], object_uuid: lease.uuid };
		const item = normalizeHistoryEvent(row, { lease, includeRaw: true });
		expect(item.lease).toMatchObject({
			uuid: lease.uuid,
			id: null,
			status: 'active',
			start_time: '2026-11-24T17:32:35Z',
			fulfill_time: '2026-11-24T17:32:40.836813Z',
			expire_time: null,
		});
		expect(item.node).toEqual({
			uuid: lease.resource_uuid,
			name: lease.resource,
			provision_state: null,
			power_state: null,
			properties: lease.resource_properties,
		});
		expect(item.raw).toEqual(row);
		const failed = normalizeHistoryEvent(rows[0], { leaseError: 'Lease not found' });
		expect(failed.lease_error).toBe('Lease not found');
		expect(failed.lease).toBeNull();
	});

	it('rejects rows it cannot represent, naming the field', () => {
		expect(isSupportedEventType('esi_leap.offer.create')).toBe(false);
		expect(isSupportedEventType('esi_leap.lease.delete.end')).toBe(true);
		expect(() =>
			normalizeHistoryEvent({ ...rows[0], event_type: 'esi_leap.offer.create' }),
		).toThrow(/event_type/);
		expect(() => normalizeHistoryEvent({ ...rows[0], object_uuid: null })).toThrow(/object_uuid/);
		expect(() => normalizeHistoryEvent({ ...rows[0], event_time: 'now' })).toThrow(/event_time/);
	});

	it('gives each rejection a reason and a field the poll report and the logs can name', () => {
		const rejected = (change: () => unknown) => {
			try {
				change();
			} catch (error) {
				const { reason, field, message } = error as EnvelopeDecodeError;
				return { reason, field, message };
			}
			return undefined;
		};
		expect(rejected(() => normalizeHistoryEvent({ ...rows[0], event_type: 'x' }))).toEqual({
			reason: 'invalid_message',
			field: 'event_type',
			message: 'event_type: not an ESI Leap lease event',
		});
		for (const uuid of [null, '']) {
			expect(rejected(() => normalizeHistoryEvent({ ...rows[0], object_uuid: uuid }))).toEqual({
				reason: 'invalid_message',
				field: 'object_uuid',
				message: 'object_uuid: missing lease uuid',
			});
		}
		const lease = restBody<RestLease>('rest-12-lease-show-active-dummy.json');
		expect(
			rejected(() =>
				normalizeHistoryEvent(
					{ ...rows[0], object_uuid: lease.uuid },
					{
						lease: { ...lease, end_time: 'soon' },
					},
				),
			),
		).toEqual({
			reason: 'invalid_payload',
			field: 'lease.end_time',
			message: 'lease.end_time: not an ESI Leap UTC time',
		});
		expect(
			rejected(() =>
				normalizeHistoryEvent(
					{ ...rows[0], object_uuid: lease.uuid },
					{
						lease: { ...lease, start_time: 'soon' },
					},
				),
			)?.field,
		).toBe('lease.start_time');
	});
});
