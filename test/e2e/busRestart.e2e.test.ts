/**
 * Issue 12 in a real n8n: a Message Bus trigger with "Reconcile With Event History" (admin ESI
 * Leap login) while lease lifecycles run and the broker restarts. The broker is this test's own
 * RabbitMQ node (test/helpers/ownRabbit.ts); the shared one on 5672 is never restarted.
 *
 * What the restart does, as on a real ESI (issue 12): `stop_app` deletes oslo's non-durable
 * exchange with our binding; the emulator's notifier, like ESI's, logs and drops what it cannot
 * publish yet still writes the event row (esi_leap/objects/notification.py), re-declares the
 * exchange on reconnect and publishes at once. The rows written while down reach n8n only through
 * the event history; every row of the selected types must run exactly once.
 */
import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator';
import { startOwnRabbit, type OwnRabbit } from '../helpers/ownRabbit';
import {
	apiCredentialData,
	busCredentialData,
	busTrigger,
	DEMO_EVENTS,
	leaseEventsWorkflow,
} from './demo/workflows';
import { nodeOutput, startN8n, type N8nInstance } from './harness';
import { uniqueName, waitForConsumer } from './rabbitmq';
import { sleep, successfulPolls, waitUntil } from './scenarios';

const ADMIN_API = 'ESI Leap API (emulator admin)';
const OWN_BUS = 'ESI Leap Message Bus (own broker)';
/** 3 s between reconcile passes and 1 s waiting for the bus: short, so the test stays short. */
const RECONCILE_EVERY_MINUTES = 0.05;
const WAIT_FOR_BUS_SECONDS = 1;

/** A connection to the restarted broker, retried while it still refuses connections. */
async function connectWhenUp(url: string): Promise<amqplib.ChannelModel> {
	let lastError: unknown;
	for (let attempt = 0; attempt < 50; attempt += 1) {
		try {
			const connection = await amqplib.connect(url);
			connection.on('error', () => undefined);
			return connection;
		} catch (error) {
			lastError = error;
			await sleep(200);
		}
	}
	throw new Error(`the restarted broker refused connections for 10 s: ${String(lastError)}`);
}

