/**
 * Message Bus mode with "Reconcile With Event History" on the real shared broker (unique exchange
 * and queues) and the emulator: a notification that never reaches our queue while ESI writes its
 * event row (the broker-restart window: our binding is gone, the publish is routed
 * nowhere for us) runs once from the history, and its bus copy arriving late — also after an n8n
 * restart — runs nothing.
 */
import type { IDataObject, ITriggerResponse } from 'n8n-workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SHORT_EVENT_TYPES } from '../../nodes/core/events/types';
import { EsiLeapTrigger } from '../../nodes/EsiLeapTrigger/EsiLeapTrigger.node';
import type { LedgerState } from '../../nodes/core/bus/reconcile';
import { RECONCILE_LEDGER_KEY } from '../../nodes/EsiLeapTrigger/modes/reconciliation';
import { startEmulator, type Emulator } from '../emulator';
import { addSeconds, now, restFormat } from '../emulator/clock';
import {
	busCredentialData,
	closeOsloTestBed,
	openOsloTestBed,
	type OsloTestBed,
} from '../helpers/busTestBed';
import { credentialFor, signedInHttp } from '../helpers/esiLeapApiCredential';
import type { N8nHttp } from '../helpers/n8nHttp';
import {
	AMQP_URL,
	brokerSettings,
	drainQueue,
	messageCount,
	uniqueName,
	waitFor,
} from '../helpers/rabbit';
import { TcpProxy } from '../helpers/tcpProxy';
import { createFakeTrigger, type FakeTrigger } from '../helpers/triggerContext';

const KEYS = ['esi_leap_versioned_notifications.info', 'esi_leap_versioned_notifications.error'];

let bed: OsloTestBed;
let emulator: Emulator;
/** Every notification ESI published, whatever our queue's bindings: the late copies come from here. */
let copies: string;

beforeAll(async () => {
	bed = await openOsloTestBed({ exchange: 'esi-reconcile', queue: 'n8n-reconcile' });
	copies = uniqueName('esi-reconcile-copies');
	await bed.channel.assertQueue(copies, { durable: false, autoDelete: false });
	for (const key of KEYS) await bed.channel.bindQueue(copies, bed.exchange, key);
	emulator = await startEmulator({
		amqpUrl: AMQP_URL,
		exchange: bed.exchange,
		declareQueues: false,
		tickIntervalMs: 50,
	});
});

afterAll(async () => {
	await emulator?.stop();
	await closeOsloTestBed(bed ?? { connection: undefined, exchange: '', queue: '' }, [copies]);
});

interface Running {
	fake: FakeTrigger;
	http: N8nHttp;
	response: ITriggerResponse;
}

/** What n8n last saved of the node's static data (on emit and at the end of activation). */
let saved: IDataObject = {};

async function activate(
	options: {
		port?: number;
		reconcileIntervalMinutes?: number;
		role?: 'admin' | 'lessee';
		reconcile?: boolean;
		parameters?: IDataObject;
		waitForBusSeconds?: number;
	} = {},
): Promise<Running> {
	const { http } = signedInHttp(emulator, options.role ?? 'admin');
	const fake = createFakeTrigger({
		parameters: {
			mode: 'messageBus',
			queueName: bed.queue,
			reconcileWithHistory: options.reconcile ?? true,
			events: [...SHORT_EVENT_TYPES],
			...options.parameters,
			options: {
				exchange: bed.exchange,
				reconcileIntervalMinutes: options.reconcileIntervalMinutes ?? 0.01,
				reconcileWaitSeconds: options.waitForBusSeconds ?? 0.5,
			},
		},
		credentials: {
			esiLeapMessageBusApi: busCredentialData({
				heartbeat: 5,
				...(options.port ? { port: options.port } : {}),
			}),
			esiLeapApi: credentialFor(emulator, options.role ?? 'admin'),
		},
	});
	Object.assign(fake.staticData, structuredClone(saved));
	const context = fake.context as unknown as {
		emit: (...args: unknown[]) => void;
		helpers: Record<string, unknown>;
	};
	const emit = context.emit.bind(context);
	context.emit = (...args: unknown[]) => {
		saved = structuredClone(fake.staticData);
		emit(...args);
	};
	context.helpers.httpRequestWithAuthentication = async (name: string, request: never) =>
		await http.httpRequestWithAuthentication(name, request, fake.context.getNode());
	const response = await new EsiLeapTrigger().trigger.call(fake.context);
	saved = structuredClone(fake.staticData);
	return { fake, http, response };
}

