import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel } from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { retryQueueName } from '../../nodes/core/bus/topology';
import { BusTriggers, closeOsloTestBed, openOsloTestBed } from '../helpers/busTestBed';
import { loadCapture, withMessageId } from '../helpers/fixtures';
import { drainQueue, messageCount, publishCapture, waitFor } from '../helpers/rabbit';
import type { FakeTrigger } from '../helpers/triggerContext';

/**
 * Retries wait (issue 12 item 5): a failed execution is retried after the configured delay, and
 * meanwhile the message sits in RabbitMQ (a durable retry queue per delay whose per-message TTL
 * dead-letters it back to the trigger's queue), not in n8n's memory. Shared broker, unique names.
 */

const capture = loadCapture('amqp-lease-fulfill-end');

describe('Message Bus retries wait in RabbitMQ (real broker)', () => {
	let connection: ChannelModel;
	let channel: Channel;
	let exchange: string;
	let queue: string;
	const triggers = new BusTriggers();
	const delays = [0.4, 1.2];

	beforeEach(async () => {
		({ connection, channel, exchange, queue } = await openOsloTestBed({
			exchange: 'openstack.retrydelay',
			queue: 'n8n-esi-leap.retrydelay',
		}));
	});

	afterEach(async () => {
		await triggers.closeAll();
		await closeOsloTestBed(
			{ connection, exchange, queue },
			delays.map((seconds) => retryQueueName(queue, seconds * 1000)),
		);
	});

	const runsOf = (fake: FakeTrigger, id: string) =>
		fake.emissions.filter((emission) => emission.json.message_id === id);

	it('retries after each configured delay, then dead-letters byte for byte', async () => {
		const id = randomUUID();
		const body = withMessageId(capture, id);
		const runAt: number[] = [];
		const fake = await triggers.activate(
			{ exchange, queue },
			{ options: { maxRetries: 2, retryDelays: delays.join(', ') } },
			{
				execute: (json) => {
					if (json.message_id !== id) return 'succeed';
					runAt.push(Date.now());
					return 'fail';
				},
			},
		);
		publishCapture(channel, exchange, capture, body);
		await waitFor(
			async () => (await messageCount(channel, `${queue}.dead`)) === 1,
			'the dead letter',
			15_000,
		);
		expect(runAt).toHaveLength(3);
		const [first, second] = [runAt[1] - runAt[0], runAt[2] - runAt[1]];
		expect(first).toBeGreaterThanOrEqual(delays[0] * 1000 - 20);
		expect(first).toBeLessThan(delays[0] * 1000 + 1_000);
		expect(second).toBeGreaterThanOrEqual(delays[1] * 1000 - 20);
		expect(second).toBeLessThan(delays[1] * 1000 + 1_000);
		expect(runsOf(fake, id).map((emission) => emission.deduplicationKey)).toEqual([
			`wf-1:node-1:${id}`,
			`wf-1:node-1:${id}:retry-1`,
			`wf-1:node-1:${id}:retry-2`,
		]);
		const [dead] = await drainQueue(channel, `${queue}.dead`);
		expect(Buffer.compare(dead.content, body)).toBe(0);
		expect(dead.properties.headers).toMatchObject({
			'x-esi-leap-retries': 2,
			'x-esi-leap-original-exchange': exchange,
			'x-esi-leap-original-routing-key': capture.amqp.routing_key,
		});
	});

	it('a waiting retry is kept by RabbitMQ across a deactivation and runs after its delay', async () => {
		const id = randomUUID();
		let failed = false;
		const wait = retryQueueName(queue, delays[1] * 1000);
		const execute = (json: { message_id?: unknown }) => {
			if (json.message_id !== id || failed) return 'succeed' as const;
			failed = true;
			return 'fail' as const;
		};
		const first = await triggers.activate(
			{ exchange, queue },
			{ options: { maxRetries: 1, retryDelays: String(delays[1]) } },
			{ execute },
		);
		publishCapture(channel, exchange, capture, withMessageId(capture, id));
		await waitFor(
			() => first.logs.some((line) => line.message.includes('Requeued a message')),
			'the first failure',
		);
		const waitingSince = Date.now();
		await triggers.deactivate(first);
		// Nothing of it in n8n: the trigger is gone, the copy waits in the durable retry queue.
		expect(await messageCount(channel, wait)).toBe(1);
		expect(await messageCount(channel, queue)).toBe(0);

		const second = await triggers.activate(
			{ exchange, queue },
			{ options: { maxRetries: 1, retryDelays: String(delays[1]) } },
			{ execute },
		);
		await waitFor(() => runsOf(second, id).length === 1, 'the retry after the delay', 10_000);
		expect(Date.now() - waitingSince).toBeGreaterThanOrEqual(delays[1] * 1000 - 50);
		expect(runsOf(second, id)[0].deduplicationKey).toBe(`wf-1:node-1:${id}:retry-1`);
		await waitFor(async () => (await messageCount(channel, queue)) === 0, 'the queue to empty');
		expect(await messageCount(channel, `${queue}.dead`)).toBe(0);
		expect(await messageCount(channel, wait)).toBe(0);
	});
});
