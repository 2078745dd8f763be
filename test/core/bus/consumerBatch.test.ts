import { afterEach, describe, expect, it } from 'vitest';

import type { ExecutionOutcome } from '../../../nodes/core/bus/ackPolicy';
import type { BatchOptions, ConsumerOptions } from '../../../nodes/core/bus/consumer';
import type { EsiLeapEvent } from '../../../nodes/core/events/types';
import {
	captureProperties,
	closeFakeConsumers,
	FAKE_CAPTURE,
	FAKE_QUEUE,
	type FakeChannel,
	startOnFakeBroker,
	until,
} from '../../helpers/fakeBroker';
import { withMessageId } from '../../helpers/fixtures';
import { deferred } from '../../helpers/objects';

/**
 * The ack path of batches (Executions: In Batches) on an in-memory broker: which messages share an
 * execution, and what each gets back after the batch's outcome. The same on a real RabbitMQ:
 * test/integration/busBatches.test.ts.
 */
afterEach(closeFakeConsumers);

const ORIGIN = {
	'x-esi-leap-original-exchange': 'openstack',
	'x-esi-leap-original-routing-key': FAKE_CAPTURE.amqp.routing_key,
};
const bodyOf = (id: string) => withMessageId(FAKE_CAPTURE, id);
const sendOn = (channel: FakeChannel, id: string, headers: Record<string, unknown> = {}) =>
	channel.deliver(
		bodyOf(id),
		captureProperties(FAKE_CAPTURE, headers),
		FAKE_CAPTURE.amqp.routing_key,
	);

async function startBatches(
	batch: BatchOptions,
	batchOutcome: (events: EsiLeapEvent[]) => Promise<ExecutionOutcome>,
	extra: Partial<ConsumerOptions> = {},
) {
	const batches: string[][] = [];
	const awaited: boolean[] = [];
	const started = await startOnFakeBroker(async () => ({ kind: 'failed', error: 'alone' }), {
		batch,
		deliverBatch: (events, delivery) => {
			batches.push(events.map((event) => event.message_id!));
			awaited.push(delivery.awaitOutcome);
			return batchOutcome(events);
		},
		...extra,
	});
	const send = (id: string, headers?: Record<string, unknown>) =>
		sendOn(started.channel, id, headers);
	return { ...started, send, batches, awaited };
}

const succeed = async (): Promise<ExecutionOutcome> => ({ kind: 'succeeded' });

/** m1 and m2 gathered into one batch whose execution runs until the test settles `execution`. */
async function batchOfTwoRunning() {
	const execution = deferred<ExecutionOutcome>();
	const started = await startBatches({ maxItems: 2, maxWaitMs: 60_000 }, () => execution.promise);
	started.send('m1');
	started.send('m2');
	await until(() => expect(started.batches).toHaveLength(1));
	return { execution, started };
}

/** m1 and m2 ran as one batch that failed (each then sent to run alone); later batches succeed. */
async function afterFailedBatch() {
	let calls = 0;
	const started = await startBatches({ maxItems: 2, maxWaitMs: 30 }, async () =>
		++calls === 1 ? { kind: 'failed', error: 'boom' } : { kind: 'succeeded' },
	);
	started.send('m1');
	started.send('m2');
	await started.settled();
	return started;
}

