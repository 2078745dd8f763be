/**
 * Event History mode against the emulator (in its own process, so this process's memory is the
 * trigger's), through the node's trigger() and the real ESI Leap
 * API credential (Keystone login, token reuse), with the lean benchmark context:
 *   1. HTTP requests per idle poll (Keystone + ESI, counted at the client);
 *   2. time and RSS to drain a backlog of BENCH_BACKLOG (100 000) events, one execution each,
 *      and of 10 000 and BENCH_BACKLOG events in batches (Executions: In Batches, 100 per batch),
 *      each drain in a fresh process of its own (see drainInOwnProcess);
 *   3. events/s with lease details on (one lease lookup per event).
 *
 *   tsx bench/history.ts
 */
import { spawn } from 'node:child_process';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import v8 from 'node:v8';

import { report } from './lib/env';
import {
	connectEmulator,
	runAsScript,
	startEmulatorProcess,
	startTrigger,
	until,
	type Emulator,
} from './lib/historyTrigger';
import { ownRss, RssSampler } from './lib/rss';

const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000);
const DETAILS_EVENTS = Number(process.env.BENCH_DETAILS_EVENTS ?? 2_000);
const IDLE_POLLS = 20;
const BATCH_SIZE = 100;
/**
 * V8 sizes the old generation at every major GC from the allocation rate of the last few seconds.
 * The GC forced for the baseline right after start-up (or right after another drain) sees a high
 * rate and lets the old space grow to about 4x the live heap before it collects again; a trigger
 * that has been waiting for events has a low rate. So each drain's process is quiet this long
 * before its baseline, as a long-running n8n would be when a backlog appears. Quiet, V8 also
 * shrinks the young generation, so its regrowth during the drain (to 32 MiB) counts, as in n8n.
 */
const QUIET_MS = 10_000;
/** The peak moves with when V8 collects, so each 100 000-event drain runs this often. */
const RUNS = Number(process.env.BENCH_HISTORY_RUNS ?? 3);
/** Set in a drain's own process: JSON `[count, 'batch' | 'event', keystone URL, ESI URL]`. */
const DRAIN = process.env.BENCH_HISTORY_DRAIN;

async function idlePolls(emulator: Emulator) {
	const trigger = await startTrigger(emulator, { pollIntervalSeconds: 0.05 });
	// Skip the first polls (login, first position), then count over idle ones.
	await until(() => trigger.polls() >= 3, 10_000, 'first polls');
	const requestsBefore = trigger.http.requests.length;
	const pollsBefore = trigger.polls();
	await until(() => trigger.polls() >= pollsBefore + IDLE_POLLS, 20_000, 'idle polls');
	const requests = trigger.http.requests.length - requestsBefore;
	const polls = trigger.polls() - pollsBefore;
	await trigger.stop();
	return { polls, httpRequests: requests, requestsPerIdlePoll: requests / polls };
}

type DrainResult = Awaited<ReturnType<typeof drainBacklog>>;

const MiB = (bytes: number) => bytes / 2 ** 20;

function spaceSizes(): Record<string, number> {
	const sizes: Record<string, number> = {};
	for (const space of v8.getHeapSpaceStatistics()) sizes[space.space_name] = space.space_size;
	return sizes;
}

/** Drains `count` events seeded now (earlier ones are behind the start position). */
async function drainBacklog(emulator: Emulator, count: number, inBatches: boolean) {
	// Seeded rows alternate fulfill.start and fulfill.end; the trigger selects both.
	const { firstId } = (await emulator.control('seed-events', { count })) as { firstId: number };
	await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
	global.gc?.();
	const heapBefore = process.memoryUsage().heapUsed;
	const spacesBefore = spaceSizes();
	const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
	// What the peak consists of: V8's spaces and the network buffers at the highest RSS sample.
	let atPeak = { rss: 0, spaces: spacesBefore, arrayBuffers: arrayBuffersBefore };
	const rss = new RssSampler(() => {
		const value = ownRss();
		if (value > atPeak.rss) {
			atPeak = {
				rss: value,
				spaces: spaceSizes(),
				arrayBuffers: process.memoryUsage().arrayBuffers,
			};
		}
		return value;
	}).start();
	let majorGcs = 0;
	const gcs = new PerformanceObserver((list) => {
		for (const entry of list.getEntries()) {
			const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } };
			if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
		}
	});
	gcs.observe({ entryTypes: ['gc'] });
	const before = ownRss();
	const started = performance.now();
	// This process is the trigger (the emulator has its own): its CPU is the trigger's cost.
	const cpuBefore = process.cpuUsage();
	const trigger = await startTrigger(emulator, {
		pollIntervalSeconds: 0.05,
		startFrom: 'afterEventId',
		startEventId: firstId - 1,
		events: ['fulfill.start', 'fulfill.end'],
		...(inBatches ? { executionPer: 'batch', batchSize: BATCH_SIZE } : {}),
	});
	await until(() => trigger.events() >= count, 600_000, 'the backlog');
	const seconds = (performance.now() - started) / 1000;
	const cpu = process.cpuUsage(cpuBefore);
	const after = ownRss();
	const peak = rss.stop();
	gcs.disconnect();
	await trigger.stop();
	global.gc?.();
	const heapAfterGc = process.memoryUsage().heapUsed;
	const growth = (space: string) => MiB(atPeak.spaces[space] - spacesBefore[space]);
	return {
		events: trigger.events(),
		executions: trigger.executions(),
		polls: trigger.polls(),
		seconds,
		eventsPerSecond: trigger.events() / seconds,
		triggerCpuSeconds: (cpu.user + cpu.system) / 1e6,
		rssBeforeMiB: MiB(before),
		rssAfterMiB: MiB(after),
		peakRssGrowthMiB: MiB(peak - before),
		// At the peak, against the baseline: V8's old and young generation, the network buffers.
		peakOldSpaceGrowthMiB: growth('old_space'),
		peakNewSpaceGrowthMiB: growth('new_space'),
		peakArrayBuffersGrowthMiB: MiB(atPeak.arrayBuffers - arrayBuffersBefore),
		majorGcs,
		heapBeforeMiB: MiB(heapBefore),
		heapAfterGcMiB: MiB(heapAfterGc),
		failedExecutions: trigger.counters.failedExecutions,
	};
}

