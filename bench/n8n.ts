/**
 * Real n8n 2.41.1 (the e2e install, via test/e2e/harness.ts), side by side in one run: a backlog
 * of captured `fulfill.end` notifications consumed by a workflow as a user's would be, trigger →
 * IF → Set with a per-item expression:
 *   - the ESI Leap Trigger in batches (Executions: In Batches, 100 / 1 s) and one per event;
 *   - n8n's RabbitMQ Trigger (ack after success, limit 10) → Code (decode the oslo envelope);
 *   - ours once more with n8n's legacy expression engine (N8N_EXPRESSION_ENGINE=legacy), one per
 *     event and in batches, to split n8n's per-execution cost (bench/README.md);
 * and, on request (BENCH_N8N_SCENARIOS), the earlier scenarios: the built-in trigger's default
 * ack, and 90 %-non-matching backlogs. Each scenario gets a fresh n8n (so peak RSS is its own).
 * Reports events/s and executions/s, messages lost (acked, never run), errors, peak RSS and CPU
 * time of n8n's processes per execution and per event. A scenario whose n8n passes
 * BENCH_N8N_RSS_CAP_GIB (default 6) is stopped there, to keep the shared machine alive.
 *
 *   tsx bench/n8n.ts   (BENCH_N8N_MESSAGES, default 2000)
 */
import path from 'node:path';
import type { TestProject } from 'vitest/node';

import setupE2e from '../test/e2e/global-setup';
import {
	linearWorkflow,
	nodeOutput,
	startN8n,
	type Execution,
	type N8nInstance,
	type Workflow,
} from '../test/e2e/harness';
import { rabbitmqCredentialData } from '../test/e2e/rabbitmq';
import { busCredentialData } from '../test/helpers/busTestBed';
import { loadCapture, withMessageId } from '../test/helpers/fixtures';
import {
	cleanup,
	declareOsloExchange,
	openTestBroker,
	publishCapture,
	uniqueName,
} from '../test/helpers/rabbit';
import { report } from './lib/env';
import { CpuAccount } from './lib/cpu';
import { RssSampler, rssOfProcessesWith } from './lib/rss';

const MESSAGES = Number(process.env.BENCH_N8N_MESSAGES ?? 2_000);
const RSS_CAP = Number(process.env.BENCH_N8N_RSS_CAP_GIB ?? 6) * 2 ** 30;
const STALL_MS = 20_000;
/** In batches: how long nothing new must start, with the queue empty, before the run is done. */
const QUIET_MS = 3_000;
const TIMEOUT_MS = 15 * 60_000;
const INFO_KEY = 'esi_leap_versioned_notifications.info';

const BATCH_SIZE = 100;

/** The node after the IF: one per-item expression, as a user's workflow would have. */
const SET_PER_ITEM = {
	name: 'Set',
	type: 'n8n-nodes-base.set',
	typeVersion: 2,
	parameters: {
		values: { string: [{ name: 'target', value: '=node {{ $json.lease_uuid }}' }] },
		options: {},
	},
};

const IF_FULFILL_END = {
	name: 'IF',
	type: 'n8n-nodes-base.if',
	typeVersion: 1,
	parameters: {
		conditions: {
			string: [{ value1: '={{ $json.event }}', operation: 'equal', value2: 'fulfill.end' }],
		},
	},
};

const DECODE_CODE = `return $input.all().map((item) => {
	const envelope = JSON.parse(item.json.content);
	const message = JSON.parse(envelope['oslo.message']);
	const data = message.payload['esi_leap_object.data'];
	return { json: {
		event: message.event_type.replace('esi_leap.lease.', ''),
		message_id: message.message_id,
		lease_uuid: data.uuid,
		lease_status: data.status,
		project_id: data.project_id,
	} };
});`;

export interface Scenario {
	name: string;
	kind: 'ours' | 'generic';
	ack?: 'immediately' | 'executionFinishesSuccessfully';
	/** Ours: Executions In Batches (Batch Size BATCH_SIZE, wait 1 s) instead of one per event. */
	batches?: boolean;
	/** Share of the backlog that is fulfill.end (the rest: fulfill.start, same routing key). */
	matching: number;
	/** Extra n8n environment. */
	env?: Record<string, string>;
	/** Run only when BENCH_N8N_SCENARIOS names it. */
	onRequest?: boolean;
}

const LEGACY_ENGINE = { N8N_EXPRESSION_ENGINE: 'legacy' };

