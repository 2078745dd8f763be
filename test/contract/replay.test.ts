/**
 * Contract test: replays run 2 of the real captures (same requests, same clock readings, same
 * manager passes) against the emulator, and compares every REST response and every AMQP
 * notification with the captured one. Needs RabbitMQ at AMQP_URL.
 */
import type { MessageProperties } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator';
import { listenOnOsloExchange, type OsloListener } from '../helpers/busTestBed';
import { AMQP_URL } from '../helpers/rabbit';
import {
	amqpCaptures,
	expectSameShape,
	normalize,
	pythonJson,
	restCaptures,
	type RestCapture,
} from './captures';

const BROKEN_DUMMY = '4853132a-7349-4acf-a223-a41390c248d5';
/** Run 1 wrote events 1-18; run 2's first event is 19. */
const RUN1_EVENTS = 18;
/** Run 1 created 4 leases (scenario-ids-run1.json), so run 2's lease DB ids start at 5. */
const RUN1_LEASES = 4;

interface Published {
	exchange: string;
	routingKey: string;
	properties: MessageProperties;
	body: string;
}

let emulator: Emulator;
let bus: OsloListener | undefined;
const exchange = `esi-contract-${randomUUID()}`;
const published: Published[] = [];
const uuidMap = new Map<string, string>();
const replies = new Map<number, { status: number; headers: Headers; text: string }>();

function clockAt(capture: RestCapture): string {
	return new Date(capture.response.headers.Date).toISOString().slice(0, 19) + '.000000';
}

function substitute(text: string): string {
	let out = text;
	for (const [captured, emulated] of uuidMap) out = out.split(captured).join(emulated);
	return out;
}

function learnUuids(captured: unknown, actual: unknown): void {
	if (!captured || !actual || typeof captured !== 'object' || typeof actual !== 'object') return;
	const capturedUuid = (captured as { uuid?: unknown }).uuid;
	const actualUuid = (actual as { uuid?: unknown }).uuid;
	if (typeof capturedUuid === 'string' && typeof actualUuid === 'string')
		uuidMap.set(capturedUuid, actualUuid);
}

/** Manager passes of the real run (it ran every 5 s), keyed by the capture they precede. */
const BEFORE: Record<number, Array<(emulator: Emulator) => Promise<void> | void>> = {
	12: [(e) => e.control.setClock('2026-11-24T17:32:40.820000'), (e) => e.control.tick()],
	21: [(e) => e.control.setClock('2026-11-24T17:33:00.840000'), (e) => e.control.tick()],
	22: [
		(e) => e.control.fixNode(BROKEN_DUMMY),
		(e) => e.control.setClock('2026-11-24T17:33:05.840000'),
		(e) => e.control.tick(),
	],
	26: [(e) => e.control.setClock('2026-11-24T17:33:50.870000'), (e) => e.control.tick()],
};
/** The backing file of the error-demo node was removed right after its lease was created. */
const AFTER: Record<number, Array<(emulator: Emulator) => void>> = {
	0: [(e) => e.control.seedEvents(RUN1_EVENTS)],
	11: [(e) => e.control.breakNode(BROKEN_DUMMY)],
};

async function replay(capture: RestCapture) {
	for (const step of BEFORE[capture.number] ?? []) await step(emulator);
	emulator.control.setClock(clockAt(capture));
	const headers: Record<string, string> = {};
	if (capture.request.as) headers['X-Auth-Token'] = emulator.tokenFor(capture.request.as);
	let body: string | undefined;
	if (capture.request.body !== null) {
		headers['Content-Type'] = 'application/json';
		body = substitute(JSON.stringify(capture.request.body));
	}
	const response = await fetch(emulator.leaseUrl + substitute(capture.request.path), {
		method: capture.request.method,
		headers,
		body,
		redirect: 'manual',
	});
	const reply = { status: response.status, headers: response.headers, text: await response.text() };
	replies.set(capture.number, reply);
	if (reply.headers.get('content-type') === 'application/json' && capture.response.body !== null) {
		learnUuids(capture.response.body, JSON.parse(reply.text));
	}
	for (const step of AFTER[capture.number] ?? []) step(emulator);
}

