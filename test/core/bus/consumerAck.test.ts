import { afterEach, describe, expect, it } from 'vitest';

import type { ExecutionOutcome } from '../../../nodes/core/bus/ackPolicy';
import type { MessageProperties } from '../../../nodes/core/bus/broker';
import type { ConsumerOptions } from '../../../nodes/core/bus/consumer';
import {
	captureProperties,
	closeFakeConsumers,
	type Deliver,
	FAKE_CAPTURE,
	FAKE_QUEUE,
	type FakeChannel,
	startOnFakeBroker,
	until,
} from '../../helpers/fakeBroker';
import { withMessageId } from '../../helpers/fixtures';
import { deferred } from '../../helpers/objects';

/**
 * The ack path of the consumer (where a message is acked, republished for a retry or
 * dead-lettered) on an in-memory broker: what goes back to the broker for each outcome. The same
 * paths on a real RabbitMQ: test/integration/busConsumer.test.ts.
 */
const capture = FAKE_CAPTURE;
const QUEUE = FAKE_QUEUE;
const DEAD = `${QUEUE}.dead`;
const NOW = Date.parse('2026-12-01T12:00:00.000Z');
/** Where ESI Leap published the message, kept on every copy. */
const ORIGIN = {
	'x-esi-leap-original-exchange': 'openstack',
	'x-esi-leap-original-routing-key': capture.amqp.routing_key,
};

afterEach(closeFakeConsumers);

const start = (deliver: Deliver, extra: Partial<ConsumerOptions> = {}, retryDelaysMs?: number[]) =>
	startOnFakeBroker(deliver, { now: () => NOW, ...extra }, retryDelaysMs);

/** The one message the consumer published: to `queue` via the default exchange, body unchanged. */
function onlyCopy(channel: FakeChannel, queue: string, body = capture.body): MessageProperties {
	expect(channel.published.map((message) => [message.exchange, message.routingKey])).toEqual([
		['', queue],
	]);
	expect(channel.published[0].body.equals(body)).toBe(true);
	return channel.published[0].properties;
}

/** Executions that run until the test settles them: `running[n]` is the n-th one started. */
function heldExecutions() {
	const running: Array<ReturnType<typeof deferred<ExecutionOutcome>>> = [];
	const deliver: Deliver = () => {
		const execution = deferred<ExecutionOutcome>();
		running.push(execution);
		return execution.promise;
	};
	return { running, deliver };
}

const outcome =
	(result: ExecutionOutcome): Deliver =>
	async () =>
		result;

