import { expect, vi } from 'vitest';

import type { ExecutionOutcome } from '../../nodes/core/bus/ackPolicy';
import type {
	BrokerChannel,
	BrokerConnection,
	BrokerMessage,
	CloseListener,
	MessageProperties,
	QueueInfo,
	QueueOptions,
} from '../../nodes/core/bus/broker';
import { BusConsumer } from '../../nodes/core/bus/consumer';
import type { BusLogger, ConsumerOptions, DeliveryInfo } from '../../nodes/core/bus/consumer';
import { planTopology } from '../../nodes/core/bus/topology';
import { compileSelection } from '../../nodes/core/events/filters';
import { SHORT_EVENT_TYPES } from '../../nodes/core/events/types';
import type { EsiLeapEvent } from '../../nodes/core/events/types';
import { loadCapture } from './fixtures';
import type { AmqpCapture } from './fixtures';

/**
 * An in-memory broker behind the consumer's broker port (broker.ts), for unit tests of what the
 * consumer sends back: acks, republished copies and dead letters, per channel. It follows
 * RabbitMQ where the consumer depends on it: delivery tags count from 1 on every channel, a
 * refused declare closes its channel (with the connection's close following in the consumer),
 * and a channel's close listeners run once with the error. The real-broker behaviour is proven
 * in test/integration/busConsumer.test.ts.
 */
export interface Published {
	exchange: string;
	routingKey: string;
	body: Buffer;
	properties: MessageProperties;
}

export class FakeChannel implements BrokerChannel {
	readonly acks: number[] = [];
	readonly nacks: number[] = [];
	readonly published: Published[] = [];
	readonly declaredQueues: string[] = [];
	closed = false;
	cancelled = false;
	prefetchCount: number | null = null;
	private nextTag = 1;
	private onMessage: ((message: BrokerMessage | null) => void) | null = null;
	private readonly closeListeners: CloseListener[] = [];

	constructor(
		readonly id: number,
		private readonly broker: FakeBroker,
	) {}

	/** Delivers a message to this channel's consumer; returns its delivery tag. */
	deliver(body: Buffer, properties: MessageProperties, routingKey: string): number {
		if (!this.onMessage) throw new Error(`channel #${this.id} has no consumer`);
		const deliveryTag = this.nextTag++;
		this.onMessage({
			body,
			deliveryTag,
			redelivered: false,
			exchange: 'openstack',
			routingKey,
			properties,
		});
		return deliveryTag;
	}

	/** The broker closes the channel (connection lost, channel error). */
	die(error = new Error('CHANNEL_ERROR - closed by the test')): void {
		if (this.closed) return;
		this.closed = true;
		for (const listener of this.closeListeners.splice(0)) listener(error);
	}

	async checkExchange(name: string): Promise<void> {
		if (!this.broker.missingExchanges.has(name)) return;
		const error = Object.assign(new Error(`NOT_FOUND - no exchange '${name}'`), { code: 404 });
		this.die(error);
		throw error;
	}
	async declareOsloExchange(name: string): Promise<void> {
		this.broker.missingExchanges.delete(name);
		this.broker.declaredExchanges.push(name);
	}
	async deleteExchange(name: string): Promise<void> {
		this.broker.deletedExchanges.push(name);
	}
	async declareQueue(name: string, options: QueueOptions): Promise<QueueInfo> {
		this.broker.queueOptions.set(name, options);
		if (this.broker.refusedQueues.has(name)) {
			const error = Object.assign(
				new Error(`PRECONDITION_FAILED - inequivalent arg for '${name}'`),
				{
					code: 406,
				},
			);
			this.die(error);
			throw error;
		}
		this.declaredQueues.push(name);
		return { queue: name, messageCount: 0, consumerCount: 0 };
	}
	async checkQueue(name: string): Promise<QueueInfo> {
		return { queue: name, messageCount: 0, consumerCount: 0 };
	}
	async bindQueue(): Promise<void> {}
	async unbindQueue(): Promise<void> {}
	async prefetch(count: number): Promise<void> {
		this.prefetchCount = count;
	}
	async consume(_queue: string, onMessage: (message: BrokerMessage | null) => void) {
		this.onMessage = onMessage;
		return `consumer-${this.id}`;
	}
	/** Messages already sent before a cancel still arrive, as with RabbitMQ's prefetch. */
	async cancel(): Promise<void> {
		this.cancelled = true;
	}
	/** The broker cancels the consumer (its queue was deleted). */
	cancelByBroker(): void {
		this.onMessage?.(null);
	}
	ack(deliveryTag: number): void {
		if (this.closed) throw new Error(`ack on closed channel #${this.id}`);
		this.acks.push(deliveryTag);
	}
	nack(deliveryTag: number): void {
		this.nacks.push(deliveryTag);
	}
	async publish(
		exchange: string,
		routingKey: string,
		body: Buffer,
		properties: MessageProperties,
	): Promise<void> {
		if (this.broker.failPublish) {
			this.die();
			throw new Error('channel closed before the broker confirmed the message');
		}
		this.published.push({ exchange, routingKey, body: Buffer.from(body), properties });
	}
	async get(): Promise<false> {
		return false;
	}
	async close(): Promise<void> {
		this.die(undefined);
	}
	onClose(listener: CloseListener): void {
		this.closeListeners.push(listener);
	}
}

