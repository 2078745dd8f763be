/** A full lease lifecycle through the emulator, observed on the API and on the real broker. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator';
import { listenOnOsloExchange, type OsloListener } from '../helpers/busTestBed';
import { AMQP_URL } from '../helpers/rabbit';

const exchange = `esi-lifecycle-${randomUUID()}`;
let emulator: Emulator;
let bus: OsloListener | undefined;
const onBus: Array<{ routingKey: string; eventType: string; user: unknown }> = [];

beforeAll(async () => {
	bus = await listenOnOsloExchange(exchange, 'esi_leap_versioned_notifications.*', (message) => {
		const inner = JSON.parse(JSON.parse(message.content.toString('utf8'))['oslo.message']);
		onBus.push({
			routingKey: message.fields.routingKey,
			eventType: inner.event_type,
			user: inner._context_user,
		});
	});
	emulator = await startEmulator({
		amqpUrl: AMQP_URL,
		exchange,
		declareQueues: false,
		tickIntervalMs: 100,
	});
});

afterAll(async () => {
	await emulator?.stop();
	await bus?.close();
});

async function waitForBus(count: number): Promise<void> {
	for (let attempt = 0; attempt < 100 && onBus.length < count; attempt++) {
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

async function eventsOnApi(leaseUuid: string): Promise<string[]> {
	const response = await fetch(`${emulator.leaseUrl}/v1/events`, {
		headers: { 'X-Auth-Token': emulator.tokenFor('lessee') },
	});
	const body = (await response.json()) as {
		events: Array<{ object_uuid: string; event_type: string }>;
	};
	return body.events
		.filter((event) => event.object_uuid === leaseUuid)
		.map((event) => event.event_type);
}

const LIFECYCLE = [
	'esi_leap.lease.fulfill.start',
	'esi_leap.lease.fulfill.end',
	'esi_leap.lease.delete.start',
	'esi_leap.lease.delete.end',
];

describe('lease lifecycle', () => {
	it('offer → claim → fulfil → delete: events on the API and on the bus, API context on delete', async () => {
		onBus.length = 0;
		const result = await emulator.control.runLifecycle({ ending: 'delete' });
		expect(await eventsOnApi(result.leaseUuid)).toEqual(LIFECYCLE);
		await waitForBus(4);
		expect(onBus.map((message) => message.eventType)).toEqual(LIFECYCLE);
		expect(
			onBus.every((message) => message.routingKey === 'esi_leap_versioned_notifications.info'),
		).toBe(true);
		expect(onBus.map((message) => message.user)).toEqual([
			null,
			null,
			emulator.users.lessee.id,
			emulator.users.lessee.id,
		]);
	});

	it('offer → claim → fulfil → expiry by the manager timer, with manager context', async () => {
		onBus.length = 0;
		const result = await emulator.control.runLifecycle({ ending: 'expire', leaseSeconds: 1 });
		expect(await eventsOnApi(result.leaseUuid)).toEqual(LIFECYCLE);
		await waitForBus(4);
		expect(onBus.map((message) => message.eventType)).toEqual(LIFECYCLE);
		expect(onBus.map((message) => message.user)).toEqual([null, null, null, null]);
		const lease = emulator.db.leases.find((candidate) => candidate.uuid === result.leaseUuid);
		expect(lease?.status).toBe('expired');
	});

	it('a broken node sends fulfill.error on the .error routing key', async () => {
		onBus.length = 0;
		const node = emulator.control.addDummyNode();
		const response = await fetch(`${emulator.leaseUrl}/v1/leases`, {
			method: 'POST',
			headers: { 'X-Auth-Token': emulator.tokenFor('owner'), 'Content-Type': 'application/json' },
			body: JSON.stringify({
				resource_type: 'dummy_node',
				resource_uuid: node,
				project_id: 'esi-lessee',
			}),
		});
		expect(response.status).toBe(201);
		emulator.control.breakNode(node);
		await emulator.control.tick();
		await waitForBus(2);
		expect(onBus.slice(0, 2).map((message) => [message.eventType, message.routingKey])).toEqual([
			['esi_leap.lease.fulfill.start', 'esi_leap_versioned_notifications.info'],
			['esi_leap.lease.fulfill.error', 'esi_leap_versioned_notifications.error'],
		]);
	});
});
