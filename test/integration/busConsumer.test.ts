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

	it('loses no message when every connection is cut mid-stream, and never acks on the new channel for the old one', async () => {
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
		expect(consumer.stats.reconnects).toBeGreaterThanOrEqual(1);
		// Redeliveries after the cut may run twice (that is what the dedup key is for), never less.
		expect(executions).toBeGreaterThanOrEqual(published.size);
		// A stale ack on the new channel would have closed it with PRECONDITION_FAILED, forcing
		// another reconnect; wait a moment and check that the one reconnect was the only one.
		const reconnects = consumer.stats.reconnects;
		publish(3);
		await waitFor(() => [...published].every((id) => seen.has(id)), 'messages after the reconnect');
		expect(consumer.stats.reconnects).toBe(reconnects);
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