/**
 * A drain in a fresh process (on the one emulator), so no drain inherits the heap an earlier one
 * left (its size, and the allocation rate V8 sizes the next old generation from).
 */
function drainInOwnProcess(
	emulator: Emulator,
	count: number,
	inBatches: boolean,
): Promise<DrainResult> {
	const spec = [count, inBatches ? 'batch' : 'event', emulator.keystoneUrl, emulator.leaseUrl];
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [...process.execArgv, __filename], {
			env: { ...process.env, BENCH_HISTORY_DRAIN: JSON.stringify(spec) },
			stdio: ['ignore', 'pipe', 'inherit'],
		});
		let stdout = '';
		child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
		child.on('exit', (code) => {
			const line = stdout.split('\n').find((candidate) => candidate.startsWith('BENCH_RESULT '));
			if (code === 0 && line) resolve(JSON.parse(line.slice('BENCH_RESULT '.length)));
			else reject(new Error(`drain of ${count} exited with ${code}`));
		});
	});
}

async function drainMain(spec: string) {
	const [count, mode, keystoneUrl, leaseUrl] = JSON.parse(spec) as [number, string, string, string];
	report(await drainBacklog(connectEmulator(keystoneUrl, leaseUrl), count, mode === 'batch'));
}

async function withLeaseDetails(emulator: Emulator) {
	// Real leases first (each lifecycle writes its own events), then a seeded batch on top.
	for (let index = 0; index < 5; index++) await emulator.control('lifecycle', { ending: 'delete' });
	const trigger = await startTrigger(emulator, {
		pollIntervalSeconds: 0.05,
		events: ['fulfill.end', 'fulfill.start'],
		includeLeaseDetails: true,
	});
	await until(() => trigger.polls() >= 2, 10_000, 'the first poll');
	const leaseLookupsBefore = trigger.leaseLookups();
	const started = performance.now();
	await emulator.control('seed-events', { count: DETAILS_EVENTS });
	await until(() => trigger.events() >= DETAILS_EVENTS, 300_000, 'events with lease details');
	const seconds = (performance.now() - started) / 1000;
	const lookups = trigger.leaseLookups() - leaseLookupsBefore;
	await trigger.stop();
	return {
		events: trigger.events(),
		seconds,
		eventsPerSecond: trigger.events() / seconds,
		leaseLookups: lookups,
	};
}

async function main() {
	const emulator = await startEmulatorProcess();
	try {
		const idle = await idlePolls(emulator);
		process.stderr.write(`[bench:history] idle: ${idle.requestsPerIdlePoll} requests/poll\n`);
		const drainOnce = async (count: number, inBatches: boolean) => {
			const result = await drainInOwnProcess(emulator, count, inBatches);
			process.stderr.write(
				`[bench:history] backlog ${count}${inBatches ? ' in batches' : ''}: ${result.seconds.toFixed(1)} s (trigger CPU ${result.triggerCpuSeconds.toFixed(1)} s), ${result.executions} executions, +${result.peakRssGrowthMiB.toFixed(1)} MiB (old space +${result.peakOldSpaceGrowthMiB.toFixed(1)}, new space +${result.peakNewSpaceGrowthMiB.toFixed(1)}, array buffers +${result.peakArrayBuffersGrowthMiB.toFixed(1)}; ${result.majorGcs} major GCs)\n`,
			);
			return result;
		};
		// The highest peak of RUNS runs is reported (a user meets the worst), with every run's peak.
		const drain = async (count: number, inBatches: boolean, runs: number) => {
			const results: DrainResult[] = [];
			for (let run = 0; run < runs; run++) results.push(await drainOnce(count, inBatches));
			const worst = results.reduce((a, b) => (b.peakRssGrowthMiB > a.peakRssGrowthMiB ? b : a));
			return { ...worst, peakRssGrowthRunsMiB: results.map((result) => result.peakRssGrowthMiB) };
		};
		const backlog = await drain(BACKLOG, false, RUNS);
		const batches = [await drain(10_000, true, 1), await drain(BACKLOG, true, RUNS)];
		const details = await withLeaseDetails(emulator);
		process.stderr.write(
			`[bench:history] lease details: ${details.eventsPerSecond.toFixed(0)}/s\n`,
		);
		report({
			idle,
			backlog,
			batches,
			batchSize: BATCH_SIZE,
			details,
			quietSeconds: QUIET_MS / 1000,
		});
	} finally {
		emulator.stop();
	}
}

runAsScript(DRAIN ? () => drainMain(DRAIN) : main);
