/**
 * Bus mode through the real local RabbitMQ, side by side with n8n-nodes-base's RabbitMQ Trigger
 * (loaded from the n8n install of the e2e test, with that install's own n8n-workflow):
 *   1. throughput: a queue pre-filled with N captured-shape notifications, drained by each trigger;
 *   2. latency publish → emit at a steady rate.
 * Both triggers get the same lean context (executions complete at once). The generic path does
 * what a user's workflow must do after it: the Code-node decoding of the oslo envelope and the IF
 * on the event type. That Code step is run twice: as a plain function (the cheapest possible
 * Code node) and in a fresh node:vm context per execution (what n8n's JavaScript sandbox does).
 *
 *   tsx bench/bus.ts   (BENCH_MESSAGES, BENCH_RATE, BENCH_LATENCY_SECONDS to scale)
 */
import { randomUUID } from 'node:crypto';
import vm from 'node:vm';
import type { Channel } from 'amqplib';
import type {
	IDataObject,
	INodeExecutionData,
	ITriggerFunctions,
	ITriggerResponse,
} from 'n8n-workflow';

import { SHORT_EVENT_TYPES } from '../nodes/core/events/types';
import { EsiLeapTrigger } from '../nodes/EsiLeapTrigger/EsiLeapTrigger.node';
import { busCredentialData } from '../test/helpers/busTestBed';
import { loadAmqpCaptures, withMessageId } from '../test/helpers/fixtures';
import type { AmqpCapture } from '../test/helpers/fixtures';
import {
	brokerSettings,
	cleanup,
	declareOsloExchange,
	messageCount,
	openTestBroker,
	uniqueName,
} from '../test/helpers/rabbit';
import { createBenchContext } from './lib/context';
import { n8nModule, percentile, report, requireN8nInstall } from './lib/env';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const ROUTING_KEYS = [
	'esi_leap_versioned_notifications.info',
	'esi_leap_versioned_notifications.error',
];

interface TriggerNode {
	trigger(this: ITriggerFunctions): Promise<ITriggerResponse>;
}

/** What a user writes in the Code node after the RabbitMQ Trigger (JSON parse body: off). */
const CODE_NODE_SOURCE = `
const envelope = JSON.parse(item.content);
if (envelope['oslo.version'] !== '2.0') throw new Error('not an oslo v2 envelope');
const message = JSON.parse(envelope['oslo.message']);
const data = message.payload['esi_leap_object.data'];
result = {
	event: message.event_type.replace('esi_leap.lease.', ''),
	event_type: message.event_type,
	message_id: message.message_id,
	timestamp: message.timestamp,
	lease_uuid: data.uuid,
	lease_status: data.status,
	project_id: data.project_id,
	resource_uuid: data.resource_uuid,
	node_name: data.node_name,
};
`;
const codeAsFunction = new Function('item', `let result; ${CODE_NODE_SOURCE}; return result;`) as (
	item: IDataObject,
) => IDataObject;
const codeScript = new vm.Script(CODE_NODE_SOURCE);
const SELECTED = new Set<string>(SHORT_EVENT_TYPES);

type CodeStep = 'function' | 'vm';

function runCode(step: CodeStep, item: IDataObject): IDataObject {
	if (step === 'function') return codeAsFunction(item);
	const sandbox: { item: IDataObject; result?: IDataObject } = { item };
	codeScript.runInNewContext(sandbox);
	return sandbox.result!;
}

function loadGenericTrigger(): TriggerNode {
	requireN8nInstall();
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const module = require(n8nModule('n8n-nodes-base/dist/nodes/RabbitMQ/RabbitMQTrigger.node.js'));
	return new module.RabbitMQTrigger() as TriggerNode;
}

const captures = loadAmqpCaptures();

function freshMessage(index: number): { id: string; capture: AmqpCapture; body: Buffer } {
	const capture = captures[index % captures.length];
	const id = randomUUID();
	return { id, capture, body: withMessageId(capture, id) };
}

async function publish(channel: Channel, exchange: string, capture: AmqpCapture, body: Buffer) {
	const properties = capture.amqp.properties;
	const ok = channel.publish(exchange, capture.amqp.routing_key, body, {
		contentType: properties.content_type ?? undefined,
		contentEncoding: properties.content_encoding ?? undefined,
		headers: properties.headers,
		deliveryMode: properties.delivery_mode ?? undefined,
		priority: properties.priority ?? undefined,
	});
	if (!ok) await new Promise((resolve) => channel.once('drain', resolve));
}