async function deactivate(running: Running) {
	await running.response.closeFunction?.();
	await running.http.close();
}

const executed = (running: Running) =>
	running.fake.emissions
		.filter((emission) => emission.fate === 'executed')
		.map((emission) => emission.json);

/** Owner offers the dummy node, lessee claims it for an hour (the manager then fulfils it). */
async function offerAndClaim(node: string, beforeClaim = () => undefined as void) {
	const call = async (role: 'owner' | 'lessee', path: string, body: unknown) => {
		const response = await fetch(`${emulator.leaseUrl}${path}`, {
			method: 'POST',
			headers: { 'X-Auth-Token': emulator.tokenFor(role), 'Content-Type': 'application/json' },
			body: JSON.stringify(body),
		});
		if (response.status !== 201) {
			throw new Error(`${path}: ${response.status} ${await response.text()}`);
		}
		return (await response.json()) as { uuid: string };
	};
	const offer = await call('owner', '/v1/offers', {
		resource_type: 'dummy_node',
		resource_uuid: node,
		start_time: restFormat(now()),
		end_time: restFormat(addSeconds(now(), 86_400)),
	});
	beforeClaim();
	return await call('lessee', `/v1/offers/${offer.uuid}/claim`, {
		end_time: restFormat(addSeconds(now(), 3_600)),
	});
}

/** Long enough for several reconcile passes and the 0.5 s wait for the bus. */
const quietPeriod = () => new Promise((resolve) => setTimeout(resolve, 2_000));