describe('Message Bus with reconciliation in a real n8n, its own broker restarted', () => {
	let rabbit: OwnRabbit;
	let emulator: Emulator;
	let n8n: N8nInstance;
	let broker: amqplib.ChannelModel | undefined;
	const emulatorLog: string[] = [];
	const queue = uniqueName('esi-leap-e2e-restart');

	beforeAll(async () => {
		rabbit = await startOwnRabbit();
		const exchange = uniqueName('openstack.e2e');
		// Declared as oslo declares it, before the trigger's passive check.
		broker = await amqplib.connect(rabbit.url);
		broker.on('error', () => undefined);
		const channel = await broker.createChannel();
		await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
		await channel.close();
		emulator = await startEmulator({
			amqpUrl: rabbit.url,
			exchange,
			declareQueues: false,
			tickIntervalMs: 200,
			log: (line) => emulatorLog.push(line),
		});
		n8n = await startN8n({ name: 'esi-leap-bus-restart' });
		await n8n.createCredential({
			name: ADMIN_API,
			type: 'esiLeapApi',
			data: apiCredentialData(emulator, emulator.users.admin),
		});
		await n8n.createCredential({
			name: OWN_BUS,
			type: 'esiLeapMessageBusApi',
			data: busCredentialData(rabbit.url, exchange),
		});
	});

	afterAll(async () => {
		await n8n?.stop();
		await emulator?.stop();
		await broker?.close().catch(() => undefined);
		await rabbit?.remove();
	});

	it('every fulfill.end and delete.end row runs once across a broker restart', async () => {
		const plain = busTrigger({ exchange: emulator.exchange, queueName: queue });
		const trigger = {
			...plain,
			parameters: {
				...plain.parameters,
				reconcileWithHistory: true,
				options: {
					...(plain.parameters.options as Record<string, unknown>),
					reconcileIntervalMinutes: RECONCILE_EVERY_MINUTES,
					reconcileWaitSeconds: WAIT_FOR_BUS_SECONDS,
				},
			},
			credentials: { esiLeapMessageBusApi: { name: OWN_BUS }, esiLeapApi: { name: ADMIN_API } },
		};
		const id = await n8n.createWorkflow(leaseEventsWorkflow('e2e: bus restart', trigger));
		const firstEventId = emulator.db.nextEventId;
		const pollsBefore = successfulPolls(emulator);
		await n8n.activateWorkflow(id);
		await waitForConsumer(broker!, queue).catch(async (error: Error) => {
			const problems = [...n8n.activationProblems(), (await n8n.activationError(id)) ?? ''];
			throw new Error(
				`${error.message}; activation: ${problems.join('\n')}\n${n8n.log().slice(-3000)}`,
			);
		});
		// Reconciliation starts from the newest event at its first pass: lifecycles come after it.
		await waitUntil(
			() => successfulPolls(emulator) > pollsBefore,
			`the first reconcile pass (log ${n8n.logFile})`,
		);

		// A lifecycle every half second (in-process they take milliseconds; unpaced, thousands
		// would run while stop_app takes its seconds) until told to stop; the restart in between.
		let lifecycles = 0;
		let stopLifecycles = false;
		const leases: string[] = [];
		const running = (async () => {
			while (!stopLifecycles) {
				const { leaseUuid } = await emulator.control.runLifecycle({ ending: 'delete' });
				leases.push(leaseUuid);
				lifecycles += 1;
				await sleep(500);
			}
		})();
		let downFrom = 0;
		let reboundAt = 0;
		try {
			await waitUntil(() => lifecycles >= 2, 'two lifecycles before the restart');
			await rabbit.stopApp();
			downFrom = lifecycles;
			// A few seconds down, measured in lifecycles that ESI records but cannot publish.
			await waitUntil(() => lifecycles >= downFrom + 2, 'two lifecycles while the broker is down');
			const reestablishedBefore = emulatorLog.filter((line) =>
				line.includes('re-established'),
			).length;
			await rabbit.startApp();
			// Both ends back (conditions, not a fixed time): ESI's publisher reconnected, and the
			// trigger consumes its queue again (it declares and binds before it consumes).
			await waitUntil(
				() =>
					emulatorLog.filter((line) => line.includes('re-established')).length >
					reestablishedBefore,
				'the emulator to publish again',
			);
			await broker?.close().catch(() => undefined);
			broker = await connectWhenUp(rabbit.url);
			await waitForConsumer(broker, queue);
			reboundAt = lifecycles;
			await waitUntil(() => lifecycles >= reboundAt + 3, 'three lifecycles with both ends back');
		} finally {
			stopLifecycles = true;
			await running;
		}

		const selected = new Set(DEMO_EVENTS.map((event) => `esi_leap.lease.${event}`));
		const rows = emulator.db.events.filter(
			(row) => row.id >= firstEventId && selected.has(row.eventType),
		);
		expect(rows).toHaveLength(leases.length * 2);
		// Rows written while the broker was down: ESI's notifier dropped their notifications.
		expect(
			emulatorLog.filter((line) => line.startsWith('notification not published')).length,
		).toBeGreaterThanOrEqual(4);

		await n8n.waitForExecutions(id, { count: rows.length, timeoutMs: 60_000 });
		// Nothing more: one whole reconcile pass after the count was reached (it decides every row
		// older than the 1 s wait for the bus), then deactivation drains what is in flight.
		const pollsAtCount = successfulPolls(emulator);
		await waitUntil(
			() => successfulPolls(emulator) >= pollsAtCount + 2,
			'a whole reconcile pass after the last execution',
		);
		await n8n.deactivateWorkflow(id);
		const channel = await broker!.createChannel();
		expect((await channel.checkQueue(queue)).messageCount).toBe(0);
		await channel.close();

		const executions = await n8n.executions(id);
		expect(executions.map((e) => e.status)).toEqual(Array(rows.length).fill('success'));
		const items = executions.map((execution) => {
			const output = nodeOutput(execution, trigger.name);
			expect(output).toHaveLength(1);
			return output[0];
		});
		const key = (lease: unknown, event: unknown) => `${String(lease)} ${String(event)}`;
		const ran = items.map((item) => key(item.lease_uuid, item.event)).sort();
		const expected = rows
			.map((row) => key(row.objectUuid, row.eventType.replace('esi_leap.lease.', '')))
			.sort();
		expect(ran).toEqual(expected);
		// The outage's rows came from the history; the rest from the bus.
		const fromHistory = items.filter((item) => item.source === 'history').length;
		expect(fromHistory).toBeGreaterThanOrEqual(4);
		// From the bus: at least the lifecycles done before the stop and those started once both
		// ends were back (one in flight at each boundary may go either way).
		expect(items.filter((item) => item.source === 'bus').length).toBeGreaterThanOrEqual(
			(downFrom - 1 + (lifecycles - reboundAt - 1)) * 2,
		);
		process.stderr.write(
			`[busRestart e2e] ${leases.length} lifecycles, ${rows.length} events, ${fromHistory} from the history, ${items.length - fromHistory} from the bus\n`,
		);
	}, 240_000);
});
