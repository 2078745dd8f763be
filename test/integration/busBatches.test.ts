import { randomUUID } from 'node:crypto';
import type { IDataObject } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { useOsloTestBed } from '../helpers/useOsloTestBed';
import { loadCapture, withMessageId } from '../helpers/fixtures';
import {
	brokerSettings,
	drainQueue,
	messageCount,
	publishCapture,
	waitFor,
} from '../helpers/rabbit';
import { TcpProxy } from '../helpers/tcpProxy';
import type { Emission, FakeTrigger } from '../helpers/triggerContext';

/**
 * Message Bus mode, Executions "In Batches" (issue 14), on the real broker: each guarantee the
 * README states for batches. Shared broker, unique names.
 */

const capture = loadCapture('amqp-lease-fulfill-end');
const idsOf = (emission: Emission) => emission.items.map((item) => item.json.message_id as string);
const inBatches = (batch: IDataObject = {}, options: IDataObject = {}): IDataObject => ({
	executionPer: 'batch',
	batchSize: 100,
	batchMaxWaitMs: 300,
	...batch,
	options: { retryDelays: '0', ...options },
});

describe('Message Bus mode in batches (real broker)', () => {
	const live = useOsloTestBed({ exchange: 'openstack.batches', queue: 'n8n-esi-leap.batches' });
	const { triggers } = live;
	const bed = () => live.bed;

	const publish = (count: number): string[] =>
		Array.from({ length: count }, () => {
			const id = randomUUID();
			publishCapture(bed().channel, bed().exchange, capture, withMessageId(capture, id));
			return id;
		});

	/** Declares and binds the trigger's queue, then leaves it with nothing consuming it. */
	async function declareQueue(parameters: IDataObject) {
		await triggers.deactivate(await triggers.activate(bed(), parameters));
	}

	/** Every message id that ran in an execution that succeeded, with how often. */
	function succeededRuns(fake: FakeTrigger, failed: (emission: Emission) => boolean) {
		const runs = new Map<string, number>();
		for (const emission of fake.emissions) {
			if (emission.fate !== 'executed' || failed(emission)) continue;
			for (const id of idsOf(emission)) runs.set(id, (runs.get(id) ?? 0) + 1);
		}
		return runs;
	}

	it('a backlog becomes executions of Batch Size items in queue order, the prefetch raised to cover a batch', async () => {
		// The default Prefetch (10) would cap every batch at 10 items.
		await declareQueue(inBatches());
		const ids = publish(250);
		await waitFor(
			async () => (await messageCount(bed().channel, bed().queue)) === 250,
			'the backlog',
		);
		const fake = await triggers.activate(bed(), inBatches());
		await waitFor(() => fake.emissions.flatMap(idsOf).length === 250, 'every event');
		await waitFor(
			async () => (await messageCount(bed().channel, bed().queue)) === 0,
			'the queue to empty',
		);
		expect(fake.emissions.map((emission) => emission.items.length)).toEqual([100, 100, 50]);
		expect(fake.emissions.flatMap(idsOf)).toEqual(ids);
		expect(fake.emissions.every((emission) => emission.hadDonePromise)).toBe(true);
		expect(new Set(fake.emissions.map((emission) => emission.deduplicationKey)).size).toBe(3);
	});

	it('a quiet stream: an event alone runs once Max Batch Wait has passed, not later', async () => {
		const fake = await triggers.activate(bed(), inBatches({ batchMaxWaitMs: 400 }));
		const publishedAt = Date.now();
		const [id] = publish(1);
		await waitFor(() => fake.emissions.length === 1, 'the lone event', 5_000);
		const waited = Date.now() - publishedAt;
		expect(idsOf(fake.emissions[0])).toEqual([id]);
		expect(waited).toBeGreaterThanOrEqual(350);
		expect(waited).toBeLessThan(400 + 1_500);
	});

	it('Acknowledge Immediately: acks on receipt and emits the batch without waiting for it', async () => {
		const fake = await triggers.activate(
			bed(),
			{ ...inBatches(), acknowledge: 'immediately' },
			{
				execute: () => 'hang',
			},
		);
		const ids = publish(3);
		await waitFor(() => fake.emissions.length === 1, 'the batch');
		expect(idsOf(fake.emissions[0])).toEqual(ids);
		expect(fake.emissions[0].hadDonePromise).toBe(false);
		await waitFor(
			async () => (await messageCount(bed().channel, bed().queue)) === 0,
			'acked while the execution still runs',
		);
		await triggers.deactivate(fake);
		expect(await messageCount(bed().channel, bed().queue)).toBe(0);
	});

	it("acks a batch's messages only after its execution succeeded", async () => {
		let release = false;
		const fake = await triggers.activate(bed(), inBatches({}, { closeTimeoutSeconds: 0.2 }), {
			execute: () => (release ? 'succeed' : 'hang'),
		});
		publish(20);
		await waitFor(() => fake.emissions.length === 1, 'the batch');
		expect(fake.emissions[0].items).toHaveLength(20);
		// Deactivated while the execution runs: nothing was acked, the broker keeps all 20.
		await triggers.deactivate(fake);
		await waitFor(
			async () => (await messageCount(bed().channel, bed().queue)) === 20,
			'the 20 requeued',
		);

		release = true;
		const second = await triggers.activate(bed(), inBatches());
		await waitFor(() => second.emissions.flatMap(idsOf).length === 20, 'the rerun');
		await waitFor(async () => (await messageCount(bed().channel, bed().queue)) === 0, 'the acks');
		fake.releaseHanging();
	});

	it('a poison message after a failed batch: its neighbours run alone once, it alone is retried and dead-lettered with its own count', async () => {
		const fake = await triggers.activate(
			bed(),
			inBatches({ batchMaxWaitMs: 1_000 }, { maxRetries: 2 }),
			{ execute: (_json, emission) => (idsOf(emission).includes(poison) ? 'fail' : 'succeed') },
		);
		const ids = publish(5);
		const poison = ids[2];
		await waitFor(
			async () => (await messageCount(bed().channel, `${bed().queue}.dead`)) === 1,
			'the dead letter',
			15_000,
		);
		await waitFor(
			async () => (await messageCount(bed().channel, bed().queue)) === 0,
			'the queue to empty',
		);

		const [batch, ...alone] = fake.emissions;
		expect(idsOf(batch)).toEqual(ids);
		expect(alone.every((emission) => emission.items.length === 1)).toBe(true);
		const healthy = ids.filter((id) => id !== poison);
		const ran = succeededRuns(fake, (emission) => idsOf(emission).includes(poison));
		expect(Object.fromEntries(ran)).toEqual(Object.fromEntries(healthy.map((id) => [id, 1])));
		// Runs alone: first without a retry (the batch failure is not counted), then 2 retries.
		expect(
			alone
				.filter((emission) => idsOf(emission)[0] === poison)
				.map((emission) => emission.deduplicationKey),
		).toEqual([
			`wf-1:node-1:${poison}`,
			`wf-1:node-1:${poison}:retry-1`,
			`wf-1:node-1:${poison}:retry-2`,
		]);
		const [dead] = await drainQueue(bed().channel, `${bed().queue}.dead`);
		expect(JSON.parse(JSON.parse(dead.content.toString())['oslo.message']).message_id).toBe(poison);
		expect(dead.properties.headers).toMatchObject({ 'x-esi-leap-retries': 2 });
	});

	async function throughProxy(execute: () => 'hang' | 'succeed') {
		live.proxy = new TcpProxy(brokerSettings().host, brokerSettings().port);
		await live.proxy.start();
		return await triggers.activate(bed(), inBatches(), { execute }, live.proxy.port);
	}
	const reconnected = (fake: FakeTrigger) =>
		waitFor(
			() => fake.logs.some((line) => /Reconnected to the message bus/.test(line.message)),
			'the reconnect',
		);

	/** Each event ran in exactly one execution that succeeded; the queue is empty. */
	async function expectEachRanOnce(fake: FakeTrigger, ids: string[]) {
		await waitFor(() => fake.emissions.flatMap(idsOf).includes(ids[ids.length - 1]), 'the last');
		await waitFor(
			async () => (await messageCount(bed().channel, bed().queue)) === 0,
			'the queue to empty',
		);
		await new Promise((resolve) => setTimeout(resolve, 500));
		const ran = succeededRuns(fake, () => false);
		expect(Object.fromEntries(ran)).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));
	}

	it('a batch redelivered after a connection loss, while its execution still runs, waits for it and does not run again', async () => {
		let hang = true;
		const fake = await throughProxy(() => (hang ? 'hang' : 'succeed'));
		const first = publish(5);
		await waitFor(() => fake.emissions.length === 1, 'the first batch');
		// The connection goes while the batch runs: its acks can no longer be sent.
		live.proxy!.cutAll();
		await reconnected(fake);
		hang = false;
		const later = publish(2);
		await new Promise((resolve) => setTimeout(resolve, 500));
		fake.releaseHanging('succeed');
		await expectEachRanOnce(fake, [...first, ...later]);
		expect(idsOf(fake.emissions[1])).toEqual(later);
	});

	it('a batch redelivered after a connection loss, in another grouping, does not run again the events that succeeded', async () => {
		let hang = true;
		const fake = await throughProxy(() => (hang ? 'hang' : 'succeed'));
		const first = publish(5);
		await waitFor(() => fake.emissions.length === 1, 'the first batch');
		live.proxy!.setRefusing(true);
		live.proxy!.cutAll();
		// The execution succeeds after its channel died: the acks are lost, the broker redelivers.
		hang = false;
		fake.releaseHanging('succeed');
		const later = publish(2);
		await waitFor(
			async () => (await messageCount(bed().channel, bed().queue)) === 7,
			'all 7 in the queue',
		);
		live.proxy!.setRefusing(false);
		await reconnected(fake);
		// n8n's key for the batch of 7 is new: only the consumer's memory keeps the 5 from rerunning.
		await expectEachRanOnce(fake, [...first, ...later]);
		expect(idsOf(fake.emissions[1])).toEqual(later);
	});
});
