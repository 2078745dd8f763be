import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel, GetMessage } from 'amqplib';
import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { decodeNotification } from '../../../nodes/core/events/envelope';
import { normalizeBusNotification } from '../../../nodes/core/events/normalize';
import { SHORT_EVENT_TYPES } from '../../../nodes/core/events/types';
import { EsiLeapTrigger } from '../../../nodes/EsiLeapTrigger/EsiLeapTrigger.node';
import type { AmqpCapture } from '../../helpers/fixtures';
import { loadAmqpCaptures, loadCapture, withMessageId } from '../../helpers/fixtures';
import {
	brokerSettings,
	drainQueue,
	messageCount,
	publishCapture,
	uniqueName,
	waitFor,
} from '../../helpers/rabbit';
import { BusTriggers, closeOsloTestBed, openOsloTestBed } from '../../helpers/busTestBed';
import { createFakeTrigger } from '../../helpers/triggerContext';
import type { FakeTrigger, FakeTriggerOptions } from '../../helpers/triggerContext';
import { TcpProxy } from '../../helpers/tcpProxy';

/**
 * The Message Bus mode end to end against the real RabbitMQ: captured bodies are published with
 * their captured properties to a per-test exchange declared like oslo's `openstack`.
 */

const captures = loadAmqpCaptures();
const ALL_EVENTS = [...SHORT_EVENT_TYPES];
const node = new EsiLeapTrigger();

function expectedItem(capture: AmqpCapture) {
	const decoded = decodeNotification(capture.body);
	if (decoded.kind !== 'lease') throw new Error('not a lease notification');
	return normalizeBusNotification(decoded.notification);
}

function fresh(capture: AmqpCapture): { id: string; body: Buffer } {
	const id = randomUUID();
	return { id, body: withMessageId(capture, id) };
}

