/**
 * Broker redeliveries in a real n8n 2.41.1 (issues 17 and 14). A TCP proxy sits between the
 * trigger and the shared RabbitMQ; executions take 4 s (a Wait node), so with prefetch 4 there are
 * four unacknowledged messages whose executions are running when the proxy cuts every connection
 * (or the workflow is deactivated). RabbitMQ then redelivers those four, with the same oslo
 * message id, while their first executions still run.
 *
 * Two guards meet here. Within one activation the trigger remembers its executions
 * (core/bus/recentOutcomes.ts): a redelivered copy waits for its first execution and is settled
 * on that outcome, acked after a success, retried or dead-lettered after a failure. Across
 * activations only n8n's deduplication key is left: what n8n 2.41.1 guarantees
 * (execution-persistence.js) is a unique index on the key in its executions table, so a second
 * execution with a stored key is refused (`DuplicateExecutionError`, logged "Scheduled execution
 * skipped: duplicate deduplication key") unless the stored one is still `new` (created, not
 * started: replaced instead), whatever the stored execution's status.
 */
import type amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCapture, withMessageId } from '../helpers/fixtures';
import { publishCapture } from '../helpers/rabbit';
import { TcpProxy } from '../helpers/tcpProxy';
import { busCredentialData, busTrigger } from './demo/workflows';
import { linearWorkflow, nodeOutput, startN8n, type Execution, type N8nInstance } from './harness';
import { installPaths } from './n8n-install';
import { AMQP_URL, connectBroker, uniqueName, waitForConsumer } from './rabbitmq';
import { deleteBrokerObjects, messageCount, waitUntil } from './scenarios';

const PROXIED_BUS = 'ESI Leap Message Bus (through a TCP proxy)';
const PREFETCH = 4;
const MESSAGES = 8;
const EXECUTION_SECONDS = 4;
const SKIPPED = 'Scheduled execution skipped: duplicate deduplication key';
const OUR_WARNING = 'n8n skipped a message as a duplicate';
const LOST = 'Lost the connection to the message bus; reconnecting';

/** The n8n this run targets (npm run test:e2e:1x sets E2E_N8N_BIN to the 1.x install). */
function n8nMajorVersion(): number {
	const bin = process.env.E2E_N8N_BIN ?? installPaths().n8nBin;
	const manifest = JSON.parse(readFileSync(join(dirname(bin), '..', 'package.json'), 'utf8')) as {
		version: string;
	};
	return Number(manifest.version.split('.')[0]);
}

const slowStep = {
	name: 'Slow step',
	type: 'n8n-nodes-base.wait',
	typeVersion: 1.1,
	parameters: { resume: 'timeInterval', amount: EXECUTION_SECONDS, unit: 'seconds' },
};
const failingStep = {
	name: 'Planted failure',
	type: 'n8n-nodes-base.stopAndError',
	typeVersion: 1,
	parameters: { errorMessage: 'planted failure' },
};