class FakeConnection implements BrokerConnection {
	private readonly listeners: CloseListener[] = [];
	closed = false;

	constructor(private readonly broker: FakeBroker) {}

	async createChannel(): Promise<BrokerChannel> {
		const channel = new FakeChannel(this.broker.channels.length + 1, this.broker);
		this.broker.channels.push(channel);
		return channel;
	}
	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		for (const listener of this.listeners.splice(0)) listener();
	}
	onClose(listener: CloseListener): void {
		this.listeners.push(listener);
	}
}

export class FakeBroker {
	readonly channels: FakeChannel[] = [];
	/** Queues whose declare the broker refuses (it closes the channel, as RabbitMQ does). */
	readonly refusedQueues = new Set<string>();
	/** Every publish fails and closes its channel. */
	failPublish = false;

	/** Exchanges that do not exist (a passive check fails); a declare creates them. */
	readonly missingExchanges = new Set<string>();
	readonly declaredExchanges: string[] = [];
	/** The options of every queue declared, by name. */
	readonly queueOptions = new Map<string, QueueOptions>();
	readonly deletedExchanges: string[] = [];
	readonly connections: FakeConnection[] = [];
	/** Connection attempts fail (broker down). */
	refusing = false;
	connectAttempts = 0;

	readonly connect = async (): Promise<BrokerConnection> => {
		this.connectAttempts++;
		if (this.refusing) throw new Error('connect ECONNREFUSED 127.0.0.1:5672');
		const connection = new FakeConnection(this);
		this.connections.push(connection);
		return connection;
	};

	/** The channel the consumer consumes on now (the last one it opened). */
	get current(): FakeChannel {
		const channel = this.channels.at(-1);
		if (!channel) throw new Error('no channel opened yet');
		return channel;
	}
}

/** A capture's basic properties as the consumer's broker port carries them. */
export function captureProperties(
	capture: AmqpCapture,
	headers: Record<string, unknown> = capture.amqp.properties.headers,
): MessageProperties {
	const properties = capture.amqp.properties;
	return {
		contentType: properties.content_type ?? undefined,
		contentEncoding: properties.content_encoding ?? undefined,
		headers,
		deliveryMode: properties.delivery_mode ?? undefined,
		priority: properties.priority ?? undefined,
	};
}

/** vi.waitFor polling every 2 ms: the fake broker answers at once, so waits are short. */
export const until = <T>(check: () => T) => vi.waitFor(check, { interval: 2, timeout: 2000 });

export const FAKE_QUEUE = 'n8n-esi-leap.wf.node';
export const FAKE_CAPTURE = loadCapture('amqp-lease-fulfill-end');
/** What the consumer logged: [level, message, meta]. */
export type LogLine = [keyof BusLogger, string, Record<string, unknown> | undefined];
function recordingLogger(lines: LogLine[]): BusLogger {
	const at = (level: keyof BusLogger) => (message: string, meta?: Record<string, unknown>) =>
		void lines.push([level, message, meta]);
	return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
const started: BusConsumer[] = [];

export type Deliver = (event: EsiLeapEvent, delivery: DeliveryInfo) => Promise<ExecutionOutcome>;

/**
 * A BusConsumer on a fresh FakeBroker, consuming FAKE_QUEUE (own queue, passive exchange,
 * executionSucceeds with 2 retries). `send` delivers FAKE_CAPTURE (or another body) on the first
 * channel; `settled` waits until nothing is in flight. Close them with closeFakeConsumers().
 */
export async function startOnFakeBroker(
	deliver: Deliver,
	extra: Partial<ConsumerOptions> = {},
	retryDelaysMs?: number[],
) {
	const broker = new FakeBroker();
	const deliveries: DeliveryInfo[] = [];
	const logged: LogLine[] = [];
	const consumer = new BusConsumer({
		connect: broker.connect,
		topology: planTopology({
			exchange: 'openstack',
			topic: 'esi_leap_versioned_notifications',
			priorities: ['info', 'error'],
			queue: { kind: 'own', name: FAKE_QUEUE },
			exchangeMode: 'passive',
			retryDelaysMs,
		}),
		prefetch: 10,
		policy: { mode: 'executionSucceeds', maxRetries: 2, onTimeout: 'retry', retryDelaysMs },
		ackTimeoutMs: 10_000,
		select: compileSelection({ events: SHORT_EVENT_TYPES }),
		includeRaw: false,
		deliver: (event, delivery) => {
			deliveries.push(delivery);
			return deliver(event, delivery);
		},
		logger: recordingLogger(logged),
		backoff: { initialMs: 1, maxMs: 2 },
		...extra,
	});
	started.push(consumer);
	await consumer.start();
	const channel = broker.current;
	const send = (headers: Record<string, unknown> = {}, body = FAKE_CAPTURE.body) =>
		channel.deliver(body, captureProperties(FAKE_CAPTURE, headers), FAKE_CAPTURE.amqp.routing_key);
	const settled = () => until(() => expect(consumer.inFlightCount).toBe(0));
	/** The lines logged at `level`, without debug noise. */
	const logs = (level: keyof BusLogger) =>
		logged.filter((line) => line[0] === level).map(([, message, meta]) => [message, meta]);
	return { consumer, broker, channel, send, settled, deliveries, logs, stats: consumer.stats };
}

export async function closeFakeConsumers(): Promise<void> {
	for (const consumer of started.splice(0)) await consumer.close(100);
}
