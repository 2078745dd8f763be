import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel } from 'amqplib';
import type { IDataObject } from 'n8n-workflow';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

import { RETRY_HEADER } from '../../nodes/core/bus/ackPolicy';
import { SHORT_EVENT_TYPES } from '../../nodes/core/events/types';
import { loadAmqpCaptures, withMessageId } from '../helpers/fixtures';
import type { AmqpCapture } from '../helpers/fixtures';
import {
	brokerSettings,
	drainQueue,
	messageCount,
	publishCapture,
	waitFor,
} from '../helpers/rabbit';
import { BusTriggers, closeOsloTestBed, openOsloTestBed } from '../helpers/busTestBed';
import { TcpProxy } from '../helpers/tcpProxy';
import type {
	ExecutionBehaviour,
	FakeTrigger,
	FakeTriggerOptions,
} from '../helpers/triggerContext';
import { generateBadMessages } from './badMessages';
import { expectNoSecrets } from './secrets';

/**
 * Fault tests of Message Bus mode at scale, through the node's trigger() with the n8n 2.x fake
 * on the real RabbitMQ: connection loss during a long stream, failing workflows at a fixed rate,
 * a corpus of bad messages. Every fake used here is scanned for the broker password at the end.
 */

const captures = loadAmqpCaptures();
const STREAM = 10_000;
const PREFETCH = 10;

/** A captured body with a fresh message id, and that id. */
function fresh(index: number): { id: string; capture: AmqpCapture; body: Buffer } {
	const capture = captures[index % captures.length];
	const id = randomUUID();
	return { id, capture, body: withMessageId(capture, id) };
}

const messageIdOf = (json: IDataObject) => json.message_id as string;

