/**
 * What the demo leaves in RabbitMQ, removed: everything the message-bus trigger declares for its
 * own queue (the queue, its dead-letter queue, one retry queue per default retry delay and the
 * restart-marker exchange, as planTopology names them), the `esi_leap_versioned_notifications.
 * <priority>` queues the emulator declares as oslo does (nothing reads them, so they only grow:
 * 4 messages per lifecycle), then the exchange, but only if nothing else is bound to it any more
 * (RabbitMQ's if-unused), so a queue someone else bound there survives. Run on Ctrl-C by
 * `npm start`, and by `npm run demo:clean` (which also deletes the demo's n8n folder) after a
 * demo that was killed.
 */
import fs from 'node:fs';
import amqp from 'amqplib';
import { DEFAULT_RETRY_DELAYS_MS } from '../../../nodes/core/bus/ackPolicy';
import { planTopology, PRIORITIES, routingKey } from '../../../nodes/core/bus/topology';
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
	/** The trigger's restart marker, when there was one. */
	markerDeleted: boolean;
	exchangeDeleted: boolean;
	/** Why the exchange stayed, when it did. */
	exchangeKept?: string;
}

/** What the demo's trigger (an own queue, default options) declares, named by planTopology. */
function triggerTopology(names: DemoBrokerNames) {
	return planTopology({
		exchange: names.exchange,
		topic: names.topic,
		priorities: PRIORITIES,
		queue: { kind: 'own', name: names.queue },
		exchangeMode: 'declare',
		retryDelaysMs: DEFAULT_RETRY_DELAYS_MS,
	});
}

export function demoQueues(names: DemoBrokerNames): string[] {
	const topology = triggerTopology(names);
	return [
		names.queue,
		...(topology.deadLetterQueue === null ? [] : [topology.deadLetterQueue]),
		...topology.retryQueues.map((retry) => retry.name),
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
	const report: CleanupReport = { queues: [], markerDeleted: false, exchangeDeleted: false };
	try {
		for (const queue of demoQueues(names)) {
			if (!(await onFreshChannel(connection, (channel) => channel.checkQueue(queue))).ok) continue;
			const deleted = await onFreshChannel(connection, (channel) => channel.deleteQueue(queue));
			if (!deleted.ok) throw deleted.error;
			report.queues.push({ name: queue, messages: deleted.value.messageCount });
		}
		const marker = triggerTopology(names).restartMarker;
		if (
			marker !== null &&
			(await onFreshChannel(connection, (channel) => channel.checkExchange(marker))).ok
		) {
			const deleted = await onFreshChannel(connection, (channel) => channel.deleteExchange(marker));
			if (!deleted.ok) throw deleted.error;
			report.markerDeleted = true;
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

export function describeCleanup(report: CleanupReport, names: DemoBrokerNames): string[] {
	const { exchange } = names;
	const lines = report.queues.map(
		(queue) => `deleted queue ${queue.name} (${queue.messages} messages in it)`,
	);
	if (report.markerDeleted)
		lines.push(`deleted the trigger's restart marker ${triggerTopology(names).restartMarker}`);
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
		const names = { exchange: DEMO_EXCHANGE, queue: DEMO_QUEUE, topic: NOTIFICATION_TOPIC };
		const report = await cleanDemoBroker(options.amqpUrl, names);
		for (const line of describeCleanup(report, names)) say(line);
		if (fs.existsSync(options.folder)) {
			fs.rmSync(options.folder, { recursive: true, force: true });
			say(`deleted the demo's n8n folder ${options.folder}`);
		}
	})().catch((error: Error) => {
		process.stderr.write(`demo:clean failed: ${error.message}\n`);
		process.exit(1);
	});
}