async function waitUntil(probe: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
	const deadline = Date.now() + timeoutMs;
	while (!(await probe())) {
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}

/** BENCH_PROFILE=prefix: a CPU profile of each throughput run (node:inspector), for tuning. */
async function startProfiler(): Promise<(file: string) => Promise<void>> {
	const inspector = await import('node:inspector/promises');
	const { writeFileSync } = await import('node:fs');
	const session = new inspector.Session();
	session.connect();
	await session.post('Profiler.enable');
	await session.post('Profiler.start');
	return async (file) => {
		const { profile } = await session.post('Profiler.stop');
		writeFileSync(file, JSON.stringify(profile));
		session.disconnect();
	};
}

export interface Variant {
	name: string;
	start(onEvent: (messageId: string) => void): Promise<{
		stop: () => Promise<void>;
		counters: ReturnType<typeof createBenchContext>['counters'];
	}>;
}

export function credentialsFor() {
	const settings = brokerSettings();
	return {
		esiLeapMessageBusApi: busCredentialData(),
		rabbitmq: {
			hostname: settings.host,
			port: settings.port,
			username: settings.username,
			password: settings.password,
			vhost: settings.vhost,
			ssl: false,
		},
	};
}

/** `extra` adds trigger parameters and context (bench/reconcile.ts: reconciliation on). */
export function ours(
	exchange: string,
	queue: string,
	extra?: {
		name: string;
		parameters: IDataObject;
		options: IDataObject;
		httpRequestWithAuthentication: Parameters<
			typeof createBenchContext
		>[0]['httpRequestWithAuthentication'];
	},
): Variant {
	return {
		name: extra?.name ?? 'ESI Leap Trigger (defaults: ack after success, prefetch 10)',
		async start(onEvent) {
			const bench = createBenchContext({
				parameters: {
					mode: 'messageBus',
					events: SHORT_EVENT_TYPES,
					queueName: queue,
					...extra?.parameters,
					options: { exchange, ...extra?.options },
				},
				credentials: credentialsFor(),
				httpRequestWithAuthentication: extra?.httpRequestWithAuthentication,
				// The IF node would see only selected events: the trigger filtered already.
				onExecution: (items) => onEvent(items[0].json.message_id as string),
			});
			const response = await new EsiLeapTrigger().trigger.call(bench.context);
			return { stop: async () => await response.closeFunction?.(), counters: bench.counters };
		},
	};
}

function generic(
	queue: string,
	step: CodeStep,
	ack: 'immediately' | 'executionFinishesSuccessfully',
): Variant {
	const node = loadGenericTrigger();
	const options: IDataObject =
		ack === 'immediately'
			? { assertQueue: false }
			: { assertQueue: false, acknowledge: ack, parallelMessages: 10 };
	return {
		name: `RabbitMQ Trigger (${ack === 'immediately' ? 'default: ack immediately, no limit' : 'ack after success, limit 10'}) → Code (${step === 'vm' ? 'vm sandbox' : 'plain function'}) → IF`,
		async start(onEvent) {
			const bench = createBenchContext({
				parameters: { queue, options },
				credentials: credentialsFor(),
				onExecution: (items: INodeExecutionData[]) => {
					const decoded = runCode(step, items[0].json);
					if (SELECTED.has(decoded.event as string)) onEvent(decoded.message_id as string);
				},
			});
			const response = await node.trigger.call(bench.context);
			return { stop: async () => await response.closeFunction?.(), counters: bench.counters };
		},
	};
}

export async function throughput(
	channel: Channel,
	exchange: string,
	queues: string[],
	variants: Variant[],
) {
	// One copy of every message per queue (each queue is bound to the exchange).
	for (let index = 0; index < MESSAGES; index++) {
		const message = freshMessage(index);
		await publish(channel, exchange, message.capture, message.body);
	}
	for (const queue of queues) {
		await waitUntil(
			async () => (await messageCount(channel, queue)) === MESSAGES,
			120_000,
			`${queue} filled`,
		);
	}
	const results = [];
	for (const [index, variant] of variants.entries()) {
		let events = 0;
		const rssBefore = process.memoryUsage().rss;
		const started = process.hrtime.bigint();
		const profiler = process.env.BENCH_PROFILE ? await startProfiler() : undefined;
		const running = await variant.start(() => events++);
		await waitUntil(() => events >= MESSAGES, 600_000, `${variant.name}: ${MESSAGES} events`);
		await profiler?.(`${process.env.BENCH_PROFILE}-${index}.cpuprofile`);
		const seconds = Number(process.hrtime.bigint() - started) / 1e9;
		await running.stop();
		results.push({
			name: variant.name,
			queue: queues[index],
			messages: MESSAGES,
			seconds,
			eventsPerSecond: MESSAGES / seconds,
			rssDeltaMiB: (process.memoryUsage().rss - rssBefore) / 2 ** 20,
			failedExecutions: running.counters.failedExecutions,
			errors: running.counters.errors + running.counters.logErrors,
		});
		process.stderr.write(
			`[bench:bus] ${variant.name}: ${(MESSAGES / seconds).toFixed(0)} events/s\n`,
		);
	}
	return results;
}

export async function latency(channel: Channel, exchange: string, variant: Variant) {
	const sentAt = new Map<string, bigint>();
	const samples: number[] = [];
	const running = await variant.start((messageId) => {
		const sent = sentAt.get(messageId);
		if (sent !== undefined) samples.push(Number(process.hrtime.bigint() - sent) / 1e6);
	});
	const total = RATE * LATENCY_SECONDS;
	const begin = performance.now();
	for (let index = 0; index < total; index++) {
		// Drift-free schedule: message i goes out at begin + i / rate.
		const due = begin + (index * 1000) / RATE;
		const wait = due - performance.now();
		if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
		const message = freshMessage(index);
		sentAt.set(message.id, process.hrtime.bigint());
		await publish(channel, exchange, message.capture, message.body);
	}
	await waitUntil(() => samples.length >= total, 30_000, 'latency samples');
	await running.stop();
	samples.sort((a, b) => a - b);
	return {
		name: variant.name,
		rate: RATE,
		messages: total,
		p50Ms: percentile(samples, 0.5),
		p99Ms: percentile(samples, 0.99),
		maxMs: samples[samples.length - 1],
	};
}

async function main() {
	const { connection, channel } = await openTestBroker();
	const exchange = uniqueName('openstack.bench');
	const ourQueue = uniqueName('esi-leap-bench');
	const genericQueues = [
		uniqueName('rabbitmq-trigger-bench'),
		uniqueName('rabbitmq-trigger-bench'),
		uniqueName('rabbitmq-trigger-bench'),
	];
	await declareOsloExchange(channel, exchange);
	let latencyQueueName: string | undefined;
	try {
		// Our node declares and binds its own queue on activation.
		const declare = await ours(exchange, ourQueue).start(() => undefined);
		await declare.stop();
		for (const queue of genericQueues) {
			await channel.assertQueue(queue, { durable: true });
			for (const key of ROUTING_KEYS) await channel.bindQueue(queue, exchange, key);
		}
		const variants = [
			ours(exchange, ourQueue),
			generic(genericQueues[0], 'function', 'executionFinishesSuccessfully'),
			generic(genericQueues[1], 'vm', 'executionFinishesSuccessfully'),
			generic(genericQueues[2], 'vm', 'immediately'),
		].slice(0, Number(process.env.BENCH_VARIANTS ?? 4));
		const throughputResults = await throughput(
			channel,
			exchange,
			[ourQueue, ...genericQueues],
			variants,
		);
		if (process.env.BENCH_THROUGHPUT_ONLY) {
			report({ throughput: throughputResults });
			return;
		}

		const latencyQueue = uniqueName('rabbitmq-trigger-latency');
		latencyQueueName = latencyQueue;
		// The drained throughput queues would only collect copies of the latency stream.
		for (const queue of genericQueues) await channel.unbindQueue(queue, exchange, ROUTING_KEYS[0]);
		for (const queue of genericQueues) await channel.unbindQueue(queue, exchange, ROUTING_KEYS[1]);
		await channel.assertQueue(latencyQueue, { durable: true });
		for (const key of ROUTING_KEYS) await channel.bindQueue(latencyQueue, exchange, key);
		const oursLatency = await latency(channel, exchange, ours(exchange, ourQueue));
		await channel.purgeQueue(latencyQueue);
		const genericLatency = await latency(
			channel,
			exchange,
			generic(latencyQueue, 'vm', 'executionFinishesSuccessfully'),
		);
		report({ throughput: throughputResults, latency: [oursLatency, genericLatency] });
	} finally {
		await cleanup(connection, {
			exchanges: [exchange],
			queues: [
				ourQueue,
				`${ourQueue}.dead`,
				...genericQueues,
				...(latencyQueueName ? [latencyQueueName] : []),
			],
		});
	}
}

if (require.main === module) {
	main().then(
		() => process.exit(0),
		(error: Error) => {
			process.stderr.write(`${error.stack ?? error.message}\n`);
			process.exit(1);
		},
	);
}
