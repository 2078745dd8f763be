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

describe('normalizeBusNotification on every capture', () => {
	it.each(loadAmqpCaptures().map((capture) => [capture.name, capture] as const))(
		'%s',
		(_name, capture) => {
			const message = capture.decoded['oslo.message'];
			const data = message.payload['esi_leap_object.data'];
			const item = normalizeBusNotification(leaseNotification(capture.body));
			expect(item.source).toBe('bus');
			expect(item.event_type).toBe(message.event_type);
			expect(item.priority).toBe(message.priority);
			expect(item.message_id).toBe(message.message_id);
			expect(item.event_id).toBeNull();
			expect(item.timestamp).toMatch(ISO_UTC);
			expect(item.timestamp).toBe(`${message.timestamp.replace(' ', 'T')}Z`);
			expect(item.lease_uuid).toBe(data.uuid);
			expect(item.project_id).toBe(data.project_id);
			expect(item.lease?.id).toBe(data.id);
			expect(item.lease?.status).toBe(data.status);
			expect(item.lease?.properties).toEqual(data.properties);
			for (const field of ['start_time', 'end_time', 'fulfill_time', 'expire_time'] as const) {
				if (data[field] === null) expect(item.lease?.[field]).toBeNull();
				else expect(item.lease?.[field]).toBe(data[field]);
			}
			expect(item.node).toEqual({
				uuid: data.node_uuid,
				name: data.node_name,
				provision_state: data.node_provision_state,
				power_state: data.node_power_state,
				properties: data.node_properties,
			});
			expect(item.raw).toBeUndefined();
		},
	);
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
});
