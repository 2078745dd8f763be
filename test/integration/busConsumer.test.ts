import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel } from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { compileSelection } from '../../nodes/core/events/filters';
import { SHORT_EVENT_TYPES } from '../../nodes/core/events/types';
import type { EsiLeapEvent } from '../../nodes/core/events/types';
import type { ExecutionOutcome } from '../../nodes/core/bus/ackPolicy';
import { connectAmqp } from '../../nodes/core/bus/amqp';
import { BusConsumer } from '../../nodes/core/bus/consumer';
import type { BusLogger, ConsumerOptions, OutageReport } from '../../nodes/core/bus/consumer';
import type { BrokerChannel, BrokerConnection } from '../../nodes/core/bus/broker';
import { planTopology } from '../../nodes/core/bus/topology';
import { loadAmqpCaptures, withMessageId } from '../helpers/fixtures';
import {
	brokerSettings,
	messageCount,
	publishCapture,
	uniqueName,
	waitFor,
} from '../helpers/rabbit';
import { closeOsloTestBed, openOsloTestBed } from '../helpers/busTestBed';
import { TcpProxy } from '../helpers/tcpProxy';
import { deferred } from '../helpers/objects';

const captures = loadAmqpCaptures();
const quietLogger: BusLogger = { debug() {}, info() {}, warn() {}, error() {} };

