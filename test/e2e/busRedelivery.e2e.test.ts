/**
 * Issue 17, item 6: deduplication of broker redeliveries in a real n8n. A TCP proxy sits between
 * the trigger and the shared RabbitMQ; executions take 4 s (a Wait node), so with prefetch 4 there
 * are four unacknowledged messages whose executions are running when the proxy cuts every
 * connection. RabbitMQ redelivers those four to the reconnected trigger at once, with the same
 * oslo message id, while their first executions still run. What n8n 2.41.1 guarantees
 * (execution-persistence.js): the deduplication key has a unique index in its executions table,
 * so a second execution with a stored key is refused (`DuplicateExecutionError`, logged "Scheduled
 * execution skipped: duplicate deduplication key") unless the stored one is still `new` (created,
 * not started: replaced instead); a pruned execution frees its key. Here the first executions are
 * running, so each redelivery is skipped and each message runs exactly once.
 */
import type amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCapture, withMessageId } from '../helpers/fixtures';
import { publishCapture } from '../helpers/rabbit';
import { TcpProxy } from '../helpers/tcpProxy';
import { busCredentialData, busTrigger } from './demo/workflows';
import { linearWorkflow, nodeOutput, startN8n, type N8nInstance } from './harness';
import { AMQP_URL, connectBroker, uniqueName, waitForConsumer } from './rabbitmq';
import { deleteBrokerObjects, messageCount, waitUntil } from './scenarios';

const PROXIED_BUS = 'ESI Leap Message Bus (through a TCP proxy)';
const PREFETCH = 4;
const MESSAGES = 8;
const EXECUTION_SECONDS = 4;
const SKIPPED = 'Scheduled execution skipped: duplicate deduplication key';

describe('Message Bus in a real n8n: a connection cut with unacknowledged messages', () => {
	let n8n: N8nInstance;
	let broker: amqp.ChannelModel;
	let proxy: TcpProxy;
	const exchange = uniqueName('esi-leap-e2e-redelivery');
	const queue = uniqueName('esi-leap-e2e-redelivery');

	beforeAll(async () => {
		broker = await connectBroker();
		const channel = await broker.createChannel();
		await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
		await channel.close();
		const target = new URL(AMQP_URL);
		proxy = new TcpProxy(target.hostname, Number(target.port || 5672));
		await proxy.start();
		n8n = await startN8n({ name: 'esi-leap-redelivery' });
		target.host = `127.0.0.1:${proxy.port}`;
		await n8n.createCredential({
			name: PROXIED_BUS,
			type: 'esiLeapMessageBusApi',
			data: busCredentialData(target.toString(), exchange),
		});
	});

	afterAll(async () => {
		await n8n?.stop();
		await proxy?.stop();
		if (broker) {
			await deleteBrokerObjects(broker, { queues: [queue, `${queue}.dead`], exchange });
			await broker.close();
		}
	});

	const running = async (id: string) =>
		(await n8n.executions(id, { status: 'running', includeData: false })).length;
	const skippedDuplicates = () =>
		n8n
			.log()
			.split('\n')
			.filter((line) => line.includes(SKIPPED));

	it('each message runs once: the redeliveries of running executions are skipped', async () => {
		const trigger = {
			...busTrigger({ exchange, queueName: queue, prefetch: PREFETCH, events: ['fulfill.end'] }),
			credentials: { esiLeapMessageBusApi: { name: PROXIED_BUS } },
		};
		const id = await n8n.createWorkflow(
			linearWorkflow('e2e: redelivery after a connection cut', [
				trigger,
				{
					name: 'Slow step',
					type: 'n8n-nodes-base.wait',
					typeVersion: 1.1,
					parameters: { resume: 'timeInterval', amount: EXECUTION_SECONDS, unit: 'seconds' },
				},
			]),
		);
		await n8n.activateWorkflow(id);
		await waitForConsumer(broker, queue);
		expect(proxy.connectionCount).toBe(1);

		const capture = loadCapture('amqp-lease-fulfill-end');
		const messageIds = Array.from({ length: MESSAGES }, () => randomUUID());
		const channel = await broker.createChannel();
		for (const messageId of messageIds)
			publishCapture(channel, exchange, capture, withMessageId(capture, messageId));
		await channel.close();

		// Prefetch 4: four executions run (each 4 s), four messages wait in the queue.
		await waitUntil(async () => (await running(id)) === PREFETCH, `${PREFETCH} running executions`);
		expect(await messageCount(broker, queue)).toBe(MESSAGES - PREFETCH);
		expect(skippedDuplicates()).toEqual([]);
		proxy.cutAll();
		const cutAt = Date.now();

		// RabbitMQ requeues the four unacknowledged messages; the trigger reconnects and gets them
		// back while their first executions still run. Settled: every message has a finished
		// execution, none runs and the queue is empty; deactivation then waits for anything in
		// flight, and with the queue still empty and no consumer no other execution can start.
		let allSkippedAfterMs: number | undefined;
		await waitUntil(
			async () => {
				if (allSkippedAfterMs === undefined && skippedDuplicates().length >= PREFETCH)
					allSkippedAfterMs = Date.now() - cutAt;
				const finished = await n8n.executions(id, { includeData: false });
				return (
					finished.length >= MESSAGES &&
					(await running(id)) === 0 &&
					(await messageCount(broker, queue)) === 0
				);
			},
			`${MESSAGES} finished executions and an empty queue (log ${n8n.logFile})`,
			60_000,
		);
		await n8n.deactivateWorkflow(id);
		expect(await messageCount(broker, queue)).toBe(0);
		expect(await messageCount(broker, `${queue}.dead`)).toBe(0);

		// Each message id exactly once; the four redeliveries were skipped by n8n, and all of them
		// arrived while the first executions (4 s each) were still running.
		const executions = await n8n.executions(id);
		const ran = executions.map((execution) => {
			const items = nodeOutput(execution, trigger.name);
			expect(items).toHaveLength(1);
			return String(items[0].message_id);
		});
		expect(ran.sort()).toEqual([...messageIds].sort());
		expect(executions.map((e) => e.status)).toEqual(Array(MESSAGES).fill('success'));
		expect(skippedDuplicates()).toHaveLength(PREFETCH);
		expect(allSkippedAfterMs).toBeLessThan(EXECUTION_SECONDS * 1000);
	}, 180_000);
});
