/**
 * Real n8n 2.41.1 (the e2e install, via test/e2e/harness.ts), side by side in one run: a backlog
 * of captured `fulfill.end` notifications consumed by
 *   - the ESI Leap Trigger with its defaults → IF;
 *   - n8n's RabbitMQ Trigger → Code (decode the oslo envelope) → IF, with its default ack
 *     ("immediately", no limit) and with ack after success + limit 10;
 * and a 90 %-non-matching backlog for ours and the safe built-in path. Each scenario gets a fresh
 * n8n (so peak RSS is its own). Reports executions/s, messages lost (acked, never run), errors,
 * peak RSS and CPU time per execution of n8n's processes. A scenario whose n8n passes BENCH_N8N_RSS_CAP_GIB (default 6) is
 * stopped there, to keep the shared machine alive; the report says so.
 *
 *   tsx bench/n8n.ts   (BENCH_N8N_MESSAGES, default 2000)
 */
import path from 'node:path';
import type { TestProject } from 'vitest/node';

import setupE2e from '../test/e2e/global-setup';
import { linearWorkflow, startN8n, type N8nInstance, type Workflow } from '../test/e2e/harness';
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
const TIMEOUT_MS = 15 * 60_000;
const INFO_KEY = 'esi_leap_versioned_notifications.info';

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

interface Scenario {
	name: string;
	kind: 'ours' | 'generic';
	ack?: 'immediately' | 'executionFinishesSuccessfully';
	/** Share of the backlog that is fulfill.end (the rest: fulfill.start, same routing key). */
	matching: number;
}

const SCENARIOS: Scenario[] = [
	{ name: 'ESI Leap Trigger (defaults) → IF', kind: 'ours', matching: 1 },
	{
		name: 'RabbitMQ Trigger (default: ack immediately) → Code → IF',
		kind: 'generic',
		ack: 'immediately',
		matching: 1,
	},
	{
		name: 'RabbitMQ Trigger (ack after success, limit 10) → Code → IF',
		kind: 'generic',
		ack: 'executionFinishesSuccessfully',
		matching: 1,
	},
	{ name: 'ESI Leap Trigger (defaults) → IF, 90 % not matching', kind: 'ours', matching: 0.1 },
	{
		name: 'RabbitMQ Trigger (ack after success, limit 10) → Code → IF, 90 % not matching',
		kind: 'generic',
		ack: 'executionFinishesSuccessfully',
		matching: 0.1,
	},
];

function workflowFor(scenario: Scenario, queue: string, exchange: string): Workflow {
	if (scenario.kind === 'ours') {
		return linearWorkflow(`bench: ${scenario.name}`, [
			{
				name: 'ESI Leap Trigger',
				type: 'n8n-nodes-esi-leap.esiLeapTrigger',
				parameters: { queueName: queue, options: { exchange } },
				credentials: { esiLeapMessageBusApi: { name: 'bus' } },
			},
			IF_FULFILL_END,
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
	]);
}

interface ExecutionSummary {
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

	const n8n = await startN8n({ name: 'bench' });
	const marker = `N8N_USER_FOLDER=${n8n.userFolder}`;
	const cpu = new CpuAccount(marker);
	const rss = new RssSampler(() => {
		cpu.sample();
		return rssOfProcessesWith(marker);
	}, 250).start();
	const expected = scenario.kind === 'ours' ? matchingCount : MESSAGES;
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
			if (Date.now() - lastChange > STALL_MS || Date.now() - activatedAt > TIMEOUT_MS) break;
		}
		if (!capped) executions = await allExecutions(n8n, workflowId);
		const cpuUse = cpu.used();
		const peak = rss.stop();
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
			executionsPerSecond: finished.length / seconds,
			// n8n's CPU time from activation to the end, per finished execution: main process (the
			// bottleneck: one thread runs every execution) and task runners (Code node).
			mainCpuMsPerExecution: cpuUse.mainMs / finished.length,
			runnerCpuMsPerExecution: cpuUse.othersMs / finished.length,
			seconds,
			acked,
			leftInQueue: remaining,
			lost: Math.max(0, acked - notRunByDesign - executions.length),
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
			if (only && !only.includes(index)) continue;
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