beforeAll(async () => {
	bus = await listenOnOsloExchange(exchange, 'esi_leap_versioned_notifications.#', (message) => {
		published.push({
			exchange: message.fields.exchange,
			routingKey: message.fields.routingKey,
			properties: message.properties,
			body: message.content.toString('utf8'),
		});
	});
	emulator = await startEmulator({
		amqpUrl: AMQP_URL,
		exchange,
		declareQueues: false,
		tickIntervalMs: 0,
	});
	for (const ironic of emulator.db.ironicNodes) uuidMap.set(ironic.uuid, ironic.uuid);
	for (const capture of restCaptures()) await replay(capture);
	// Let the consumer drain what the confirm channel already handed to the broker.
	const expected = emulator.db.events.length - RUN1_EVENTS;
	for (let wait = 0; wait < 50 && published.length < expected; wait++) {
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}, 60_000);

afterAll(async () => {
	await emulator?.stop();
	await bus?.close();
});

/** Same item bytes (Python's JSON of it), once ids and times are placeholders. */
function expectSameBytes(actual: unknown, captured: unknown, where: string) {
	expect(normalize(pythonJson(actual)), `${where}: bytes`).toBe(normalize(pythonJson(captured)));
}

/**
 * Responses that include run 1's history, which the emulator only has as seeded events: every
 * run-2 item is compared value by value and byte by byte, in the captured order, and the counts
 * must agree.
 */
function compareList(
	capture: RestCapture,
	key: string,
	actualItems: unknown[],
	capturedItems: unknown[],
) {
	if (key === 'events') {
		const byId = new Map(actualItems.map((item) => [(item as { id: number }).id, item]));
		for (const captured of capturedItems as Array<{ id: number }>) {
			if (captured.id <= RUN1_EVENTS) continue;
			expect(byId.has(captured.id), `${capture.file}: event ${captured.id} missing`).toBe(true);
			expectSameShape(byId.get(captured.id), captured, `${capture.file} event ${captured.id}`);
			expectSameBytes(byId.get(captured.id), captured, `${capture.file} event ${captured.id}`);
		}
		const ids = (items: unknown[]) =>
			(items as Array<{ id: number }>).map((item) => item.id).filter((id) => id > RUN1_EVENTS);
		expect(ids(actualItems), `${capture.file}: run-2 event order`).toEqual(ids(capturedItems));
		const run2Count = (capturedItems as Array<{ id: number }>).filter(
			(item) => item.id > RUN1_EVENTS,
		).length;
		const actualRun2 = actualItems.filter(
			(item) => (item as { id: number }).id > RUN1_EVENTS,
		).length;
		expect(actualRun2, `${capture.file}: run-2 event count`).toBe(run2Count);
		for (const item of actualItems)
			expectSameShape(item, capturedItems[0], `${capture.file} (any event)`, false);
		return;
	}
	const byUuid = new Map(actualItems.map((item) => [(item as { uuid: string }).uuid, item]));
	const run2 = (capturedItems as Array<{ uuid: string }>).filter((item) => uuidMap.has(item.uuid));
	for (const captured of run2) {
		const actual = byUuid.get(uuidMap.get(captured.uuid) as string);
		expect(actual, `${capture.file}: ${key} ${captured.uuid} missing`).toBeDefined();
		expectSameShape(actual, captured, `${capture.file} ${key} ${captured.uuid}`);
		expectSameBytes(actual, captured, `${capture.file} ${key} ${captured.uuid}`);
	}
	expect(actualItems.length, `${capture.file}: ${key} count`).toBe(run2.length);
	expect(
		(actualItems as Array<{ uuid: string }>).map((item) => item.uuid),
		`${capture.file}: ${key} order`,
	).toEqual(run2.map((item) => uuidMap.get(item.uuid)));
}

describe('REST responses match the captures', () => {
	it.each(restCaptures().map((capture) => [capture.file, capture] as const))(
		'%s',
		(_file, capture) => {
			const reply = replies.get(capture.number);
			expect(reply, 'replayed').toBeDefined();
			if (!reply) return;
			expect(reply.status).toBe(capture.response.status);
			expect(reply.headers.get('content-type')).toBe(capture.response.headers['Content-Type']);
			expect(reply.headers.get('content-length')).toBe(String(Buffer.byteLength(reply.text)));
			// ESI's Date header is its own clock (the watch events read it), set here to the capture's.
			expect(reply.headers.get('date')).toBe(capture.response.headers.Date);
			const authenticate = capture.response.headers['Www-Authenticate'];
			expect(normalize(reply.headers.get('www-authenticate') ?? '')).toBe(
				normalize(authenticate ?? ''),
			);
			const captured = capture.response.body as Record<string, unknown> | null;
			const actual = JSON.parse(reply.text) as Record<string, unknown> | null;
			// Both are Python's JSON of what they hold, so comparing items re-serialized by
			// pythonJson compares bytes.
			expect(pythonJson(captured), 'the capture is Python JSON').toBe(capture.response.body_text);
			expect(pythonJson(actual), 'the answer is Python JSON').toBe(reply.text);
			const listKey =
				captured && Object.keys(captured).length === 1 ? Object.keys(captured)[0] : undefined;
			if (
				listKey &&
				Array.isArray(captured?.[listKey]) &&
				(captured?.[listKey] as unknown[]).length > 0
			) {
				expect(Object.keys(actual ?? {})).toEqual([listKey]);
				compareList(
					capture,
					listKey,
					actual?.[listKey] as unknown[],
					captured?.[listKey] as unknown[],
				);
				return;
			}
			expectSameShape(actual, captured, capture.file);
			// Same bytes once ids and times are placeholders: separators, key order, escaping.
			expect(normalize(reply.text)).toBe(normalize(capture.response.body_text));
		},
	);
});

function innerMessage(body: string): Record<string, unknown> {
	return JSON.parse((JSON.parse(body) as { 'oslo.message': string })['oslo.message']);
}

function leaseOf(message: Record<string, unknown>): string {
	return ((message.payload as Record<string, unknown>)['esi_leap_object.data'] as { uuid: string })
		.uuid;
}

/**
 * The emulator has no run-1 leases: its lease DB ids are run 2's minus RUN1_LEASES. The one
 * `"id"` of a notification (the lease's, inside the escaped oslo.message) is shifted to run 2's.
 */
function asRun2LeaseIds(body: string): string {
	const ids = body.match(/\\"id\\": \d+/g) ?? [];
	expect(ids, 'one lease id per notification').toHaveLength(1);
	return body.replace(
		/\\"id\\": (\d+)/,
		(_match, id: string) => `\\"id\\": ${Number(id) + RUN1_LEASES}`,
	);
}

describe('AMQP notifications match the captures', () => {
	const run2 = amqpCaptures().filter((capture) => capture.capture_run === 'run2');

	it('the replay published one notification per event row', () => {
		expect(published.length).toBe(emulator.db.events.length - RUN1_EVENTS);
	});

	it.each(run2.map((capture) => [capture.file, capture] as const))('%s', (_file, capture) => {
		const capturedMessage = innerMessage(capture.body_text);
		const capturedLease = leaseOf(capturedMessage);
		const eventType = capturedMessage.event_type;
		// Retries emit the same event type again: match the capture's occurrence.
		const capturedOccurrences = amqpCaptures()
			.filter((other) => other.capture_run === 'run2')
			.map((other) => innerMessage(other.body_text))
			.filter((other) => leaseOf(other) === capturedLease && other.event_type === eventType)
			.sort((a, b) => String(a.timestamp).localeCompare(String(b.timestamp)));
		const occurrence = capturedOccurrences.findIndex(
			(other) => other.message_id === capturedMessage.message_id,
		);
		const candidates = published.filter((message) => {
			const inner = innerMessage(message.body);
			return leaseOf(inner) === uuidMap.get(capturedLease) && inner.event_type === eventType;
		});
		const found = candidates[occurrence];
		expect(found, `no emulator message for ${eventType} #${occurrence}`).toBeDefined();
		const actual = { ...found, body: asRun2LeaseIds(found.body) };
		expect(actual.exchange).toBe(exchange);
		expect(actual.routingKey).toBe(capture.amqp.routing_key);
		const properties = capture.amqp.properties;
		expect(actual.properties.contentType).toBe(properties.content_type);
		expect(actual.properties.contentEncoding).toBe(properties.content_encoding);
		expect(actual.properties.deliveryMode).toBe(properties.delivery_mode);
		expect(actual.properties.priority).toBe(properties.priority);
		expect(actual.properties.headers).toEqual(properties.headers);
		for (const absent of [
			'correlationId',
			'replyTo',
			'expiration',
			'messageId',
			'timestamp',
			'type',
			'userId',
			'appId',
		]) {
			expect(actual.properties[absent as keyof MessageProperties], absent).toBeUndefined();
		}
		expectSameShape(
			JSON.parse(actual.body),
			JSON.parse(capture.body_text),
			`${capture.file} envelope`,
			false,
		);
		expectSameShape(innerMessage(actual.body), capturedMessage, `${capture.file} oslo.message`);
		expect(normalize(actual.body)).toBe(normalize(capture.body_text));
	});
});
