/**
 * What the demo leaves in RabbitMQ, removed: the trigger's durable queue and its dead-letter
 * queue, the `esi_leap_versioned_notifications.<priority>` queues the emulator declares as oslo
 * does (nothing reads them, so they only grow: 4 messages per lifecycle), then the exchange, but
 * only if nothing else is bound to it any more (RabbitMQ's if-unused), so a queue someone else
 * bound there survives. Run on Ctrl-C by `npm start`, and by `npm run demo:clean` (which also
 * deletes the demo's n8n folder) after a demo that was killed.
 */
import fs from 'node:fs';
import amqp from 'amqplib';
import {
	defaultDeadLetterQueueName,
	PRIORITIES,
	routingKey,
} from '../../../nodes/core/bus/topology';
import { NOTIFICATION_TOPIC } from '../../emulator/notifier';

export interface DemoBrokerNames {
	exchange: string;
	/** The message-bus trigger's own queue. */
	queue: string;
	/** oslo's notification topic; its `<topic>.<priority>` queues are declared by the emulator. */
	topic: string;
}

export interface CleanupReport {
	/** Queues deleted, with the messages they still held. */
	queues: Array<{ name: string; messages: number }>;
	exchangeDeleted: boolean;
	/** Why the exchange stayed, when it did. */
	exchangeKept?: string;
}

export function demoQueues(names: DemoBrokerNames): string[] {
	return [
		names.queue,
		defaultDeadLetterQueueName(names.queue),
		...PRIORITIES.map((priority) => routingKey(names.topic, priority)),
	];
}

function redact(url: string): string {
	return url.replace(/\/\/[^@]*@/, '//***@');
}

/** Runs `step` on a channel of its own (a refused operation closes its channel). */
async function onFreshChannel<T>(
	connection: amqp.ChannelModel,
	step: (channel: amqp.Channel) => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
	const channel = await connection.createChannel();
	channel.on('error', () => undefined);
	try {
		return { ok: true, value: await step(channel) };
	} catch (error) {
		return { ok: false, error: error as Error };
	} finally {
		await channel.close().catch(() => undefined);
	}
}

export async function cleanDemoBroker(
	amqpUrl: string,
	names: DemoBrokerNames,
): Promise<CleanupReport> {
	const connection = await amqp.connect(amqpUrl).catch((error: Error) => {
		throw new Error(
			`RabbitMQ not reachable at ${redact(amqpUrl)} (${error.message}); start it with \`rabbitmq-server -detached\` or set AMQP_URL`,
		);
	});
	connection.on('error', () => undefined);
	const report: CleanupReport = { queues: [], exchangeDeleted: false };
	try {
		for (const queue of demoQueues(names)) {
			if (!(await onFreshChannel(connection, (channel) => channel.checkQueue(queue))).ok) continue;
			const deleted = await onFreshChannel(connection, (channel) => channel.deleteQueue(queue));
			if (!deleted.ok) throw deleted.error;
			report.queues.push({ name: queue, messages: deleted.value.messageCount });
		}
		const exchange = names.exchange;
		if (!(await onFreshChannel(connection, (channel) => channel.checkExchange(exchange))).ok)
			return report;
		const deleted = await onFreshChannel(connection, (channel) =>
			channel.deleteExchange(exchange, { ifUnused: true }),
		);
		if (deleted.ok) report.exchangeDeleted = true;
		else report.exchangeKept = `other queues are still bound to it (${deleted.error.message})`;
		return report;
	} finally {
		await connection.close().catch(() => undefined);
	}
}

export function describeCleanup(report: CleanupReport, exchange: string): string[] {
	const lines = report.queues.map(
		(queue) => `deleted queue ${queue.name} (${queue.messages} messages in it)`,
	);
	if (report.exchangeDeleted) lines.push(`deleted exchange ${exchange}`);
	if (report.exchangeKept) lines.push(`kept exchange ${exchange}: ${report.exchangeKept}`);
	if (lines.length === 0) lines.push('nothing of the demo left in RabbitMQ');
	return lines;
}

// `npm run demo:clean`
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
	void (async () => {
		// Imported here: demo.ts pulls in the harness, which the broker test above does not need.
		const { DEMO_EXCHANGE, DEMO_QUEUE, demoOptionsFromEnv } = await import('./demo');
		const say = (line: string) => process.stdout.write(`${line}\n`);
		const options = demoOptionsFromEnv(say);
		const report = await cleanDemoBroker(options.amqpUrl, {
			exchange: DEMO_EXCHANGE,
			queue: DEMO_QUEUE,
			topic: NOTIFICATION_TOPIC,
		});
		for (const line of describeCleanup(report, DEMO_EXCHANGE)) say(line);
		if (fs.existsSync(options.folder)) {
			fs.rmSync(options.folder, { recursive: true, force: true });
			say(`deleted the demo's n8n folder ${options.folder}`);
		}
	})().catch((error: Error) => {
		process.stderr.write(`demo:clean failed: ${error.message}\n`);
		process.exit(1);
	});
}