describe('BusConsumer ack path', () => {
	it('acks a succeeded execution on the delivering channel and publishes nothing', async () => {
		const { channel, send, settled, deliveries, stats } = await start(
			outcome({ kind: 'succeeded' }),
		);
		const tag = send();
		await settled();
		expect(channel.acks).toEqual([tag]);
		expect(channel.published).toEqual([]);
		expect(deliveries).toEqual([{ awaitOutcome: true, attempt: 0 }]);
		expect(stats).toMatchObject({ received: 1, emitted: 1, acked: 1, retried: 0, deadLettered: 0 });
	});

	it('acks a duplicate that n8n skipped, warning that the earlier execution it stands for may not have succeeded', async () => {
		const { channel, send, settled, logs, stats } = await start(outcome({ kind: 'duplicate' }));
		const tag = send();
		await settled();
		expect(channel.acks).toEqual([tag]);
		expect(channel.published).toEqual([]);
		expect(stats.skippedAsDuplicate).toBe(1);
		const [warning] = logs('warn');
		const messageId = capture.decoded['oslo.message'].message_id;
		// n8n's text log drops the metadata: the ids must be in the text.
		expect(warning[0]).toMatch(
			new RegExp(
				`^n8n skipped a message as a duplicate \\(message ${messageId}, fulfill\\.end of lease [0-9a-f-]{36}\\): .* retry that execution`,
			),
		);
		expect(warning[1]).toMatchObject({
			messageId: capture.decoded['oslo.message'].message_id,
			attempt: 0,
		});
	});

	it('retries a failed execution as a byte-exact copy at the tail of the queue counting x-esi-leap-retries, then acks the original', async () => {
		const { channel, send, settled, stats, logs } = await start(
			outcome({ kind: 'failed', error: 'boom' }),
		);
		const tag = send({ 'x-custom': 'kept' });
		await settled();
		const copy = onlyCopy(channel, QUEUE);
		expect(copy.contentType).toBe('application/json');
		expect(copy.expiration).toBeUndefined();
		expect(copy.headers).toEqual({
			'x-custom': 'kept',
			...ORIGIN,
			'x-esi-leap-retries': 1,
		});
		expect(channel.acks).toEqual([tag]);
		expect(stats).toMatchObject({ acked: 1, retried: 1, deadLettered: 0 });
		expect(logs('info')).toContainEqual([
			'Requeued a message whose execution did not succeed',
			{ attempt: 1, maxRetries: 2, retryInMs: 0, reason: 'execution failed: boom' },
		]);
	});

	it('hands the retry count to the workflow and keeps the original origin on later retries', async () => {
		const { channel, send, settled, deliveries } = await start(
			outcome({ kind: 'failed', error: 'boom' }),
		);
		send({
			'x-esi-leap-retries': 1,
			'x-esi-leap-original-exchange': 'openstack',
			'x-esi-leap-original-routing-key': 'esi_leap_versioned_notifications.error',
		});
		await settled();
		expect(deliveries).toEqual([{ awaitOutcome: true, attempt: 1 }]);
		expect(channel.published[0].properties.headers).toEqual({
			'x-esi-leap-original-exchange': 'openstack',
			'x-esi-leap-original-routing-key': 'esi_leap_versioned_notifications.error',
			'x-esi-leap-retries': 2,
		});
	});

	it('dead-letters after the last retry with kind, reason, origin and time, then acks', async () => {
		const { channel, send, settled, stats, logs } = await start(
			outcome({ kind: 'failed', error: 'boom' }),
		);
		const tag = send({ 'x-esi-leap-retries': 2 });
		await settled();
		expect(logs('warn')).toEqual([
			[
				'Dead-lettered a message after its retries',
				{ queue: DEAD, reason: 'execution failed: boom (after 2 retries)' },
			],
		]);
		expect(onlyCopy(channel, DEAD).headers).toEqual({
			'x-esi-leap-retries': 2,
			'x-esi-leap-dead-letter-kind': 'failed',
			'x-esi-leap-dead-letter-reason': 'execution failed: boom (after 2 retries)',
			...ORIGIN,
			'x-esi-leap-dead-lettered-at': '2026-12-01T12:00:00.000Z',
		});
		expect(channel.acks).toEqual([tag]);
		expect(stats).toMatchObject({ acked: 1, retried: 0, deadLettered: 1 });
	});

	it('keeps a dead-letter reason within 500 characters', async () => {
		const { channel, send, settled } = await start(
			outcome({ kind: 'failed', error: 'x'.repeat(600) }),
		);
		send({ 'x-esi-leap-retries': 2 });
		await settled();
		const reason = channel.published[0].properties.headers['x-esi-leap-dead-letter-reason'];
		expect(reason).toBe(`execution failed: ${'x'.repeat(482)}`);
	});

	it('acks a failed execution without a retry when acking after the execution finishes', async () => {
		const { channel, send, settled } = await start(outcome({ kind: 'failed', error: 'boom' }), {
			policy: { mode: 'executionFinishes', maxRetries: 2, onTimeout: 'retry' },
		});
		const tag = send();
		await settled();
		expect(channel.acks).toEqual([tag]);
		expect(channel.published).toEqual([]);
	});

	it('retries an execution n8n could not start, with the error as the reason', async () => {
		const { channel, send, settled } = await start(
			async () => {
				throw new Error('workflow is not active');
			},
			{ policy: { mode: 'executionFinishes', maxRetries: 0, onTimeout: 'retry' } },
		);
		send();
		await settled();
		expect(channel.published.map((message) => message.routingKey)).toEqual([DEAD]);
		expect(channel.published[0].properties.headers['x-esi-leap-dead-letter-reason']).toBe(
			'execution not started: workflow is not active (after 0 retries)',
		);
	});

	it('in immediately mode acks before the execution ends and never waits for it', async () => {
		const never = deferred<ExecutionOutcome>();
		const { channel, send, settled, deliveries } = await start(() => never.promise, {
			policy: { mode: 'immediately', maxRetries: 2, onTimeout: 'retry' },
		});
		const tag = send({ 'x-esi-leap-retries': 1 });
		await settled();
		expect(channel.acks).toEqual([tag]);
		expect(deliveries).toEqual([{ awaitOutcome: false, attempt: 1 }]);
	});

	it('in immediately mode never times an execution out: nothing waits for its outcome', async () => {
		const { channel, send, settled, deliveries, stats, logs } = await start(
			() => new Promise<ExecutionOutcome>(() => undefined),
			{ policy: { mode: 'immediately', maxRetries: 2, onTimeout: 'retry' }, ackTimeoutMs: 20 },
		);
		const tag = send();
		await settled();
		await new Promise((resolve) => setTimeout(resolve, 60));
		expect(channel.acks).toEqual([tag]);
		expect(deliveries).toEqual([{ awaitOutcome: false, attempt: 0 }]);
		expect(stats.timedOut).toBe(0);
		expect(logs('warn')).toEqual([]);
	});

	it('in immediately mode an execution that could not start is not retried (already acked)', async () => {
		const { channel, send, settled, stats } = await start(
			async () => {
				throw new Error('no');
			},
			{ policy: { mode: 'immediately', maxRetries: 2, onTimeout: 'retry' } },
		);
		const tag = send();
		await settled();
		await new Promise((resolve) => setImmediate(resolve));
		expect(channel.acks).toEqual([tag]);
		expect(channel.published).toEqual([]);
		expect(stats.retried).toBe(0);
	});

	it('on a lost completion signal retries or acks as onTimeout says', async () => {
		const never = () => new Promise<ExecutionOutcome>(() => undefined);
		const retrying = await start(never, { ackTimeoutMs: 20 });
		retrying.send();
		await retrying.settled();
		expect(retrying.stats.timedOut).toBe(1);
		expect(retrying.logs('warn')).toContainEqual([
			'No completion signal for an execution within the ack timeout',
			{ messageId: capture.decoded['oslo.message'].message_id, ackTimeoutMs: 20 },
		]);
		expect(retrying.channel.published[0].properties.headers['x-esi-leap-retries']).toBe(1);
		await retrying.consumer.close(100);

		const acking = await start(never, {
			ackTimeoutMs: 20,
			policy: { mode: 'executionSucceeds', maxRetries: 2, onTimeout: 'ack' },
		});
		const tag = acking.send();
		await acking.settled();
		expect(acking.channel.acks).toEqual([tag]);
		expect(acking.channel.published).toEqual([]);
	});

	it('dead-letters a malformed message at once, byte for byte, without running the workflow', async () => {
		const reports: unknown[] = [];
		const { channel, send, settled, deliveries, stats, logs } = await start(
			outcome({ kind: 'succeeded' }),
			{
				onMalformed: (report) => reports.push(report),
			},
		);
		const body = Buffer.from('{"oslo.version": "2.0", "oslo.message": "{not json"}');
		const tag = send({}, body);
		await settled();
		expect(deliveries).toEqual([]);
		expect(onlyCopy(channel, DEAD, body).headers['x-esi-leap-dead-letter-kind']).toBe('malformed');
		expect(channel.acks).toEqual([tag]);
		expect(stats).toMatchObject({ malformed: 1, deadLettered: 1, acked: 1 });
		expect(reports).toMatchObject([{ deadLetterQueue: DEAD, bodyBytes: body.length }]);
		const [report] = reports as Array<{ reason: string }>;
		expect(report.reason).toMatch(/^inner_not_json: /);
		expect(channel.published[0].properties.headers['x-esi-leap-dead-letter-reason']).toBe(
			report.reason,
		);
		expect(logs('warn')).toEqual([['Malformed message on the ESI Leap topic', report]]);
	});

	it('acks and counts a notification of an unknown event type without running or dead-lettering it', async () => {
		const { channel, send, settled, deliveries, stats } = await start(
			outcome({ kind: 'succeeded' }),
		);
		const original = capture.decoded['oslo.message'].event_type;
		const tag = send(
			{},
			Buffer.from(capture.body.toString('utf8').replace(original, 'esi_leap.offer.create.end')),
		);
		await settled();
		expect(deliveries).toEqual([]);
		expect(channel.acks).toEqual([tag]);
		expect(channel.published).toEqual([]);
		expect(stats).toMatchObject({ unsupported: 1, malformed: 0, acked: 1 });
	});

	it('acks without running an event the selection leaves out', async () => {
		const { channel, send, settled, deliveries, stats } = await start(
			outcome({ kind: 'succeeded' }),
			{
				select: () => false,
			},
		);
		const tag = send();
		await settled();
		expect(deliveries).toEqual([]);
		expect(channel.acks).toEqual([tag]);
		expect(stats.filtered).toBe(1);
	});

	it('sends a retry to the retry queue of its delay, declared on first use, with the delay as expiration', async () => {
		const { channel, send, settled } = await start(
			outcome({ kind: 'failed', error: 'boom' }),
			{},
			[10_000, 60_000],
		);
		// Three messages (the consumer settles a second copy of one message on its first outcome).
		for (const [index, retries] of [0, 0, 1].entries()) {
			send({ 'x-esi-leap-retries': retries }, withMessageId(capture, `message-${index}`));
			await settled();
		}
		expect(channel.published.map((message) => message.routingKey)).toEqual([
			`${QUEUE}.retry.10s`,
			`${QUEUE}.retry.10s`,
			`${QUEUE}.retry.60s`,
		]);
		expect(channel.published.map((message) => message.properties.expiration)).toEqual([
			'10000',
			'10000',
			'60000',
		]);
		expect(channel.published.every((message) => message.properties.deliveryMode === 2)).toBe(true);
		expect(channel.declaredQueues.filter((name) => name.includes('.retry.'))).toEqual([
			`${QUEUE}.retry.10s`,
			`${QUEUE}.retry.60s`,
		]);
		expect(channel.acks).toHaveLength(3);
	});

	it('declares its queue and dead-letter queue durable, and a retry queue that dead-letters back to the queue', async () => {
		const { broker, send, settled } = await start(outcome({ kind: 'failed', error: 'boom' }), {}, [
			10_000,
		]);
		send();
		await settled();
		const durable = { durable: true, exclusive: false, autoDelete: false };
		expect(Object.fromEntries(broker.queueOptions)).toEqual({
			[QUEUE]: durable,
			[DEAD]: durable,
			[`${QUEUE}.retry.10s`]: {
				...durable,
				arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': QUEUE },
			},
		});
	});

	it('when the broker refuses a retry queue, the message is not acked and later retries go straight back to the queue', async () => {
		const failing = outcome({ kind: 'failed', error: 'boom' });
		const started = await start(failing, {}, [10_000]);
		started.broker.refusedQueues.add(`${QUEUE}.retry.10s`);
		const first = started.channel;
		started.send();
		await started.settled();
		expect(first.acks).toEqual([]);
		expect(first.published).toEqual([]);
		expect(started.logs('error')).toEqual([
			[
				'Could not declare the retry queue; retries of this delay will not wait',
				{
					queue: `${QUEUE}.retry.10s`,
					error: `PRECONDITION_FAILED - inequivalent arg for '${QUEUE}.retry.10s'`,
				},
			],
		]);

		await until(() => expect(started.consumer.stats.reconnects).toBe(1));
		const second = started.broker.current;
		const tag = second.deliver(
			capture.body,
			captureProperties(capture, {}),
			capture.amqp.routing_key,
		);
		await started.settled();
		expect(
			second.published.map((message) => [message.routingKey, message.properties.expiration]),
		).toEqual([[QUEUE, undefined]]);
		expect(second.acks).toEqual([tag]);
	});

	it('acks only on the channel that delivered: an outcome after that channel died is dropped, and the next channel acks only its own', async () => {
		const { running, deliver } = heldExecutions();
		const started = await start(deliver);
		const first = started.channel;
		started.send();
		await until(() => expect(running).toHaveLength(1));
		first.die(new Error('connection reset'));
		await until(() => expect(started.consumer.stats.reconnects).toBe(1));
		const second = started.broker.current;
		expect(second).not.toBe(first);
		// The new channel's first delivery (another message) has the same tag (1) as the dead
		// channel's message.
		const tag = second.deliver(
			withMessageId(capture, 'another-message'),
			captureProperties(capture, {}),
			capture.amqp.routing_key,
		);
		expect(tag).toBe(1);
		await until(() => expect(running).toHaveLength(2));

		running[0].resolve({ kind: 'succeeded' });
		await until(() => expect(started.consumer.stats.orphaned).toBe(1));
		expect(first.acks).toEqual([]);
		expect(second.acks).toEqual([]);

		running[1].resolve({ kind: 'succeeded' });
		await started.settled();
		expect(second.acks).toEqual([1]);
		expect(started.stats.acked).toBe(1);
	});

	it('a retry whose channel died before the outcome is neither republished nor acked', async () => {
		const execution = deferred<ExecutionOutcome>();
		const started = await start(() => execution.promise);
		started.send();
		await until(() => expect(started.deliveries).toHaveLength(1));
		started.channel.die();
		execution.resolve({ kind: 'failed', error: 'boom' });
		await until(() => expect(started.consumer.stats.orphaned).toBe(1));
		expect(started.broker.channels.flatMap((channel) => channel.published)).toEqual([]);
		expect(started.broker.channels.flatMap((channel) => channel.acks)).toEqual([]);
	});

	describe("a copy RabbitMQ redelivers after the first copy's channel died", () => {
		/** One execution per call, finished by the test; the message is delivered on channel 1. */
		async function firstCopyRunning(headers: Record<string, unknown> = {}) {
			const { running, deliver } = heldExecutions();
			const started = await start(deliver);
			const first = started.channel;
			started.send(headers);
			await until(() => expect(running).toHaveLength(1));
			first.die(new Error('connection reset'));
			await until(() => expect(started.stats.reconnects).toBe(1));
			const second = started.broker.current;
			const redeliver = () =>
				second.deliver(capture.body, captureProperties(capture, headers), capture.amqp.routing_key);
			return { ...started, running, first, second, redeliver };
		}

		it('waits while the first execution runs, then is acked without running when it succeeded', async () => {
			const copy = await firstCopyRunning();
			const tag = copy.redeliver();
			await new Promise((resolve) => setTimeout(resolve, 20));
			expect(copy.second.acks).toEqual([]);
			copy.running[0].resolve({ kind: 'succeeded' });
			await copy.settled();
			expect(copy.running).toHaveLength(1);
			expect(copy.second.acks).toEqual([tag]);
			expect(copy.first.acks).toEqual([]);
			expect(copy.stats).toMatchObject({ redeliveredAcked: 1, redeliveredSettled: 0, emitted: 1 });
		});

		it("is retried on the first execution's failure (attempt 1, a new key), not run again under the same key", async () => {
			const copy = await firstCopyRunning({ 'x-custom': 'kept' });
			copy.running[0].resolve({ kind: 'failed', error: 'boom' });
			await until(() => expect(copy.stats.orphaned).toBe(1));
			const tag = copy.redeliver();
			await copy.settled();
			// Nothing ran for the copy: it got the retry its dead channel could not send.
			expect(copy.deliveries).toEqual([{ awaitOutcome: true, attempt: 0 }]);
			expect(copy.first.published).toEqual([]);
			expect(onlyCopy(copy.second, QUEUE).headers).toEqual({
				'x-custom': 'kept',
				...ORIGIN,
				'x-esi-leap-retries': 1,
			});
			expect(copy.second.acks).toEqual([tag]);
			expect(copy.stats).toMatchObject({ redeliveredSettled: 1, retried: 1, redeliveredAcked: 0 });
			expect(copy.logs('info')).toContainEqual([
				'A redelivered message whose execution had not succeeded when its channel died: settling it on that outcome',
				{
					messageId: capture.decoded['oslo.message'].message_id,
					action: 'retry',
					reason: 'execution failed: boom',
				},
			]);

			// The retry then runs as its own execution, with the attempt in its key.
			copy.second.deliver(
				copy.second.published[0].body,
				copy.second.published[0].properties,
				capture.amqp.routing_key,
			);
			await until(() => expect(copy.running).toHaveLength(2));
			expect(copy.deliveries[1]).toEqual({ awaitOutcome: true, attempt: 1 });
			copy.running[1].resolve({ kind: 'succeeded' });
			await copy.settled();
		});

		it('is dead-lettered when the first execution failed its last retry', async () => {
			const copy = await firstCopyRunning({ 'x-esi-leap-retries': 2 });
			copy.running[0].resolve({ kind: 'failed', error: 'boom' });
			await until(() => expect(copy.stats.orphaned).toBe(1));
			const tag = copy.redeliver();
			await copy.settled();
			expect(copy.running).toHaveLength(1);
			expect(onlyCopy(copy.second, DEAD)).toMatchObject({
				headers: { 'x-esi-leap-dead-letter-reason': 'execution failed: boom (after 2 retries)' },
			});
			expect(copy.second.acks).toEqual([tag]);
			expect(copy.stats).toMatchObject({ deadLettered: 1, redeliveredSettled: 1 });
		});

		it("is acked without running when the first copy's retry already reached the broker (its ack was lost)", async () => {
			const started = await start(outcome({ kind: 'failed', error: 'boom' }));
			started.send();
			await started.settled();
			expect(started.stats.retried).toBe(1);
			const tag = started.send();
			await started.settled();
			expect(started.deliveries).toHaveLength(1);
			expect(started.channel.published).toHaveLength(1);
			expect(started.channel.acks.at(-1)).toBe(tag);
			expect(started.stats).toMatchObject({ redeliveredAcked: 1, redeliveredSettled: 0 });
		});

		it('two copies of one message arriving together run it once', async () => {
			const execution = deferred<ExecutionOutcome>();
			const started = await start(() => execution.promise);
			const tags = [started.send(), started.send()];
			await new Promise((resolve) => setTimeout(resolve, 20));
			expect(started.deliveries).toHaveLength(1);
			execution.resolve({ kind: 'succeeded' });
			await started.settled();
			expect([...started.channel.acks].sort()).toEqual(tags);
		});
	});

	it('does not ack when the copy of a retry or a dead letter could not be published', async () => {
		const started = await start(outcome({ kind: 'failed', error: 'boom' }));
		started.broker.failPublish = true;
		started.send();
		started.send({ 'x-esi-leap-retries': 2 });
		await started.settled();
		expect(started.channel.acks).toEqual([]);
		expect(started.stats).toMatchObject({ acked: 0, retried: 0, deadLettered: 0 });
		expect(started.logs('error')).toContainEqual([
			'Could not settle a message; it will be redelivered',
			{ error: 'channel closed before the broker confirmed the message' },
		]);
	});
});