export const SCENARIOS: Scenario[] = [
	{
		name: `ESI Leap Trigger (in batches of ${BATCH_SIZE}) → IF → Set`,
		kind: 'ours',
		batches: true,
		matching: 1,
	},
	{
		name: 'RabbitMQ Trigger (ack after success, limit 10) → Code → IF → Set',
		kind: 'generic',
		ack: 'executionFinishesSuccessfully',
		matching: 1,
	},
	{ name: 'ESI Leap Trigger (one per event) → IF → Set', kind: 'ours', matching: 1 },
	{
		name: 'ESI Leap Trigger (one per event) → IF → Set, legacy expression engine',
		kind: 'ours',
		matching: 1,
		env: LEGACY_ENGINE,
	},
	{
		name: `ESI Leap Trigger (in batches of ${BATCH_SIZE}) → IF → Set, legacy expression engine`,
		kind: 'ours',
		batches: true,
		matching: 1,
		env: LEGACY_ENGINE,
	},
	{
		name: 'RabbitMQ Trigger (default: ack immediately) → Code → IF → Set',
		kind: 'generic',
		ack: 'immediately',
		matching: 1,
		onRequest: true,
	},
	{
		name: 'ESI Leap Trigger (one per event) → IF → Set, 90 % not matching',
		kind: 'ours',
		matching: 0.1,
		onRequest: true,
	},
	{
		name: 'RabbitMQ Trigger (ack after success, limit 10) → Code → IF → Set, 90 % not matching',
		kind: 'generic',
		ack: 'executionFinishesSuccessfully',
		matching: 0.1,
		onRequest: true,
	},
];

function workflowFor(scenario: Scenario, queue: string, exchange: string): Workflow {
	if (scenario.kind === 'ours') {
		return linearWorkflow(`bench: ${scenario.name}`, [
			{
				name: 'ESI Leap Trigger',
				type: 'n8n-nodes-esi-leap.esiLeapTrigger',
				parameters: {
					queueName: queue,
					...(scenario.batches
						? { executionPer: 'batch', batchSize: BATCH_SIZE, batchMaxWaitMs: 1000 }
						: {}),
					options: { exchange },
				},
				credentials: { esiLeapMessageBusApi: { name: 'bus' } },
			},
			IF_FULFILL_END,
			SET_PER_ITEM,
		]);
	}
	const options =
		scenario.ack === 'immediately' ? {} : { acknowledge: scenario.ack, parallelMessages: 10 };
	return linearWorkflow(`bench: ${scenario.name}`, [
		{
			name: 'RabbitMQ Trigger',
			type: 'n8n-nodes-base.rabbitmqTrigger',
			parameters: { queue, options },
			credentials: { rabbitmq: { name: 'rabbit' } },
		},
		{
			name: 'Code',
			type: 'n8n-nodes-base.code',
			typeVersion: 2,
			parameters: { jsCode: DECODE_CODE },
		},
		IF_FULFILL_END,
		SET_PER_ITEM,
	]);
}

interface ExecutionSummary {
	id: string;
	status: string;
	startedAt: string;
	stoppedAt: string | null;
}

/** Every execution of a workflow (the public API pages by 250). */
async function allExecutions(n8n: N8nInstance, workflowId: string): Promise<ExecutionSummary[]> {
	const all: ExecutionSummary[] = [];
	let cursor: string | undefined;
	do {
		const query = new URLSearchParams({ workflowId, includeData: 'false', limit: '250' });
		if (cursor) query.set('cursor', cursor);
		const page = await n8n.api<{ data: ExecutionSummary[]; nextCursor?: string | null }>(
			'GET',
			`/executions?${query.toString()}`,
		);
		all.push(...page.data);
		cursor = page.nextCursor ?? undefined;
	} while (cursor);
	return all;
}

/** How many events each execution carried (the trigger's output items), from the saved data. */
async function eventsRun(n8n: N8nInstance, executions: ExecutionSummary[]): Promise<number> {
	let events = 0;
	for (const execution of executions) {
		const full = await n8n.api<{ id: string; data?: Execution['data'] }>(
			'GET',
			`/executions/${execution.id}?includeData=true`,
		);
		events += nodeOutput(full, 'ESI Leap Trigger').length;
	}
	return events;
}