describe('BusConsumer on the real broker', () => {
	let connection: ChannelModel;
	let channel: Channel;
	let exchange: string;
	let queue: string;
	let consumer: BusConsumer | undefined;
	let proxy: TcpProxy | undefined;

	beforeEach(async () => {
		({ connection, channel, exchange, queue } = await openOsloTestBed({
			exchange: 'openstack.test',
			queue: 'esi-leap-test.queue',
		}));
	});

	afterEach(async () => {
		await consumer?.close(1000);
		consumer = undefined;
		await proxy?.stop();
		proxy = undefined;
		await closeOsloTestBed({ connection, exchange, queue });
	});

	function makeConsumer(
		port: number,
		deliver: ConsumerOptions['deliver'],
		extra: Partial<ConsumerOptions> = {},
	): BusConsumer {
		const settings = brokerSettings({ port });
		return new BusConsumer({
			connect: () => connectAmqp(settings),
			topology: planTopology({
				exchange,
				topic: 'esi_leap_versioned_notifications',
				priorities: ['info', 'error'],
				queue: { kind: 'own', name: queue },
				exchangeMode: 'passive',
			}),
			prefetch: 10,
			policy: { mode: 'executionSucceeds', maxRetries: 3, onTimeout: 'retry' },
			ackTimeoutMs: 10_000,
			select: compileSelection({ events: SHORT_EVENT_TYPES }),
			includeRaw: false,
			deliver,
			logger: quietLogger,
			backoff: { initialMs: 50, maxMs: 200 },
			...extra,
		});
	}

	it('delivers every captured event type once and leaves the queue empty', async () => {
		const seen: EsiLeapEvent[] = [];
		consumer = makeConsumer(brokerSettings().port, async (event) => {
			seen.push(event);
			return { kind: 'succeeded' };
		});
		await consumer.start();
		for (const capture of captures) publishCapture(channel, exchange, capture);
		await waitFor(() => seen.length === captures.length, 'all captures');
		await waitFor(() => consumer!.inFlightCount === 0, 'acks');
		expect(seen.map((event) => event.message_id).sort()).toEqual(
			captures.map((capture) => capture.decoded['oslo.message'].message_id).sort(),
		);
		expect(new Set(seen.map((event) => event.event)).size).toBe(6);
		expect(await messageCount(channel, queue)).toBe(0);
		expect(consumer.stats.acked).toBe(captures.length);
	});

	it('loses no message when every connection is cut mid-stream, with exactly one reconnect', async () => {
		proxy = new TcpProxy(brokerSettings().host, brokerSettings().port);
		await proxy.start();
		const published = new Set<string>();
		const seen = new Set<string>();
		let executions = 0;
		consumer = makeConsumer(proxy.port, async (event) => {
			executions++;
			// Slow enough that several messages are in flight when the connection goes.
			await new Promise((resolve) => setTimeout(resolve, 20));
			seen.add(event.message_id!);
			return { kind: 'succeeded' } satisfies ExecutionOutcome;
		});
		await consumer.start();

		const publish = (count: number) => {
			for (let index = 0; index < count; index++) {
				const capture = captures[index % captures.length];
				const id = randomUUID();
				published.add(id);
				publishCapture(channel, exchange, capture, withMessageId(capture, id));
			}
		};
		publish(30);
		await waitFor(() => seen.size >= 5, 'the first messages');
		proxy.setRefusing(true);
		proxy.cutAll();
		publish(20); // published while the trigger is disconnected
		await new Promise((resolve) => setTimeout(resolve, 300));
		proxy.setRefusing(false);

		await waitFor(
			() => [...published].every((id) => seen.has(id)),
			'every published message',
			20_000,
		);
		await waitFor(() => consumer!.inFlightCount === 0, 'in-flight to settle');
		await waitFor(async () => (await messageCount(channel, queue)) === 0, 'the queue to empty');
		// One cut, one successful reconnect (attempts refused by the proxy do not count).
		expect(consumer.stats.reconnects).toBe(1);
		// Each message ran once: a copy redelivered after the cut waited for its first execution
		// (same activation) and was acked on its outcome instead of running again.
		expect(executions).toBe(published.size);
		publish(3);
		await waitFor(() => [...published].every((id) => seen.has(id)), 'messages after the reconnect');
		await waitFor(() => consumer!.inFlightCount === 0, 'the last acks');
		expect(consumer.stats.reconnects).toBe(1);
	});

	it('acks only on the channel that delivered: an outcome arriving after the reconnect is dropped and the broker redelivers', async () => {
		proxy = new TcpProxy(brokerSettings().host, brokerSettings().port);
		await proxy.start();
		const settings = brokerSettings({ port: proxy.port });
		// Every channel the consumer opens, so the test can ask the broker about the new one.
		const channels: BrokerChannel[] = [];
		const connect = async (): Promise<BrokerConnection> => {
			const connection = await connectAmqp(settings);
			return {
				...connection,
				async createChannel() {
					const created = await connection.createChannel();
					channels.push(created);
					return created;
				},
			};
		};
		const deliveries = new Map<string, number>();
		const release = deferred<void>();
		let heldRunning = 0;
		consumer = makeConsumer(
			proxy.port,
			async (event) => {
				const id = event.message_id!;
				const count = (deliveries.get(id) ?? 0) + 1;
				deliveries.set(id, count);
				if (count === 1) {
					// First delivery (old channel): still running when the new channel exists.
					heldRunning++;
					await release.promise;
					heldRunning--;
				}
				return { kind: 'succeeded' };
			},
			{ connect },
		);
		await consumer.start();
		const ids = [randomUUID(), randomUUID(), randomUUID()];
		ids.forEach((id, index) =>
			publishCapture(channel, exchange, captures[index], withMessageId(captures[index], id)),
		);
		await waitFor(() => heldRunning === ids.length, 'the three executions to start');

		proxy.cutAll();
		await waitFor(() => consumer!.stats.reconnects === 1, 'the reconnect');
		// The broker requeued the old channel's three messages and delivered them on the new one
		// (delivery tags 1-3 of the new channel), where each waits for its first execution.
		await waitFor(() => consumer!.stats.received === 2 * ids.length, 'the redeliveries');
		await new Promise((resolve) => setTimeout(resolve, 100));
		expect(consumer.inFlightCount).toBe(ids.length);
		expect([...deliveries.values()]).toEqual([1, 1, 1]);
		expect(channels).toHaveLength(2);

		// Now the old executions finish. Their delivery tags (1-3 of the dead channel) must not be
		// acked on the new channel, where the same numbers name the copies: the copies are acked
		// with their own tags, and a stale ack on top would make the broker close the channel with
		// PRECONDITION_FAILED (unknown delivery tag).
		release.resolve();
		await waitFor(() => heldRunning === 0, 'the old executions to finish');
		await waitFor(
			() => consumer!.stats.acked + consumer!.stats.orphaned === 2 * ids.length,
			'every outcome to be settled or dropped',
		);
		await new Promise((resolve) => setImmediate(resolve));
		// A round trip on the new channel: frames on a channel are handled in order, so a stale
		// ack sent before it would have closed the channel and this would reject.
		await expect(channels[1].checkQueue(queue)).resolves.toMatchObject({
			messageCount: 0,
			consumerCount: 1,
		});
		expect(consumer.stats).toMatchObject({ orphaned: ids.length, redeliveredAcked: ids.length });

		// The same channel goes on consuming: no further reconnect, no further channel.
		const late = randomUUID();
		publishCapture(channel, exchange, captures[3], withMessageId(captures[3], late));
		await waitFor(() => deliveries.get(late) === 1, 'a message after the old outcomes');
		await waitFor(() => consumer!.inFlightCount === 0, 'its ack');
		expect(await messageCount(channel, queue)).toBe(0);
		expect(consumer.stats.reconnects).toBe(1);
		expect(channels).toHaveLength(2);
		expect([...deliveries.values()]).toEqual([1, 1, 1, 1]);
	});

	it('an execution that fails after its connection was cut is still retried, then dead-lettered after its retries', async () => {
		proxy = new TcpProxy(brokerSettings().host, brokerSettings().port);
		await proxy.start();
		const attempts: number[] = [];
		const release = deferred<void>();
		consumer = makeConsumer(
			proxy.port,
			async (_event, delivery) => {
				attempts.push(delivery.attempt);
				// The first execution is still running when the connection goes, and then fails.
				if (attempts.length === 1) await release.promise;
				return { kind: 'failed', error: `boom ${delivery.attempt}` };
			},
			{ policy: { mode: 'executionSucceeds', maxRetries: 2, onTimeout: 'retry' } },
		);
		await consumer.start();
		const id = randomUUID();
		publishCapture(channel, exchange, captures[0], withMessageId(captures[0], id));
		await waitFor(() => attempts.length === 1, 'the first execution');
		proxy.cutAll();
		await waitFor(() => consumer!.stats.received === 2, 'the redelivered copy');
		release.resolve();

		// The copy is not run under the first execution's key (n8n would skip it): it gets the
		// retry the dead channel could not send, and the retries run and fail on their own.
		const dead = `${queue}.dead`;
		await waitFor(async () => (await messageCount(channel, dead)) === 1, 'the dead letter', 20_000);
		await waitFor(() => consumer!.inFlightCount === 0, 'the last ack');
		expect(attempts).toEqual([0, 1, 2]);
		expect(consumer.stats).toMatchObject({ redeliveredSettled: 1, retried: 2, deadLettered: 1 });
		const letter = await channel.get(dead, { noAck: true });
		expect(letter && letter.properties.headers?.['x-esi-leap-dead-letter-reason']).toBe(
			'execution failed: boom 2 (after 2 retries)',
		);
		expect(await messageCount(channel, queue)).toBe(0);
	});

	it('reports a prolonged outage once and its recovery', async () => {
		proxy = new TcpProxy(brokerSettings().host, brokerSettings().port);
		await proxy.start();
		const outages: OutageReport[] = [];
		const recoveries: OutageReport[] = [];
		consumer = makeConsumer(proxy.port, async () => ({ kind: 'succeeded' }), {
			outageNoticeMs: 300,
			onOutage: (report) => outages.push(report),
			onRecovered: (report) => recoveries.push(report),
		});
		await consumer.start();
		proxy.setRefusing(true);
		proxy.cutAll();
		await waitFor(() => outages.length === 1, 'the outage report');
		expect(outages[0].attempts).toBeGreaterThan(1);
		expect(outages[0].lastError).not.toMatch(/guest/);
		proxy.setRefusing(false);
		await waitFor(() => recoveries.length === 1, 'the recovery');
		expect(outages).toHaveLength(1);
		expect(consumer.stats.reconnects).toBe(1);
	});

	it('acks and counts notifications of unknown event types without emitting or dead-lettering them', async () => {
		const seen: EsiLeapEvent[] = [];
		consumer = makeConsumer(brokerSettings().port, async (event) => {
			seen.push(event);
			return { kind: 'succeeded' };
		});
		await consumer.start();
		const capture = captures[0];
		const unknownType = Buffer.from(
			capture.body
				.toString('utf8')
				.replace(capture.decoded['oslo.message'].event_type, 'esi_leap.offer.create.end'),
		);
		publishCapture(channel, exchange, capture, unknownType);
		publishCapture(channel, exchange, capture);
		await waitFor(() => seen.length === 1, 'the known event');
		await waitFor(() => consumer!.stats.unsupported === 1, 'the unknown one to be counted');
		await waitFor(async () => (await messageCount(channel, queue)) === 0, 'the queue to empty');
		expect(await messageCount(channel, `${queue}.dead`)).toBe(0);
		expect(consumer.stats.malformed).toBe(0);
	});

	it('fails start() when the exchange does not exist (passive check)', async () => {
		const missing = uniqueName('openstack.missing');
		consumer = new BusConsumer({
			...({} as ConsumerOptions),
			connect: () => connectAmqp(brokerSettings()),
			topology: planTopology({
				exchange: missing,
				topic: 't',
				priorities: ['info'],
				queue: { kind: 'own', name: queue },
				exchangeMode: 'passive',
			}),
			prefetch: 1,
			logger: quietLogger,
		});
		await expect(consumer.start()).rejects.toThrow(/NOT_FOUND|no exchange/i);
	});
});