describe('BusConsumer in batches', () => {
	it('runs up to maxItems messages as one execution in delivery order and acks each after it succeeded', async () => {
		const started = await startBatches({ maxItems: 3, maxWaitMs: 60_000 }, succeed);
		const tags = ['m1', 'm2', 'm3', 'm4'].map((id) => started.send(id));
		await until(() => expect(started.channel.acks).toHaveLength(3));
		expect(started.batches).toEqual([['m1', 'm2', 'm3']]);
		expect(started.awaited).toEqual([true]);
		expect([...started.channel.acks].sort()).toEqual(tags.slice(0, 3));
		expect(started.stats).toMatchObject({ batches: 1, emitted: 3, acked: 3 });
		expect(started.deliveries).toEqual([]);
	});

	it('runs a smaller batch once maxWaitMs passed since its first message', async () => {
		const started = await startBatches({ maxItems: 10, maxWaitMs: 30 }, succeed);
		started.send('m1');
		started.send('m2');
		await started.settled();
		expect(started.batches).toEqual([['m1', 'm2']]);
		expect(started.channel.acks).toHaveLength(2);
	});

	it('raises the prefetch to two batches', async () => {
		const started = await startBatches({ maxItems: 30, maxWaitMs: 30 }, succeed, { prefetch: 10 });
		expect(started.channel.prefetchCount).toBe(60);
		const small = await startBatches({ maxItems: 3, maxWaitMs: 30 }, succeed, { prefetch: 10 });
		expect(small.channel.prefetchCount).toBe(10);
	});

	it('a failed batch republishes each message to run alone, retry count untouched, and acks the originals', async () => {
		const started = await startBatches({ maxItems: 2, maxWaitMs: 60_000 }, async () => ({
			kind: 'failed',
			error: 'boom',
		}));
		started.send('m1');
		started.send('m2');
		await started.settled();
		expect(started.channel.published.map((copy) => [copy.exchange, copy.routingKey])).toEqual([
			['', FAKE_QUEUE],
			['', FAKE_QUEUE],
		]);
		expect(started.channel.published.map((copy) => copy.properties.headers)).toEqual([
			{ ...ORIGIN, 'x-esi-leap-unbatched': true },
			{ ...ORIGIN, 'x-esi-leap-unbatched': true },
		]);
		expect(started.channel.published[0].body.equals(bodyOf('m1'))).toBe(true);
		expect(started.channel.acks).toHaveLength(2);
		expect(started.stats).toMatchObject({ unbatched: 2, retried: 0, deadLettered: 0 });
		expect(started.logs('info')).toContainEqual([
			'Requeued a message of a batch that did not succeed, to run on its own',
			{ reason: 'batch of 2: execution failed: boom' },
		]);
	});

	it('a batch of one that failed is retried as a single message would be', async () => {
		const started = await startBatches({ maxItems: 5, maxWaitMs: 20 }, async () => ({
			kind: 'failed',
			error: 'boom',
		}));
		started.send('m1');
		await started.settled();
		expect(started.channel.published.map((copy) => copy.properties.headers)).toEqual([
			{ ...ORIGIN, 'x-esi-leap-retries': 1 },
		]);
	});

	it('a retried or unbatched message runs alone, not in a batch', async () => {
		const started = await startBatches({ maxItems: 5, maxWaitMs: 20 }, succeed);
		started.send('unbatched', { 'x-esi-leap-unbatched': true });
		started.send('retried', { 'x-esi-leap-retries': 1 });
		await started.settled();
		expect(started.batches).toEqual([]);
		expect(started.deliveries).toEqual([
			{ awaitOutcome: true, attempt: 0 },
			{ awaitOutcome: true, attempt: 1 },
		]);
	});

	it('a redelivery that arrives while its batch runs waits for it, then is acked unrun if it succeeded', async () => {
		const { execution, started } = await batchOfTwoRunning();
		const again = started.send('m1');
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(started.channel.acks).toEqual([]);
		execution.resolve({ kind: 'succeeded' });
		await started.settled();
		expect(started.batches).toHaveLength(1);
		expect(started.channel.acks).toHaveLength(3);
		expect(started.channel.acks).toContain(again);
	});

	it('after a failed batch its copies run alone; a stale redelivery of an original (its ack lost) is acked unrun', async () => {
		const started = await afterFailedBatch();
		expect(started.stats.unbatched).toBe(2);
		const stale = started.send('m1');
		await started.settled();
		expect(started.batches).toEqual([['m1', 'm2']]);
		expect(started.channel.published).toHaveLength(2);
		expect(started.channel.acks).toContain(stale);
		expect(started.stats).toMatchObject({ redeliveredAcked: 1, redeliveredSettled: 0 });
	});

	it('a batch that failed after its channel died: the redelivered copies are sent to run alone on that outcome, not run again in a batch', async () => {
		const { execution, started } = await batchOfTwoRunning();
		const first = started.channel;
		first.die();
		await until(() => expect(started.stats.reconnects).toBe(1));
		const second = started.broker.current;
		// Redelivered while the batch still runs: they wait for its outcome.
		const tags = [sendOn(second, 'm1'), sendOn(second, 'm2')];
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(second.acks).toEqual([]);
		execution.resolve({ kind: 'failed', error: 'boom' });
		await started.settled();
		expect(started.batches).toEqual([['m1', 'm2']]);
		expect(first.published).toEqual([]);
		expect(second.published.map((copy) => copy.properties.headers)).toEqual([
			{ ...ORIGIN, 'x-esi-leap-unbatched': true },
			{ ...ORIGIN, 'x-esi-leap-unbatched': true },
		]);
		expect(second.published.map((copy) => copy.body)).toEqual([bodyOf('m1'), bodyOf('m2')]);
		expect([...second.acks].sort()).toEqual(tags);
		expect(started.stats).toMatchObject({ redeliveredSettled: 2, unbatched: 2, batches: 1 });
	});

	it('two copies of one message gathering together run once', async () => {
		const started = await startBatches({ maxItems: 3, maxWaitMs: 30 }, succeed);
		const tags = [started.send('m1'), started.send('m1'), started.send('m2')];
		await started.settled();
		expect(started.batches).toEqual([['m1', 'm2']]);
		expect([...started.channel.acks].sort()).toEqual(tags);
		expect(started.stats.redeliveredAcked).toBe(1);
	});

	it('does not run a gathered batch whose channel died: the broker redelivers its messages, and the copy runs', async () => {
		const started = await startBatches({ maxItems: 10, maxWaitMs: 30 }, succeed);
		const first = started.channel;
		started.send('m1');
		first.die();
		await until(() => expect(started.stats.reconnects).toBe(1));
		// Redelivered while the first copy still gathers: it waits, sees that batch dropped, runs.
		const second = started.broker.current;
		const tag = sendOn(second, 'm1');
		await started.settled();
		expect(started.batches).toEqual([['m1']]);
		expect(first.acks).toEqual([]);
		expect(second.acks).toEqual([tag]);
		expect(started.logs('error')).toEqual([]);
		expect(started.stats.redeliveredAcked).toBe(0);
	});

	it('the copy a failed batch sends to run alone does run, on its own', async () => {
		const started = await afterFailedBatch();
		const [copy] = started.channel.published;
		started.channel.deliver(copy.body, copy.properties, FAKE_CAPTURE.amqp.routing_key);
		await started.settled();
		expect(started.deliveries).toEqual([{ awaitOutcome: true, attempt: 0 }]);
		expect(started.stats.redeliveredAcked).toBe(0);
	});

	it('close while a batch gathers does not run it: its messages stay unacked for the broker to redeliver', async () => {
		// The channel is alive and the messages in flight: only the closing consumer forbids the run.
		const started = await startBatches({ maxItems: 10, maxWaitMs: 60_000 }, succeed);
		started.send('m1');
		started.send('m2');
		await until(() => expect(started.consumer.inFlightCount).toBe(2));
		await started.consumer.close(200);
		expect(started.batches).toEqual([]);
		// Released at once, not held until the drain timeout.
		expect(started.consumer.inFlightCount).toBe(0);
		expect(started.logs('warn')).toEqual([]);
		expect(started.channel.acks).toEqual([]);
		expect(started.channel.published).toEqual([]);
		expect(started.stats.batches).toBe(0);
	});

	it.each(['succeeded', 'duplicate'] as const)(
		'acks a redelivery of a message whose batch %s (n8n ran it, or skipped it as a duplicate) without running it again',
		async (kind) => {
			const started = await startBatches({ maxItems: 2, maxWaitMs: 30 }, async () => ({ kind }));
			started.send('m1');
			started.send('m2');
			await started.settled();
			const again = started.send('m1');
			await started.settled();
			expect(started.batches).toEqual([['m1', 'm2']]);
			expect(started.channel.acks).toHaveLength(3);
			expect(started.channel.acks).toContain(again);
			expect(started.stats.redeliveredAcked).toBe(1);
		},
	);

	it('forgets the message ids of a batch once it ended, succeeded or failed (memory stays bounded)', async () => {
		let calls = 0;
		const started = await startBatches({ maxItems: 2, maxWaitMs: 30 }, async () =>
			++calls === 1 ? { kind: 'succeeded' } : { kind: 'failed', error: 'boom' },
		);
		started.send('m1');
		started.send('m2');
		await started.settled();
		started.send('m3');
		started.send('m4');
		await started.settled();
		expect(started.batches).toEqual([
			['m1', 'm2'],
			['m3', 'm4'],
		]);
		// No output shows the running executions; without the clean-up every id stays there.
		expect(started.consumer['outcomes'].runningCount).toBe(0);
	});

	it('in immediately mode never times a batch out: nothing waits for its outcome', async () => {
		const started = await startBatches(
			{ maxItems: 2, maxWaitMs: 60_000 },
			() => new Promise<ExecutionOutcome>(() => undefined),
			{ policy: { mode: 'immediately', maxRetries: 2, onTimeout: 'retry' }, ackTimeoutMs: 20 },
		);
		started.send('m1');
		started.send('m2');
		await started.settled();
		await new Promise((resolve) => setTimeout(resolve, 60));
		expect(started.channel.acks).toHaveLength(2);
		expect(started.stats.timedOut).toBe(0);
		expect(started.logs('warn')).toEqual([]);
	});

	it('in immediately mode acks on receipt and does not wait for the batch', async () => {
		const never = new Promise<ExecutionOutcome>(() => undefined);
		const started = await startBatches({ maxItems: 2, maxWaitMs: 60_000 }, () => never, {
			policy: { mode: 'immediately', maxRetries: 2, onTimeout: 'retry' },
		});
		started.send('m1');
		started.send('m2');
		await started.settled();
		expect(started.channel.acks).toHaveLength(2);
		expect(started.batches).toEqual([['m1', 'm2']]);
		expect(started.awaited).toEqual([false]);
	});

	it('a batch without a completion signal is timed out and its messages run alone', async () => {
		const started = await startBatches(
			{ maxItems: 2, maxWaitMs: 60_000 },
			() => new Promise<ExecutionOutcome>(() => undefined),
			{ ackTimeoutMs: 20 },
		);
		started.send('m1');
		started.send('m2');
		await started.settled();
		expect(started.stats).toMatchObject({ timedOut: 1, unbatched: 2 });
	});
});