async function runScenario(scenario: Scenario) {
	const { connection, channel } = await openTestBroker();
	const exchange = uniqueName('openstack.bench-n8n');
	const queue = uniqueName('bench-n8n');
	await declareOsloExchange(channel, exchange);
	await channel.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false });
	await channel.bindQueue(queue, exchange, INFO_KEY);

	const fulfillEnd = loadCapture('amqp-lease-fulfill-end');
	const fulfillStart = loadCapture('amqp-lease-fulfill-start');
	const matchingCount = Math.round(MESSAGES * scenario.matching);
	// Spread the matching ones evenly through the backlog.
	for (let index = 0; index < MESSAGES; index++) {
		const matches =
			Math.floor(((index + 1) * matchingCount) / MESSAGES) >
			Math.floor((index * matchingCount) / MESSAGES);
		const capture = matches ? fulfillEnd : fulfillStart;
		publishCapture(channel, exchange, capture, withMessageId(capture, `bench-${index}-${queue}`));
	}
	await new Promise((resolve) => setTimeout(resolve, 500));

	const n8n = await startN8n({ name: 'bench', env: scenario.env });
	const marker = `N8N_USER_FOLDER=${n8n.userFolder}`;
	const cpu = new CpuAccount(marker);
	const rss = new RssSampler(() => {
		cpu.sample();
		return rssOfProcessesWith(marker);
	}, 250).start();
	// In batches the number of executions is not known up front: done when the queue is empty,
	// every execution finished and nothing new started for QUIET_MS.
	const expected = scenario.batches
		? Infinity
		: scenario.kind === 'ours'
			? matchingCount
			: MESSAGES;
	let capped = false;
	let stopped = false;
	try {
		if (scenario.kind === 'ours') {
			await n8n.createCredential({
				name: 'bus',
				type: 'esiLeapMessageBusApi',
				data: busCredentialData({ tls: false }),
			});
		} else {
			await n8n.createCredential({
				name: 'rabbit',
				type: 'rabbitmq',
				data: rabbitmqCredentialData(),
			});
		}
		const workflowId = await n8n.createWorkflow(workflowFor(scenario, queue, exchange));
		const idleRss = rss.sample();
		cpu.mark();
		const activatedAt = Date.now();
		await n8n.activateWorkflow(workflowId);

		let executions: ExecutionSummary[] = [];
		let lastCount = -1;
		let lastChange = Date.now();
		for (;;) {
			await new Promise((resolve) => setTimeout(resolve, 1000));
			if (rss.peak > RSS_CAP) {
				capped = true;
				break;
			}
			executions = await allExecutions(n8n, workflowId);
			const finished = executions.filter((execution) => execution.stoppedAt).length;
			if (finished !== lastCount) {
				lastCount = finished;
				lastChange = Date.now();
			}
			if (finished >= expected) break;
			if (
				scenario.batches &&
				finished > 0 &&
				finished === executions.length &&
				Date.now() - lastChange >= QUIET_MS &&
				(await channel.checkQueue(queue)).messageCount === 0
			)
				break;
			if (Date.now() - lastChange > STALL_MS || Date.now() - activatedAt > TIMEOUT_MS) break;
		}
		if (!capped) executions = await allExecutions(n8n, workflowId);
		const cpuUse = cpu.used();
		const peak = rss.stop();
		// After the CPU and RSS readings: reading execution data costs n8n work of its own.
		const events = scenario.batches
			? await eventsRun(
					n8n,
					executions.filter((execution) => execution.stoppedAt),
				)
			: executions.length;
		await n8n.stop();
		stopped = true;
		const remaining = (await channel.checkQueue(queue)).messageCount;
		const finished = executions.filter((execution) => execution.stoppedAt);
		const lastStop = Math.max(...finished.map((execution) => Date.parse(execution.stoppedAt!)));
		const seconds = finished.length ? (lastStop - activatedAt) / 1000 : Number.NaN;
		const acked = MESSAGES - remaining;
		// Ours acks non-matching messages without an execution, by design; they are not lost.
		const notRunByDesign = scenario.kind === 'ours' ? MESSAGES - matchingCount : 0;
		const result = {
			name: scenario.name,
			messages: MESSAGES,
			matching: matchingCount,
			executions: executions.length,
			finished: finished.length,
			errors: executions.filter((execution) => ['error', 'crashed'].includes(execution.status))
				.length,
			events,
			eventsPerSecond: events / seconds,
			executionsPerSecond: finished.length / seconds,
			// n8n's CPU time from activation to the end, per finished execution: main process (the
			// bottleneck: one thread runs every execution) and task runners (Code node).
			mainCpuMsPerExecution: cpuUse.mainMs / finished.length,
			runnerCpuMsPerExecution: cpuUse.othersMs / finished.length,
			mainCpuMsPerEvent: cpuUse.mainMs / events,
			runnerCpuMsPerEvent: cpuUse.othersMs / events,
			seconds,
			acked,
			leftInQueue: remaining,
			lost: Math.max(0, acked - notRunByDesign - events),
			idleRssMiB: idleRss / 2 ** 20,
			peakRssMiB: peak / 2 ** 20,
			cappedAtRss: capped,
		};
		process.stderr.write(`[bench:n8n] ${JSON.stringify(result)}\n`);
		return result;
	} finally {
		if (!stopped) {
			rss.stop();
			await n8n.stop();
		}
		await cleanup(connection, { exchanges: [exchange], queues: [queue, `${queue}.dead`] });
	}
}

async function main() {
	// Build, pack and install this package once, exactly as the e2e suite does.
	const teardown = await setupE2e({
		config: { root: path.join(__dirname, '..') },
	} as unknown as TestProject);
	try {
		const only = process.env.BENCH_N8N_SCENARIOS?.split(',').map(Number);
		const results = [];
		for (const [index, scenario] of SCENARIOS.entries()) {
			if (only ? !only.includes(index) : scenario.onRequest) continue;
			results.push(await runScenario(scenario));
		}
		report({ messages: MESSAGES, rssCapGiB: RSS_CAP / 2 ** 30, scenarios: results });
	} finally {
		teardown();
	}
}

main().then(
	() => process.exit(0),
	(error: Error) => {
		process.stderr.write(`${error.stack ?? error.message}\n`);
		process.exit(1);
	},
);