describe('Message Bus mode under faults (real RabbitMQ)', () => {
	let connection: ChannelModel;
	let channel: Channel;
	let exchange: string;
	let queue: string;
	const triggers = new BusTriggers();
	let proxy: TcpProxy | undefined;

	beforeEach(async () => {
		({ connection, channel, exchange, queue } = await openOsloTestBed({
			exchange: 'openstack.fault',
			queue: 'esi-leap-fault',
		}));
	});

	afterEach(async () => {
		await triggers.closeAll();
		await proxy?.stop();
		proxy = undefined;
		await closeOsloTestBed({ connection, exchange, queue });
	});

	afterAll(() => {
		// RabbitMQ unreachable: every test already failed saying how to start it; nothing ran.
		if (connection === undefined) return;
		const { password, username } = brokerSettings();
		expect(triggers.every.length).toBeGreaterThan(0);
		// The bus password; with the default guest/guest it equals the user name, so the check
		// is on the forms a leak would take rather than the bare word.
		expectNoSecrets(
			triggers.every.map((fake) => fake.allText()),
			[`${username}:${password}@`, `"password":"${password}"`, `password=${password}`],
		);
	});

	async function activate(
		parameters: IDataObject,
		execute?: FakeTriggerOptions['execute'],
		port = brokerSettings().port,
	): Promise<FakeTrigger> {
		return await triggers.activate(
			{ exchange, queue },
			{ events: [...SHORT_EVENT_TYPES], ...parameters },
			{ execute },
			port,
		);
	}

	it(`loses nothing when the connection is force-closed repeatedly during a ${STREAM}-message stream; redeliveries stay within the prefetch window and are skipped by deduplication`, async () => {
		proxy = new TcpProxy(brokerSettings().host, brokerSettings().port);
		await proxy.start();
		const fake = await activate({ options: { prefetch: PREFETCH } }, undefined, proxy.port);
		const published: string[] = [];

		const executedCount = () =>
			fake.emissions.filter((emission) => emission.fate === 'executed').length;

		// The stream: 125 messages every 100 ms (about 8 s). Meanwhile the connection is cut CUTS
		// times, each time the trigger is connected again and has run another 400 messages, however
		// long that takes on a loaded machine (the cuts may outlast the publishing).
		const CUTS = 5;
		let cuts = 0;
		const cutter = (async () => {
			let lastCutAt = 0;
			while (cuts < CUTS && executedCount() < STREAM) {
				await new Promise((resolve) => setTimeout(resolve, 20));
				if (proxy!.connectionCount > 0 && executedCount() - lastCutAt >= 400) {
					lastCutAt = executedCount();
					proxy!.cutAll();
					cuts++;
				}
			}
		})();
		for (let sent = 0; sent < STREAM; sent += 125) {
			for (let index = sent; index < sent + 125; index++) {
				const message = fresh(index);
				published.push(message.id);
				publishCapture(channel, exchange, message.capture, message.body);
			}
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		await cutter;
		await waitFor(() => executedCount() >= STREAM, `all ${STREAM} executions`, 60_000);
		await waitFor(
			async () => (await messageCount(channel, queue)) === 0,
			'the queue to empty',
			20_000,
		);

		const executed = fake.emissions.filter((emission) => emission.fate === 'executed');
		const duplicates = fake.emissions.filter((emission) => emission.fate === 'duplicate');
		// 0 lost, 0 run twice.
		expect(executed.map((emission) => messageIdOf(emission.json)).sort()).toEqual(
			[...published].sort(),
		);
		expect(cuts).toBe(CUTS);
		const reconnectLines = () =>
			fake.logs.filter((line) => /Reconnected to the message bus/.test(line.message));
		// A cut right at the end may still be reconnecting while the queue is already empty.
		await waitFor(() => reconnectLines().length >= cuts, 'the last reconnect');
		const reconnects = reconnectLines();
		expect(reconnects.length).toBe(cuts);
		// Only messages unacked when a channel died come back: at most a prefetch window per loss,
		// each one with a deduplication key n8n has already seen.
		expect(duplicates.length).toBeLessThanOrEqual(PREFETCH * reconnects.length);
		const executedKeys = new Set(executed.map((emission) => emission.deduplicationKey));
		for (const duplicate of duplicates) {
			expect(duplicate.deduplicationKey).toBeDefined();
			expect(executedKeys.has(duplicate.deduplicationKey)).toBe(true);
		}
		expect(await messageCount(channel, `${queue}.dead`)).toBe(0);
		expect(fake.failedExecutions).toEqual([]);
		expect(fake.emittedErrors).toEqual([]);
	}, 100_000);

	it('failing workflows at a fixed rate: exactly the configured retries and dead-letters', async () => {
		const TOTAL = 1_000;
		const MAX_RETRIES = 2;
		// Every 5th message always fails, every 7th (not 5th) fails once, every 11th (else) never starts once.
		const messages = Array.from({ length: TOTAL }, (_, index) => ({ ...fresh(index), index }));
		const alwaysFails = new Set(messages.filter((m) => m.index % 5 === 0).map((m) => m.id));
		const failsOnce = new Set(
			messages.filter((m) => m.index % 5 !== 0 && m.index % 7 === 0).map((m) => m.id),
		);
		const notStartedOnce = new Set(
			messages
				.filter((m) => m.index % 5 !== 0 && m.index % 7 !== 0 && m.index % 11 === 0)
				.map((m) => m.id),
		);
		const attempts = new Map<string, number>();
		const fake = await activate(
			{ options: { maxRetries: MAX_RETRIES, retryDelays: '0' } },
			(json): ExecutionBehaviour => {
				const id = messageIdOf(json);
				const attempt = attempts.get(id) ?? 0;
				attempts.set(id, attempt + 1);
				if (alwaysFails.has(id)) return 'fail';
				if (failsOnce.has(id) && attempt === 0) return 'fail';
				if (notStartedOnce.has(id) && attempt === 0) return 'notStarted';
				return 'succeed';
			},
		);
		for (const message of messages)
			publishCapture(channel, exchange, message.capture, message.body);

		const expectedRuns =
			alwaysFails.size * (MAX_RETRIES + 1) +
			(failsOnce.size + notStartedOnce.size) * 2 +
			(TOTAL - alwaysFails.size - failsOnce.size - notStartedOnce.size);
		await waitFor(
			async () =>
				fake.emissions.length >= expectedRuns &&
				(await messageCount(channel, `${queue}.dead`)) >= alwaysFails.size,
			'every retry and dead-letter',
			60_000,
		);
		await waitFor(async () => (await messageCount(channel, queue)) === 0, 'the queue to empty');
		// Nothing more may arrive: the close waits for the executions in flight, and a retry still
		// to come would be left in the queue.
		await triggers.deactivate(fake);
		expect(await messageCount(channel, queue)).toBe(0);

		expect(fake.emissions).toHaveLength(expectedRuns);
		expect(fake.emissions.every((emission) => emission.fate === 'executed')).toBe(true);
		for (const message of messages) {
			const runs = attempts.get(message.id);
			if (alwaysFails.has(message.id)) expect(runs).toBe(MAX_RETRIES + 1);
			else if (failsOnce.has(message.id) || notStartedOnce.has(message.id)) expect(runs).toBe(2);
			else expect(runs).toBe(1);
		}
		const dead = await drainQueue(channel, `${queue}.dead`);
		expect(
			dead
				.map(
					(message) =>
						JSON.parse(JSON.parse(message.content.toString())['oslo.message']).message_id,
				)
				.sort(),
		).toEqual([...alwaysFails].sort());
		for (const message of dead) {
			expect(message.properties.headers?.[RETRY_HEADER]).toBe(MAX_RETRIES);
			expect(message.properties.headers?.['x-esi-leap-dead-letter-kind']).toBe('failed');
			const original = messages.find((candidate) => candidate.body.equals(message.content));
			expect(original, 'dead-lettered byte for byte').toBeDefined();
		}
		const requeued = fake.logs.filter((line) => /^.*Requeued a message/.test(line.message));
		expect(requeued).toHaveLength(
			alwaysFails.size * MAX_RETRIES + failsOnce.size + notStartedOnce.size,
		);
	}, 90_000);

	it('a corpus of 1 000+ bad messages: no crash, each dead-lettered for its reason and recorded, every good message around them emitted', async () => {
		const corpus = generateBadMessages(captures);
		expect(corpus.length).toBeGreaterThanOrEqual(1000);
		const fake = await activate({});
		const good: string[] = [];
		// One good message after every third bad one.
		for (const [index, bad] of corpus.entries()) {
			const source = captures[index % captures.length];
			channel.publish(exchange, source.amqp.routing_key, bad.body, {
				contentType: bad.contentType,
				contentEncoding: 'utf-8',
				deliveryMode: 2,
				headers: { 'x-corpus-id': bad.id },
			});
			if (index % 3 === 2) {
				const message = fresh(index);
				good.push(message.id);
				publishCapture(channel, exchange, message.capture, message.body);
			}
		}

		const executed = () => fake.emissions.filter((emission) => emission.fate === 'executed');
		await waitFor(
			async () =>
				executed().length >= good.length &&
				(await messageCount(channel, `${queue}.dead`)) >= corpus.length,
			'the good messages and the dead letters',
			60_000,
		);
		await waitFor(async () => (await messageCount(channel, queue)) === 0, 'the queue to empty');

		expect(
			executed()
				.map((emission) => messageIdOf(emission.json))
				.sort(),
		).toEqual(good.sort());
		const dead = await drainQueue(channel, `${queue}.dead`);
		expect(dead).toHaveLength(corpus.length);
		const byId = new Map(corpus.map((bad) => [bad.id, bad]));
		const mismatches: string[] = [];
		for (const message of dead) {
			const headers = message.properties.headers ?? {};
			const bad = byId.get(headers['x-corpus-id'] as string);
			if (!bad) {
				mismatches.push(`unknown dead letter ${String(headers['x-corpus-id'])}`);
				continue;
			}
			byId.delete(bad.id);
			const reason = String(headers['x-esi-leap-dead-letter-reason']);
			if (!reason.startsWith(`${bad.expectedReason}:`)) {
				mismatches.push(`${bad.description}: reason ${reason}`);
			}
			if (
				headers['x-esi-leap-dead-letter-kind'] !== 'malformed' ||
				!message.content.equals(bad.body)
			) {
				mismatches.push(`${bad.description}: not dead-lettered byte for byte as malformed`);
			}
		}
		expect(mismatches).toEqual([]);
		expect(byId.size).toBe(0);
		// Recorded: one failed execution per bad message, naming the reason; nothing else went wrong.
		expect(fake.failedExecutions).toHaveLength(corpus.length);
		expect(
			fake.failedExecutions.every((error) =>
				/moved to .*\.dead/.test((error as { description?: string }).description ?? ''),
			),
		).toBe(true);
		expect(fake.emittedErrors).toEqual([]);
		expect(fake.logs.filter((line) => line.level === 'error')).toEqual([]);
		expect(fake.logs.some((line) => /Lost the connection/.test(line.message))).toBe(false);
	}, 90_000);
});