describe('Message Bus reconciled with the event history (real broker, emulator)', () => {
	let first: Running;
	let droppedEventIds: number[] = [];

	it('delivered notifications run once, from the bus; the history adds nothing', async () => {
		first = await activate();
		const lifecycle = await emulator.control.runLifecycle({ ending: 'delete' });
		await waitFor(() => executed(first).length >= 4, '4 bus executions');
		await quietPeriod();
		expect(executed(first).map((item) => item.source)).toEqual(['bus', 'bus', 'bus', 'bus']);
		expect(executed(first).map((item) => item.lease_uuid)).toEqual(
			Array(4).fill(lifecycle.leaseUuid),
		);
		await drainQueue(bed.channel, copies);
	});

	it('notifications routed nowhere for us run once from the history, with lease and node fields', async () => {
		for (const key of KEYS) await bed.channel.unbindQueue(bed.queue, bed.exchange, key);
		const lifecycle = await emulator.control.runLifecycle({ ending: 'delete' });
		droppedEventIds = lifecycle.events.map((event) => event.id);
		expect(droppedEventIds).toHaveLength(4);
		// ESI did publish them: the copies queue has all four.
		await waitFor(async () => (await messageCount(bed.channel, copies)) === 4, 'the 4 copies');
		await waitFor(() => executed(first).length >= 8, '4 executions from the history', 15_000);
		await quietPeriod();
		const fromHistory = executed(first).slice(4);
		expect(executed(first)).toHaveLength(8);
		expect(fromHistory.map((item) => item.source)).toEqual(Array(4).fill('history'));
		expect(fromHistory.map((item) => item.event_id)).toEqual(droppedEventIds);
		expect(fromHistory.map((item) => item.event)).toEqual([
			'fulfill.start',
			'fulfill.end',
			'delete.start',
			'delete.end',
		]);
		for (const item of fromHistory) {
			expect(item.lease).toMatchObject({ uuid: lifecycle.leaseUuid });
			expect(item.node).toMatchObject({ uuid: lifecycle.resourceUuid });
		}
		// n8n's deduplication key: the event id, in the scope Event History mode uses too.
		expect(first.fake.emissions.slice(4).map((emission) => emission.deduplicationKey)).toEqual(
			droppedEventIds.map((id) => `wf-1:node-1:${id}`),
		);
		for (const key of KEYS) await bed.channel.bindQueue(bed.queue, bed.exchange, key);
	});

	it('their bus copies arriving late, after an n8n restart, run nothing', async () => {
		await deactivate(first);
		const second = await activate();
		try {
			const late = await drainQueue(bed.channel, copies);
			expect(late).toHaveLength(4);
			for (const message of late) {
				bed.channel.publish(bed.exchange, message.fields.routingKey, message.content, {
					...message.properties,
				});
			}
			// The trigger takes and acks all four (nothing left in its queue)...
			await waitFor(
				async () => (await messageCount(bed.channel, bed.queue)) === 0,
				'the late copies consumed',
			);
			await quietPeriod();
			// ...and runs none of them; nor does the history run its rows again.
			expect(executed(second)).toEqual([]);
			const ledger = second.fake.staticData[RECONCILE_LEDGER_KEY] as { history: unknown[] };
			expect(ledger.history).toEqual([]);
			// The next real event still runs, from the bus.
			await emulator.control.runLifecycle({ ending: 'delete' });
			await waitFor(() => executed(second).length >= 4, 'the next lifecycle from the bus');
			await quietPeriod();
			expect(executed(second).map((item) => item.source)).toEqual(Array(4).fill('bus'));
		} finally {
			await deactivate(second);
		}
	});

	it('a reconnect starts a reconciliation at once, not at the next interval', async () => {
		const proxy = new TcpProxy(brokerSettings().host, brokerSettings().port);
		await proxy.start();
		const running = await activate({ port: proxy.port, reconcileIntervalMinutes: 60 });
		const historyReads = () =>
			emulator.control.requestLog.filter((entry) => entry.path.startsWith('/v1/events')).length;
		try {
			// The pass at activation, then nothing for the hour-long interval.
			await waitFor(() => historyReads() > 0 && running.fake.logs.length > 0, 'the first pass');
			await quietPeriod();
			const before = historyReads();
			proxy.cutAll();
			await waitFor(
				() =>
					running.fake.logs.some((line) => line.message.includes('Reconnected to the message bus')),
				'the reconnect',
			);
			await waitFor(() => historyReads() > before, 'a history pass after the reconnect', 3_000);
			expect(
				running.fake.logs.some((line) =>
					line.message.includes('Reconciling with the event history after a reconnect'),
				),
			).toBe(true);
		} finally {
			await deactivate(running);
			await proxy.stop();
		}
	});

	it('a row committed late (a gap in the ids) whose notification was lost runs once, when it shows up', async () => {
		const running = await activate();
		try {
			await quietPeriod();
			for (const key of KEYS) await bed.channel.unbindQueue(bed.queue, bed.exchange, key);
			// Its row takes an id now but stays invisible, like a transaction that commits later.
			emulator.control.holdNextEvents(1);
			const lifecycle = await emulator.control.runLifecycle({ ending: 'delete' });
			const [held, ...visible] = lifecycle.events.map((event) => event.id);
			await waitFor(() => executed(running).length >= 3, 'the 3 visible rows', 15_000);
			await quietPeriod();
			expect(executed(running).map((item) => item.event_id)).toEqual(visible);
			expect(emulator.control.releaseHeldEvents()).toEqual([held]);
			await waitFor(() => executed(running).length >= 4, 'the late row', 15_000);
			await quietPeriod();
			expect(executed(running).map((item) => item.event_id)).toEqual([...visible, held]);
		} finally {
			for (const key of KEYS) await bed.channel.bindQueue(bed.queue, bed.exchange, key);
			await drainQueue(bed.channel, copies);
			await deactivate(running);
		}
	});

	it('failing history reads are recorded after three in a row; the bus keeps running', async () => {
		const running = await activate();
		try {
			await quietPeriod();
			emulator.control.failNextRequests(3, { status: 503, pathPrefix: '/v1/events' });
			await waitFor(() => running.fake.failedExecutions.length > 0, 'a failed execution', 10_000);
			expect(running.fake.failedExecutions[0].message).toMatch(/503|ESI Leap/);
			expect((running.fake.failedExecutions[0] as { description?: string }).description).toMatch(
				/^3 event history reconciliations in a row failed/,
			);
			await emulator.control.runLifecycle({ ending: 'delete' });
			await waitFor(() => executed(running).length >= 4, 'the lifecycle from the bus');
			await quietPeriod();
			expect(executed(running).map((item) => item.source)).toEqual(Array(4).fill('bus'));
		} finally {
			emulator.control.clearFailures();
			await drainQueue(bed.channel, copies);
			await deactivate(running);
		}
	});

	it("with a lessee's login only that project's missed events are recovered", async () => {
		const running = await activate({ role: 'lessee' });
		try {
			await quietPeriod();
			const admin = emulator.users.admin.projectId;
			const lessee = emulator.users.lessee.projectId;
			const foreign = emulator.control.seedEvents(2, { lesseeId: admin, ownerId: admin });
			const own = emulator.control.seedEvents(2, { lesseeId: lessee, ownerId: admin });
			expect(foreign.lastId).toBeLessThan(own.firstId);
			await waitFor(() => executed(running).length >= 2, "the lessee's two rows", 15_000);
			await quietPeriod();
			expect(executed(running).map((item) => item.event_id)).toEqual([own.firstId, own.lastId]);
			expect(executed(running).map((item) => item.project_id)).toEqual([lessee, lessee]);
		} finally {
			await deactivate(running);
		}
	});

	it('a bad Reconcile Every fails the activation, naming the field', async () => {
		await expect(activate({ reconcileIntervalMinutes: 0 })).rejects.toThrow(
			/^Reconcile Every \(Minutes\) must be a number of at least 0.01$/,
		);
	});

	it('a stuck lease repeating fulfill.start + fulfill.error, some notifications lost: each row runs once', async () => {
		const running = await activate();
		const node = emulator.control.addDummyNode();
		try {
			// Broken after the offer (which checks the node) and before the manager fulfils it.
			const lease = await offerAndClaim(node, () => emulator.control.breakNode(node));
			const rowsOf = (type: string) =>
				emulator.db.events.filter(
					(row) => row.objectUuid === lease.uuid && row.eventType === `esi_leap.lease.${type}`,
				);
			// The manager retries every pass (50 ms): errors on the bus, then some routed nowhere.
			await waitFor(() => rowsOf('fulfill.error').length >= 3, 'three fulfill.error rows');
			for (const key of KEYS) await bed.channel.unbindQueue(bed.queue, bed.exchange, key);
			const unboundFrom = rowsOf('fulfill.error').length;
			await waitFor(
				() => rowsOf('fulfill.error').length >= unboundFrom + 3,
				'three more while unbound',
			);
			for (const key of KEYS) await bed.channel.bindQueue(bed.queue, bed.exchange, key);
			const reboundFrom = rowsOf('fulfill.error').length;
			await waitFor(() => rowsOf('fulfill.error').length >= reboundFrom + 2, 'two more, bound');
			emulator.control.fixNode(node);
			await waitFor(() => rowsOf('fulfill.end').length === 1, 'the fulfilment');
			const expected = rowsOf('fulfill.error').length + rowsOf('fulfill.start').length + 1;
			const ofLease = () => executed(running).filter((item) => item.lease_uuid === lease.uuid);
			await waitFor(() => ofLease().length >= expected, `${expected} executions`, 15_000);
			await quietPeriod();
			const count = (type: string, source?: string) =>
				ofLease().filter((item) => item.event === type && (!source || item.source === source))
					.length;
			expect(count('fulfill.error')).toBe(rowsOf('fulfill.error').length);
			expect(count('fulfill.start')).toBe(rowsOf('fulfill.start').length);
			expect(count('fulfill.end')).toBe(1);
			// Both channels took part: the unbound stretch came from the history.
			expect(count('fulfill.error', 'history')).toBeGreaterThanOrEqual(3);
			expect(count('fulfill.error', 'bus')).toBeGreaterThanOrEqual(5);
		} finally {
			await drainQueue(bed.channel, copies);
			await deactivate(running);
		}
	});

	it('switched off, the bus runs alone; switched on again it starts afresh, replaying nothing', async () => {
		const off = await activate({ reconcile: false });
		try {
			expect(Object.keys(off.fake.staticData)).toEqual([]);
			await emulator.control.runLifecycle({ ending: 'delete' });
			await waitFor(() => executed(off).length >= 4, 'the lifecycle from the bus');
		} finally {
			await deactivate(off);
		}
		const on = await activate();
		try {
			await quietPeriod();
			expect(executed(on)).toEqual([]);
		} finally {
			await drainQueue(bed.channel, copies);
			await deactivate(on);
		}
	});

	it('a bus message the payload filters reject decides its event too: the history does not run it', async () => {
		// The bus snapshot of fulfill.* says "created"; the lease the history fetches is "active".
		const running = await activate({
			parameters: {
				events: ['fulfill.start', 'fulfill.end'],
				payloadFilters: { filter: [{ path: 'lease.status', operator: 'equals', value: 'active' }] },
			},
		});
		try {
			await quietPeriod();
			const lease = await offerAndClaim(emulator.control.addDummyNode());
			await waitFor(
				() =>
					emulator.db.events.filter(
						(row) =>
							row.objectUuid === lease.uuid && row.eventType === 'esi_leap.lease.fulfill.end',
					).length === 1,
				'the fulfilment',
			);
			await quietPeriod();
			expect(executed(running)).toEqual([]);
			const ledger = running.fake.staticData[RECONCILE_LEDGER_KEY] as LedgerState;
			expect(ledger.pending).toEqual([]);
			expect(ledger.history).toEqual([]);
		} finally {
			await drainQueue(bed.channel, copies);
			await deactivate(running);
		}
	});

	it('n8n stopping while a reconciliation waits on ESI: nothing runs then, each missed event once after the restart', async () => {
		// A trigger of its own: the filter test before saved no state (it never emitted; see README).
		saved = {};
		const first = await activate({ waitForBusSeconds: 1 });
		let lifecycle: Awaited<ReturnType<Emulator['control']['runLifecycle']>> | undefined;
		try {
			await quietPeriod();
			for (const key of KEYS) await bed.channel.unbindQueue(bed.queue, bed.exchange, key);
			// The lease lookups of the history items never answer: the pass hangs there.
			emulator.control.hangNextRequests(1000, { pathPrefix: '/v1/leases/' });
			lifecycle = await emulator.control.runLifecycle({ ending: 'delete' });
			await new Promise((resolve) => setTimeout(resolve, 3_000));
			expect(executed(first)).toEqual([]);
		} finally {
			await deactivate(first);
			emulator.control.clearFailures();
			for (const key of KEYS) await bed.channel.bindQueue(bed.queue, bed.exchange, key);
		}
		const second = await activate({ waitForBusSeconds: 1 });
		try {
			const ids = lifecycle.events.map((event) => event.id);
			await waitFor(() => executed(second).length >= 4, 'the 4 missed events', 15_000);
			await quietPeriod();
			expect(executed(second).map((item) => item.event_id)).toEqual(ids);
			expect(executed(second).every((item) => item.source === 'history')).toBe(true);
			expect(executed(first)).toEqual([]);
		} finally {
			await drainQueue(bed.channel, copies);
			await deactivate(second);
		}
	}, 90_000);
});
