/**
 * Queue mode (one main + one worker, Redis, PostgreSQL): the bus trigger acknowledges a message
 * only after the worker finished its execution, slow executions never stall the consumer
 * (n8n issue #19877 is the failure to beat), and the history trigger polls once, on the main.
 */
import type amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator';
import { busTrigger } from './demo/workflows';
import { nodeOutput, type N8nInstance, type Workflow } from './harness';
import { uniqueName, waitForConsumer } from './rabbitmq';
import {
	activateHistoryWorkflow,
	expectOneExecutionPerLifecycleEvent,
	messageCount,
	startEsiLeapScenario,
	stopEsiLeapScenario,
	successfulPolls,
	waitUntil,
} from './scenarios';

const SLOW_STEP_MS = 3000;
const PREFETCH = 2;

/** Runs `count` lease lifecycles and returns the fulfill.end/delete.end notifications as published. */
async function captureEndNotifications(
	broker: amqp.ChannelModel,
	emulator: Emulator,
	count: number,
): Promise<amqp.GetMessage[]> {
	const channel = await broker.createChannel();
	const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
	await channel.bindQueue(queue, emulator.exchange, '#');
	for (let i = 0; i < count; i++) await emulator.control.runLifecycle({ ending: 'delete' });
	const wanted = count * 2;
	const captured: amqp.GetMessage[] = [];
	for (let tries = 0; captured.length < wanted && tries < 100; tries++) {
		const message = await channel.get(queue, { noAck: true });
		if (!message) {
			await new Promise((resolve) => setTimeout(resolve, 100));
			continue;
		}
		const { event_type } = JSON.parse(
			(JSON.parse(message.content.toString()) as { 'oslo.message': string })['oslo.message'],
		) as { event_type: string };
		if (/\.(fulfill|delete)\.end$/.test(event_type)) captured.push(message);
	}
	await channel.close();
	if (captured.length !== wanted)
		throw new Error(`captured ${captured.length} of ${wanted} end notifications`);
	return captured;
}

describe('ESI Leap nodes in n8n queue mode (main + worker)', () => {
	let n8n: N8nInstance;
	let broker: amqp.ChannelModel;
	let emulator: Emulator;
	const queue = uniqueName('esi-leap-e2e-queue-mode');

	beforeAll(async () => {
		({ broker, emulator, n8n } = await startEsiLeapScenario({
			name: 'esi-leap-queue',
			mode: 'queue',
		}));
	});

	afterAll(async () => {
		await stopEsiLeapScenario({ broker, emulator, n8n }, [queue, `${queue}.dead`]);
	});

	it('bus trigger: slow executions on the worker, acked only once finished, none lost', async () => {
		const notifications = await captureEndNotifications(broker, emulator, 3);
		const trigger = busTrigger({
			exchange: emulator.exchange,
			queueName: queue,
			prefetch: PREFETCH,
		});
		const workflow: Workflow = {
			name: 'e2e: slow bus executions in queue mode',
			nodes: [
				trigger,
				{
					name: 'Slow step',
					type: 'n8n-nodes-base.code',
					typeVersion: 2,
					position: [240, 0],
					parameters: {
						jsCode: `await new Promise((resolve) => setTimeout(resolve, ${SLOW_STEP_MS}));\nreturn $input.all();`,
					},
				},
			],
			connections: {
				[trigger.name]: { main: [[{ node: 'Slow step', type: 'main', index: 0 }]] },
			},
		};
		const id = await n8n.createWorkflow(workflow);
		await n8n.activateWorkflow(id);
		await waitForConsumer(broker, queue);

		const channel = await broker.createChannel();
		for (const message of notifications) {
			channel.publish(emulator.exchange, message.fields.routingKey, message.content, {
				contentType: message.properties.contentType,
				contentEncoding: message.properties.contentEncoding,
				priority: message.properties.priority,
			});
		}
		await channel.close();

		// Ready-message count as seen by the broker, stamped when the answer arrived.
		const samples: Array<{ at: number; ready: number }> = [];
		let sampling = true;
		const sampler = (async () => {
			while (sampling) {
				const ready = await messageCount(broker, queue);
				samples.push({ at: Date.now(), ready });
				await new Promise((resolve) => setTimeout(resolve, 50));
			}
		})();
		const executions = await n8n
			.waitForExecutions(id, { count: notifications.length, timeoutMs: 60_000 })
			.finally(async () => {
				sampling = false;
				await sampler;
			});

		expect(executions.map((e) => e.status)).toEqual(notifications.map(() => 'success'));
		const seen = executions.map((e) => {
			const [item] = nodeOutput(e, 'Slow step');
			return `${String(item.event)} ${String(item.lease_uuid)}`;
		});
		const published = notifications.map((m) => {
			const oslo = JSON.parse(
				(JSON.parse(m.content.toString()) as { 'oslo.message': string })['oslo.message'],
			) as {
				event_type: string;
				payload: { 'esi_leap_object.data': { uuid: string } };
			};
			return `${oslo.event_type.replace('esi_leap.lease.', '')} ${oslo.payload['esi_leap_object.data'].uuid}`;
		});
		expect(seen.sort()).toEqual(published.sort());
		const workerLog = n8n.log('worker');
		for (const execution of executions)
			expect(workerLog).toContain(`Worker finished execution ${execution.id} `);

		// Before the worker finished anything, the broker still held all but PREFETCH messages:
		// nothing was acked on receipt or when the job was handed to the worker.
		const firstStop = Math.min(...executions.map((e) => Date.parse(e.stoppedAt!)));
		const beforeFirstStop = samples.filter((s) => s.at < firstStop);
		expect(beforeFirstStop.length).toBeGreaterThan(5);
		expect(Math.min(...beforeFirstStop.map((s) => s.ready))).toBe(notifications.length - PREFETCH);
		// At most PREFETCH executions ran at the same time (counted at each start).
		const spans = executions.map((e) => [Date.parse(e.startedAt), Date.parse(e.stoppedAt!)]);
		const running = spans.map(([at]) => spans.filter(([from, to]) => from <= at && at < to).length);
		expect(Math.max(...running)).toBeLessThanOrEqual(PREFETCH);

		expect(await messageCount(broker, queue)).toBe(0);
		expect(await messageCount(broker, `${queue}.dead`)).toBe(0);
		await n8n.deactivateWorkflow(id);
	});

	it('history trigger: polls on the main only, one execution per lifecycle event, run by the worker', async () => {
		const { id, trigger } = await activateHistoryWorkflow(
			n8n,
			emulator,
			'e2e: history in queue mode',
		);

		const { leaseUuid } = await emulator.control.runLifecycle({ ending: 'delete' });
		// Settled: two more polls after both executions found nothing else to emit.
		const executions = await expectOneExecutionPerLifecycleEvent(
			n8n,
			id,
			trigger.name,
			leaseUuid,
			async () => {
				const target = successfulPolls(emulator) + 2;
				await waitUntil(() => successfulPolls(emulator) >= target, 'two more polls');
			},
		);
		const workerLog = n8n.log('worker');
		for (const execution of executions)
			expect(workerLog).toContain(`Worker finished execution ${execution.id} `);
		// The poller is the trigger's: the process that logged its first poll is the main.
		expect(n8n.log('main')).toContain('Event history cursor created');
		expect(workerLog).not.toContain('Event history cursor created');
		await n8n.deactivateWorkflow(id);
	});
});
