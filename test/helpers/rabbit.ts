import { randomBytes } from 'node:crypto';
import * as amqplib from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';

import type { BrokerSettings } from '../../nodes/core/bus/amqp';
import type { AmqpCapture } from './fixtures';

/** The real broker every bus test uses. */
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export function brokerSettings(overrides: Partial<BrokerSettings> = {}): BrokerSettings {
	const url = new URL(AMQP_URL);
	const vhost = url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : '/';
	return {
		host: url.hostname,
		port: Number(url.port || 5672),
		vhost,
		username: decodeURIComponent(url.username || 'guest'),
		password: decodeURIComponent(url.password || 'guest'),
		heartbeatSeconds: 10,
		...overrides,
	};
}

/** A test-side connection for publishing and inspecting; fails loudly when RabbitMQ is down. */
export async function openTestBroker(): Promise<{ connection: ChannelModel; channel: Channel }> {
	const connection = await amqplib.connect(AMQP_URL).catch((error: Error) => error);
	if (connection instanceof Error) {
		throw new Error(
			`RabbitMQ is not reachable at ${AMQP_URL.replace(/\/\/[^@]*@/, '//')} (${connection.message}). ` +
				'Start it with `rabbitmq-server -detached` (or set AMQP_URL) and run the tests again.',
		);
	}
	connection.on('error', () => undefined);
	const channel = await connection.createChannel();
	return { connection, channel };
}

export function uniqueName(prefix: string): string {
	return `${prefix}.${randomBytes(5).toString('hex')}`;
}

/** Declares an exchange exactly like oslo.messaging: topic, durable=false, auto_delete=false. */
export async function declareOsloExchange(channel: Channel, exchange: string): Promise<void> {
	await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
}

/** Publishes a captured body with the captured properties and routing key. */
export function publishCapture(
	channel: Channel,
	exchange: string,
	capture: AmqpCapture,
	body = capture.body,
): void {
	const properties = capture.amqp.properties;
	channel.publish(exchange, capture.amqp.routing_key, body, {
		contentType: properties.content_type ?? undefined,
		contentEncoding: properties.content_encoding ?? undefined,
		headers: properties.headers,
		deliveryMode: properties.delivery_mode ?? undefined,
		priority: properties.priority ?? undefined,
	});
}

export async function messageCount(channel: Channel, queue: string): Promise<number> {
	return (await channel.checkQueue(queue)).messageCount;
}

/** Takes every message currently in a queue (acked), in order. */
export async function drainQueue(channel: Channel, queue: string): Promise<amqplib.GetMessage[]> {
	const messages: amqplib.GetMessage[] = [];
	for (;;) {
		const message = await channel.get(queue, { noAck: true });
		if (message === false) return messages;
		messages.push(message);
	}
}

export async function waitFor<T>(
	probe: () => T | Promise<T>,
	what: string,
	timeoutMs = 10_000,
): Promise<NonNullable<T>> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await probe();
		if (value) return value as NonNullable<T>;
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 25));
	}
}

/** Deletes what a test created; tolerant of things already gone. */
export async function cleanup(
	connection: ChannelModel,
	names: { exchanges?: string[]; queues?: string[] },
): Promise<void> {
	for (const queue of names.queues ?? []) {
		const channel = await connection.createChannel();
		channel.on('error', () => undefined);
		await channel.deleteQueue(queue).catch(() => undefined);
		await channel.close().catch(() => undefined);
	}
	for (const exchange of names.exchanges ?? []) {
		const channel = await connection.createChannel();
		channel.on('error', () => undefined);
		await channel.deleteExchange(exchange).catch(() => undefined);
		await channel.close().catch(() => undefined);
	}
	await connection.close().catch(() => undefined);
}