describe('Message Bus in a real n8n: unacknowledged messages redelivered while their executions run', () => {
	let n8n: N8nInstance;
	let broker: amqp.ChannelModel;
	let proxy: TcpProxy;
	const exchange = uniqueName('esi-leap-e2e-redelivery');
	const queues: string[] = [];

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
			await deleteBrokerObjects(broker, {
				queues: queues.flatMap((queue) => [queue, `${queue}.dead`, `${queue}.retry.0s`]),
				exchange,
			});
			await broker.close();
		}
	});

	const running = async (id: string) =>
		(await n8n.executions(id, { status: 'running', includeData: false })).length;
	const logLines = (text: string) =>
		n8n
			.log()
			.split('\n')
			.filter((line) => line.includes(text));

	/**
	 * A workflow Trigger → Slow step (→ failing step), active, with PREFETCH executions running
	 * and the other messages waiting in its queue. Returns the workflow, its queue and the ids.
	 */
	async function fourRunning(
		title: string,
		steps: Array<typeof slowStep | typeof failingStep>,
		options: Record<string, unknown> = {},
	) {
		const queue = uniqueName('esi-leap-e2e-redelivery');
		queues.push(queue);
		const base = busTrigger({
			exchange,
			queueName: queue,
			prefetch: PREFETCH,
			events: ['fulfill.end'],
		});
		const trigger = {
			...base,
			parameters: {
				...base.parameters,
				options: { ...(base.parameters.options as object), ...options },
			},
			credentials: { esiLeapMessageBusApi: { name: PROXIED_BUS } },
		};
		const id = await n8n.createWorkflow(linearWorkflow(title, [trigger, ...steps]));
		await n8n.activateWorkflow(id);
		await waitForConsumer(broker, queue);

		const capture = loadCapture('amqp-lease-fulfill-end');
		const messageIds = Array.from({ length: MESSAGES }, () => randomUUID());
		const channel = await broker.createChannel();
		for (const messageId of messageIds)
			publishCapture(channel, exchange, capture, withMessageId(capture, messageId));
		await channel.close();
		await waitUntil(async () => (await running(id)) === PREFETCH, `${PREFETCH} running executions`);
		expect(await messageCount(broker, queue)).toBe(MESSAGES - PREFETCH);
		return { id, queue, trigger, messageIds };
	}

	/** Waits until `count` executions finished, none runs and the workflow's queue is empty. */
	const settled = (id: string, queue: string, count: number) =>
		waitUntil(
			async () =>
				(await n8n.executions(id, { includeData: false })).length >= count &&
				(await running(id)) === 0 &&
				(await messageCount(broker, queue)) === 0,
			`${count} finished executions and an empty queue (log ${n8n.logFile})`,
			60_000,
		);

	/** The message id each execution ran, sorted; each execution had exactly one item. */
	const ranIds = (executions: Execution[], triggerName: string) =>
		executions
			.map((execution) => {
				const items = nodeOutput(execution, triggerName);
				expect(items).toHaveLength(1);
				return String(items[0].message_id);
			})
			.sort();

	it('each message runs once: the trigger holds the redeliveries of running executions and acks them on success', async () => {
		const skippedBefore = logLines(SKIPPED).length;
		const lostBefore = logLines(LOST).length;
		const { id, queue, trigger, messageIds } = await fourRunning(
			'e2e: redelivery after a connection cut',
			[slowStep],
		);
		proxy.cutAll();

		// RabbitMQ requeues the four unacknowledged messages; the trigger reconnects and gets them
		// back while their first executions still run. Settled: every message has a finished
		// execution, none runs and the queue is empty.
		await settled(id, queue, MESSAGES);
		await n8n.deactivateWorkflow(id);
		expect(logLines(LOST).length - lostBefore).toBe(1);
		expect(await messageCount(broker, queue)).toBe(0);
		expect(await messageCount(broker, `${queue}.dead`)).toBe(0);

		const executions = await n8n.executions(id);
		expect(ranIds(executions, trigger.name)).toEqual([...messageIds].sort());
		expect(executions.map((e) => e.status)).toEqual(Array(MESSAGES).fill('success'));
		// The trigger never handed a redelivery to n8n: n8n had nothing to skip.
		expect(logLines(SKIPPED).length).toBe(skippedBefore);
	}, 180_000);

	it('an execution that fails after the cut is still retried, and ends in the dead-letter queue after its retries', async () => {
		const { id, queue, trigger, messageIds } = await fourRunning(
			'e2e: failure after a connection cut',
			[slowStep, failingStep],
			{ maxRetries: 1, retryDelays: '0' },
		);
		proxy.cutAll();

		// Each message: its first execution fails, then its one retry fails, then it is
		// dead-lettered. Before the fix, the four whose first execution was running at the cut were
		// redelivered under the same key, skipped by n8n and acked: 4 executions and no dead letter
		// each.
		await waitUntil(
			async () => (await messageCount(broker, `${queue}.dead`)) === MESSAGES,
			`${MESSAGES} dead letters (log ${n8n.logFile})`,
			120_000,
		);
		await waitUntil(async () => (await running(id)) === 0, 'no running execution');
		await n8n.deactivateWorkflow(id);
		expect(await messageCount(broker, queue)).toBe(0);

		const executions = await n8n.executions(id);
		expect(executions.map((e) => e.status)).toEqual(Array(2 * MESSAGES).fill('error'));
		expect(ranIds(executions, trigger.name)).toEqual([...messageIds, ...messageIds].sort());
	}, 240_000);

	it("across activations only n8n's key applies: on 2.x it skips a redelivery of a still-running execution and the trigger warns; 1.x has no key", async () => {
		const hasKey = n8nMajorVersion() >= 2;
		const skippedBefore = logLines(SKIPPED).length;
		const warnedBefore = logLines(OUR_WARNING).length;
		// Close Timeout 0: deactivation does not wait for the running executions; the broker
		// redelivers their messages to the next activation, which has no memory of them.
		const { id, queue, trigger, messageIds } = await fourRunning(
			'e2e: redelivery to a new activation',
			[slowStep],
			{ closeTimeoutSeconds: 0 },
		);
		await n8n.deactivateWorkflow(id);
		await n8n.activateWorkflow(id);

		// 2.x: one execution per message. 1.x (no key, README "Compatibility"): the four
		// redelivered messages run a second time.
		const expected = hasKey ? MESSAGES : MESSAGES + PREFETCH;
		await settled(id, queue, expected);
		await n8n.deactivateWorkflow(id);

		const executions = await n8n.executions(id);
		expect(executions.map((e) => e.status)).toEqual(Array(expected).fill('success'));
		const ran = ranIds(executions, trigger.name);
		expect([...new Set(ran)].sort()).toEqual([...messageIds].sort());
		expect(ran).toHaveLength(expected);
		const warnings = logLines(OUR_WARNING).slice(warnedBefore);
		if (!hasKey) {
			expect(logLines(SKIPPED).length - skippedBefore).toBe(0);
			expect(warnings).toEqual([]);
			return;
		}
		expect(logLines(SKIPPED).length - skippedBefore).toBe(PREFETCH);
		expect(warnings).toHaveLength(PREFETCH);
		// Each warning names its message (four different ones of this workflow).
		const named = warnings.map((line) => messageIds.find((messageId) => line.includes(messageId)));
		expect(new Set(named).size).toBe(PREFETCH);
		expect(named).not.toContain(undefined);
	}, 180_000);
});