describe('ESI Leap Trigger, message bus mode, on the real broker', () => {
	let connection: ChannelModel;
	let channel: Channel;
	let exchange: string;
	let queue: string;
	const extraQueues: string[] = [];
	const triggers = new BusTriggers();
	const running = triggers.running;
	let proxy: TcpProxy | undefined;

	beforeEach(async () => {
		({ connection, channel, exchange, queue } = await openOsloTestBed({
			exchange: 'openstack.test',
			queue: 'esi-leap-node-test',
		}));
	});

	afterEach(async () => {
		await triggers.closeAll();
		await proxy?.stop();
		proxy = undefined;
		await closeOsloTestBed({ connection, exchange, queue }, extraQueues.splice(0));
	});

	const activate = (
		parameters: IDataObject,
		extra: Partial<FakeTriggerOptions> = {},
		port = brokerSettings().port,
	) => triggers.activate({ exchange, queue }, parameters, extra, port);
	const deactivate = (fake: FakeTrigger) => triggers.deactivate(fake);

	const executed = (fake: FakeTrigger) =>
		fake.emissions.filter((emission) => emission.fate === 'executed');

	async function settledQueue(expected = 0) {
		await waitFor(
			async () => (await messageCount(channel, queue)) === expected,
			`queue depth ${expected}`,
		);
	}

	describe('subscription and events', () => {
		it('defaults: fulfill.end and delete.end only, bound to .info only, one execution per message', async () => {
			const fake = await activate({});
			for (const capture of captures) publishCapture(channel, exchange, capture);
			const wanted = captures.filter((capture) =>
				/fulfill\.end|delete\.end/.test(capture.decoded['oslo.message'].event_type),
			);
			await waitFor(() => executed(fake).length === wanted.length, 'the default events');
			await settledQueue(0);
			expect(
				executed(fake)
					.map((emission) => emission.json.event)
					.sort(),
			).toEqual(wanted.map((capture) => expectedItem(capture).event).sort());
			// Error events travel on `.error`, which the default subscription does not bind.
			await deactivate(fake);
			publishCapture(channel, exchange, loadCapture('amqp-lease-fulfill-error'));
			publishCapture(channel, exchange, loadCapture('amqp-lease-fulfill-end'));
			await waitFor(
				async () => (await messageCount(channel, queue)) === 1,
				'one .info message kept while inactive',
			);
		});

		it('every event type, emitted as the normalized item with the message id as deduplication key', async () => {
			const fake = await activate(
				{ events: ALL_EVENTS },
				{ workflowId: 'wf-42', node: { id: 'node-7' } },
			);
			for (const capture of captures) publishCapture(channel, exchange, capture);
			await waitFor(() => executed(fake).length === captures.length, 'every capture');
			await settledQueue(0);
			for (const capture of captures) {
				const item = expectedItem(capture);
				const emission = fake.emissions.find(
					(candidate) => candidate.json.message_id === item.message_id,
				);
				expect(emission?.json).toEqual(JSON.parse(JSON.stringify(item)));
				expect(emission?.deduplicationKey).toBe(`wf-42:node-7:${item.message_id}`);
				expect(emission?.hadDonePromise).toBe(true);
			}
			expect(new Set(fake.emissions.map((emission) => emission.json.event)).size).toBe(6);
		});

		it('payload filters: non-matching messages are acked and never emitted', async () => {
			const fake = await activate({
				events: ALL_EVENTS,
				payloadFilters: {
					filter: [
						{ path: 'resource_type', operator: 'equals', value: 'ironic_node' },
						{ path: 'node.name', operator: 'regex', value: '^fake-node' },
					],
				},
				options: { includeRawEnvelope: true },
			});
			for (const capture of captures) publishCapture(channel, exchange, capture);
			const ironic = captures.filter(
				(capture) =>
					capture.decoded['oslo.message'].payload['esi_leap_object.data'].resource_type ===
					'ironic_node',
			);
			expect(ironic.length).toBeGreaterThan(0);
			await waitFor(() => executed(fake).length === ironic.length, 'the ironic events');
			await settledQueue(0);
			expect(
				fake.emissions.every((emission) => emission.json.resource_type === 'ironic_node'),
			).toBe(true);
			const raw = fake.emissions[0].json.raw as IDataObject;
			expect(
				Object.keys(raw['oslo.message'] as IDataObject).some((key) => key.startsWith('_context')),
			).toBe(false);
			await deactivate(fake);
			const closed = fake.logs.find((line) => line.message.endsWith('Closed'));
			expect(closed?.meta).toMatchObject({
				filtered: captures.length - ironic.length,
				emitted: ironic.length,
			});
		});

		it('the default queue name is stable per workflow node and survives a restart with its messages', async () => {
			const parameters = { queueName: '', events: ALL_EVENTS };
			const workflowId = uniqueName('wf');
			const ownQueue = `n8n-esi-leap.${workflowId}.node-1`;
			extraQueues.push(ownQueue, `${ownQueue}.dead`);
			const first = await activate(parameters, { workflowId });
			await deactivate(first);
			const { id, body } = fresh(loadCapture('amqp-lease-delete-end'));
			publishCapture(channel, exchange, loadCapture('amqp-lease-delete-end'), body);
			await waitFor(
				async () => (await messageCount(channel, ownQueue)) === 1,
				'the message to wait in the own queue',
			);
			const second = await activate(parameters, { workflowId });
			await waitFor(() => executed(second).length === 1, 'the message published while inactive');
			expect(second.emissions[0].json.message_id).toBe(id);
		});

		it('an existing queue is only checked (missing: activation fails), then consumed', async () => {
			const missing = await activate({
				queueSource: 'existing',
				existingQueue: uniqueName('nope'),
			}).then(
				() => undefined,
				(error: Error) => error,
			);
			expect(missing).toBeInstanceOf(NodeOperationError);
			expect((missing as NodeOperationError).description).toMatch(/NOT_FOUND/);

			const shared = uniqueName('shared');
			extraQueues.push(shared, `${shared}.dead`);
			await channel.assertQueue(shared, { durable: false });
			await channel.bindQueue(shared, exchange, 'esi_leap_versioned_notifications.info');
			const fake = await activate({ queueSource: 'existing', existingQueue: shared });
			publishCapture(channel, exchange, loadCapture('amqp-lease-fulfill-end'));
			await waitFor(() => executed(fake).length === 1, 'the message from the existing queue');
			// The own-queue name was not used: nothing was declared under it.
			const probe = await connection.createChannel();
			probe.on('error', () => undefined);
			await expect(probe.checkQueue(queue)).rejects.toThrow(/NOT_FOUND/);
		});

		it('checks the exchange passively by default; declares it only as oslo does when asked', async () => {
			const missingExchange = uniqueName('openstack.absent');
			const failed = await activate({ options: { exchange: missingExchange } }).then(
				() => undefined,
				(error: Error) => error,
			);
			expect((failed as NodeOperationError).description).toMatch(/NOT_FOUND - no exchange/);

			const declared = uniqueName('openstack.declared');
			try {
				await activate({ options: { exchange: declared, declareExchange: true } });
				// Same arguments as oslo (topic, durable=false): equivalent, so this succeeds...
				await channel.assertExchange(declared, 'topic', { durable: false, autoDelete: false });
				// ...while a durable redeclaration is refused: we did not create it durable.
				const probe = await connection.createChannel();
				probe.on('error', () => undefined);
				await expect(probe.assertExchange(declared, 'topic', { durable: true })).rejects.toThrow(
					/PRECONDITION_FAILED/,
				);
			} finally {
				for (const entry of running.splice(0)) await entry.response.closeFunction?.();
				await channel.deleteExchange(declared);
			}
		});
	});

	describe('acknowledgement', () => {
		it('after success (default): a failing message is retried N times, then dead-lettered byte for byte', async () => {
			const failing = fresh(loadCapture('amqp-lease-fulfill-end'));
			const fake = await activate(
				{ options: { maxRetries: 2, retryDelays: '0' } },
				{ execute: (json) => (json.message_id === failing.id ? 'fail' : 'succeed') },
			);
			publishCapture(channel, exchange, loadCapture('amqp-lease-fulfill-end'), failing.body);
			publishCapture(channel, exchange, loadCapture('amqp-lease-delete-end'));
			await waitFor(
				async () => (await messageCount(channel, `${queue}.dead`)) === 1,
				'the dead letter',
			);
			await settledQueue(0);
			// Each retry is a new execution: the attempt is part of the deduplication key.
			const attempts = fake.emissions.filter((emission) => emission.json.message_id === failing.id);
			expect(attempts.map((emission) => emission.fate)).toEqual([
				'executed',
				'executed',
				'executed',
			]);
			expect(attempts.map((emission) => emission.deduplicationKey)).toEqual([
				`wf-1:node-1:${failing.id}`,
				`wf-1:node-1:${failing.id}:retry-1`,
				`wf-1:node-1:${failing.id}:retry-2`,
			]);
			const [dead] = await drainQueue(channel, `${queue}.dead`);
			expect(Buffer.compare(dead.content, failing.body)).toBe(0);
			expect(dead.properties.contentType).toBe('application/json');
			expect(dead.properties.headers).toMatchObject({
				'x-esi-leap-retries': 2,
				'x-esi-leap-dead-letter-kind': 'failed',
				'x-esi-leap-original-exchange': exchange,
				'x-esi-leap-original-routing-key': 'esi_leap_versioned_notifications.info',
			});
			expect(String(dead.properties.headers?.['x-esi-leap-dead-letter-reason'])).toMatch(
				/execution failed/,
			);
		});

		it('after success on n8n 1.x (no deduplication): each retry runs the workflow again', async () => {
			const fake = await activate(
				{ options: { maxRetries: 2, retryDelays: '0' } },
				{ n8nMajor: 1, execute: () => 'fail' },
			);
			publishCapture(channel, exchange, loadCapture('amqp-lease-fulfill-end'));
			await waitFor(
				async () => (await messageCount(channel, `${queue}.dead`)) === 1,
				'the dead letter',
			);
			expect(executed(fake)).toHaveLength(3);
			expect(fake.emissions.every((emission) => emission.deduplicationKey === undefined)).toBe(
				true,
			);
		});

		it('after success: an execution that never started is retried', async () => {
			let calls = 0;
			const fake = await activate(
				{ options: { retryDelays: '0' } },
				{ n8nMajor: 1, execute: () => (++calls === 1 ? 'notStarted' : 'succeed') },
			);
			publishCapture(channel, exchange, loadCapture('amqp-lease-delete-end'));
			await waitFor(() => executed(fake).length === 2, 'the retry');
			await settledQueue(0);
			expect(await messageCount(channel, `${queue}.dead`)).toBe(0);
		});

		it('after it finishes: a failed execution is acked, not retried', async () => {
			const fake = await activate({ acknowledge: 'executionFinishes' }, { execute: () => 'fail' });
			publishCapture(channel, exchange, loadCapture('amqp-lease-fulfill-end'));
			await waitFor(() => executed(fake).length === 1, 'the execution');
			await settledQueue(0);
			await deactivate(fake);
			expect(await messageCount(channel, queue)).toBe(0);
			expect(await messageCount(channel, `${queue}.dead`)).toBe(0);
			expect(fake.emissions).toHaveLength(1);
		});

		it('a hanging execution: the ack timeout retries, then dead-letters; nothing stalls', async () => {
			const fake = await activate(
				{
					acknowledge: 'executionFinishes',
					options: { ackTimeoutMinutes: 0.002, maxRetries: 1, prefetch: 1, retryDelays: '0' },
				},
				{ n8nMajor: 1, execute: (json) => (json.event === 'fulfill.end' ? 'hang' : 'succeed') },
			);
			publishCapture(channel, exchange, loadCapture('amqp-lease-fulfill-end'));
			publishCapture(channel, exchange, loadCapture('amqp-lease-delete-end'));
			await waitFor(
				async () => (await messageCount(channel, `${queue}.dead`)) === 1,
				'the dead letter',
				15_000,
			);
			// With prefetch 1 the second message could only run once the first was settled.
			await waitFor(
				() => executed(fake).some((emission) => emission.json.event === 'delete.end'),
				'the next message',
			);
			expect(
				executed(fake).filter((emission) => emission.json.event === 'fulfill.end'),
			).toHaveLength(2);
			const [dead] = await drainQueue(channel, `${queue}.dead`);
			expect(String(dead.properties.headers?.['x-esi-leap-dead-letter-reason'])).toMatch(
				/ack timeout/,
			);
		});

		it('a hanging execution with "On Ack Timeout: Acknowledge" is acked once', async () => {
			const fake = await activate(
				{ options: { ackTimeoutMinutes: 0.002, onAckTimeout: 'ack' } },
				{ execute: () => 'hang' },
			);
			publishCapture(channel, exchange, loadCapture('amqp-lease-fulfill-end'));
			await waitFor(
				() => fake.logs.some((line) => /ack timeout/.test(line.message)),
				'the timeout',
			);
			await settledQueue(0);
			await deactivate(fake);
			expect(await messageCount(channel, queue)).toBe(0);
			expect(fake.emissions).toHaveLength(1);
		});

		it('immediately: acked on receipt, even while the execution hangs or fails', async () => {
			const fake = await activate(
				{ acknowledge: 'immediately' },
				{ execute: (json) => (json.event === 'fulfill.end' ? 'hang' : 'fail') },
			);
			publishCapture(channel, exchange, loadCapture('amqp-lease-fulfill-end'));
			publishCapture(channel, exchange, loadCapture('amqp-lease-delete-end'));
			await waitFor(() => fake.emissions.length === 2, 'both emissions');
			expect(fake.emissions.every((emission) => !emission.hadDonePromise)).toBe(true);
			await deactivate(fake);
			// Nothing was left unacked to be requeued on close, and nothing was dead-lettered.
			expect(await messageCount(channel, queue)).toBe(0);
			expect(await messageCount(channel, `${queue}.dead`)).toBe(0);
		});
	});

	describe('malformed messages', () => {
		it('are dead-lettered at once, recorded as failed executions, logged without secrets; the consumer keeps going', async () => {
			const secret = 'gAAAAAB-SECRET-keystone-token';
			const template = loadCapture('amqp-lease-fulfill-end');
			const outer = JSON.parse(template.body.toString('utf8'));
			const inner = JSON.parse(outer['oslo.message']);
			inner._context_auth_token = secret;
			delete inner.payload['esi_leap_object.data'].uuid;
			const bodies = [
				Buffer.from('not json at all'),
				Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
				Buffer.from(
					JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': { nested: 'object' } }),
				),
				Buffer.from(JSON.stringify({ ...outer, 'oslo.message': JSON.stringify(inner) })),
			];
			const fake = await activate({ events: ALL_EVENTS });
			for (const body of bodies) publishCapture(channel, exchange, template, body);
			publishCapture(channel, exchange, loadCapture('amqp-lease-delete-end'));

			await waitFor(
				async () => (await messageCount(channel, `${queue}.dead`)) === bodies.length,
				'the dead letters',
			);
			await waitFor(() => executed(fake).length === 1, 'the valid message');
			await settledQueue(0);
			const dead: GetMessage[] = await drainQueue(channel, `${queue}.dead`);
			expect(dead.map((message) => message.content.toString('base64')).sort()).toEqual(
				bodies.map((body) => body.toString('base64')).sort(),
			);
			expect(
				dead.every(
					(message) => message.properties.headers?.['x-esi-leap-dead-letter-kind'] === 'malformed',
				),
			).toBe(true);
			expect(fake.failedExecutions).toHaveLength(bodies.length);
			expect(fake.failedExecutions.every((error) => error instanceof NodeOperationError)).toBe(
				true,
			);
			expect(fake.allText()).toContain('payload.esi_leap_object.data.uuid');
			expect(fake.allText()).not.toContain(secret);
			expect(fake.emittedErrors).toEqual([]);
		});

		it('on n8n 1.x (no saveFailedExecution) are still dead-lettered and logged', async () => {
			const fake = await activate({}, { n8nMajor: 1 });
			publishCapture(channel, exchange, loadCapture('amqp-lease-fulfill-end'), Buffer.from('[]'));
			await waitFor(
				async () => (await messageCount(channel, `${queue}.dead`)) === 1,
				'the dead letter',
			);
			// The warning follows the dead letter's publish confirm: under load, a moment later.
			await waitFor(
				() => fake.logs.some((line) => line.level === 'warn' && /Malformed/.test(line.message)),
				'the warning',
			);
		});
	});

	describe('manual test ("listen for test event")', () => {
		it('reads a private exclusive copy: returns the first matching message, takes nothing from the production queue, cleans up', async () => {
			// A production trigger's queue, bound to the same exchange, must keep every message.
			const production = uniqueName('production');
			extraQueues.push(production);
			await channel.assertQueue(production, { durable: true });
			await channel.bindQueue(production, exchange, 'esi_leap_versioned_notifications.info');

			const fake = createFakeTrigger({
				mode: 'manual',
				parameters: { options: { exchange }, queueName: queue },
				credentials: {
					esiLeapMessageBusApi: {
						...brokerSettings(),
						heartbeat: 5,
					} as unknown as ICredentialDataDecryptedObject,
				},
			});
			const response = await node.trigger.call(fake.context);
			await response.manualTriggerFunction?.();
			const started = fake.logs.find((line) => line.message.includes('Consuming'));
			const temporary = String(started?.meta?.queue);
			expect(temporary).not.toBe(queue);

			publishCapture(channel, exchange, loadCapture('amqp-lease-fulfill-start'));
			publishCapture(channel, exchange, loadCapture('amqp-lease-delete-end'));
			publishCapture(channel, exchange, loadCapture('amqp-lease-fulfill-end'));
			const [[first]] = await fake.manualResponse;
			expect(first.json.event).toBe('delete.end');
			await response.closeFunction?.();

			await waitFor(
				async () => (await messageCount(channel, production)) === 3,
				'the production copies',
			);
			const probe = await connection.createChannel();
			probe.on('error', () => undefined);
			await expect(probe.checkQueue(temporary)).rejects.toThrow(/NOT_FOUND/);
			// The own queue was never declared by the test run.
			const probe2 = await connection.createChannel();
			probe2.on('error', () => undefined);
			await expect(probe2.checkQueue(queue)).rejects.toThrow(/NOT_FOUND/);
		});
	});

	describe('close', () => {
		it('waits for in-flight executions, acks them, and is idempotent', async () => {
			const fake = await activate({}, { execute: () => 'hang' });
			publishCapture(channel, exchange, loadCapture('amqp-lease-fulfill-end'));
			publishCapture(channel, exchange, loadCapture('amqp-lease-delete-end'));
			await waitFor(() => fake.emissions.length === 2, 'two executions in flight');
			const entry = running.find((candidate) => candidate.fake === fake)!;
			const closing = entry.response.closeFunction!();
			setTimeout(() => fake.releaseHanging(), 200);
			await closing;
			await entry.response.closeFunction!();
			running.splice(running.indexOf(entry), 1);
			expect(await messageCount(channel, queue)).toBe(0);
		});

		it('gives up after the close timeout; unfinished messages go back to the queue', async () => {
			const fake = await activate(
				{ options: { closeTimeoutSeconds: 0.2 } },
				{ execute: () => 'hang' },
			);
			publishCapture(channel, exchange, loadCapture('amqp-lease-fulfill-end'));
			publishCapture(channel, exchange, loadCapture('amqp-lease-delete-end'));
			await waitFor(() => fake.emissions.length === 2, 'two executions in flight');
			await deactivate(fake);
			expect(fake.logs.some((line) => /still running/.test(line.message))).toBe(true);
			await waitFor(
				async () => (await messageCount(channel, queue)) === 2,
				'the requeued messages',
			);
			// A late completion after close must not throw or ack anything.
			fake.releaseHanging();
			await new Promise((resolve) => setTimeout(resolve, 50));
			expect(await messageCount(channel, queue)).toBe(2);
		});
	});

	describe('broker loss', () => {
		it('surfaces a prolonged outage once (log + failed execution) without deactivating, then recovers', async () => {
			proxy = new TcpProxy(brokerSettings().host, brokerSettings().port);
			await proxy.start();
			const fake = await activate({ options: { outageNoticeMinutes: 0.005 } }, {}, proxy.port);
			proxy.setRefusing(true);
			proxy.cutAll();
			await waitFor(() => fake.failedExecutions.length === 1, 'the outage record', 15_000);
			expect(fake.failedExecutions[0].message).toMatch(/unreachable for \d+ s; still reconnecting/);
			expect(
				fake.logs.some((line) => line.level === 'error' && /unreachable/.test(line.message)),
			).toBe(true);
			proxy.setRefusing(false);
			await waitFor(
				() => fake.logs.some((line) => /reachable again/.test(line.message)),
				'the recovery',
				15_000,
			);
			publishCapture(channel, exchange, loadCapture('amqp-lease-fulfill-end'));
			await waitFor(() => executed(fake).length === 1, 'a message after the outage');
			expect(fake.failedExecutions).toHaveLength(1);
			expect(fake.emittedErrors).toEqual([]);
			expect(fake.allText()).not.toContain(`:${brokerSettings().password}@`);
		});

		it('reconnects inside the node and loses nothing published meanwhile; the workflow stays active', async () => {
			proxy = new TcpProxy(brokerSettings().host, brokerSettings().port);
			await proxy.start();
			const fake = await activate({ events: ALL_EVENTS }, {}, proxy.port);
			const ids = new Set<string>();
			const publishSome = (count: number) => {
				for (let index = 0; index < count; index++) {
					const { id, body } = fresh(captures[index % captures.length]);
					ids.add(id);
					publishCapture(channel, exchange, captures[index % captures.length], body);
				}
			};
			publishSome(10);
			await waitFor(() => fake.emissions.length >= 3, 'the first messages');
			proxy.setRefusing(true);
			proxy.cutAll();
			publishSome(10);
			await new Promise((resolve) => setTimeout(resolve, 1500));
			proxy.setRefusing(false);
			const seen = () =>
				new Set(fake.emissions.map((emission) => String(emission.json.message_id)));
			await waitFor(
				() => [...ids].every((id) => seen().has(id)),
				'every message after the reconnect',
				20_000,
			);
			await settledQueue(0);
			expect(fake.emittedErrors).toEqual([]);
			expect(fake.logs.some((line) => /Reconnected/.test(line.message))).toBe(true);
			expect(fake.allText()).not.toContain(
				brokerSettings().password === 'guest' ? ':guest@' : brokerSettings().password,
			);
		});
	});
});
