/**
 * Event History mode against the emulator (in its own process, so this process's memory is the
 * trigger's), through the node's trigger() and the real ESI Leap
 * API credential (Keystone login, token reuse), with the lean benchmark context:
 *   1. HTTP requests per idle poll (Keystone + ESI, counted at the client);
 *   2. time and RSS to drain a backlog of BENCH_BACKLOG (100 000) events, one execution each,
 *      and of 10 000 and BENCH_BACKLOG events in batches (Executions: In Batches, 100 per batch);
 *   3. events/s with lease details on (one lease lookup per event).
 *
 *   tsx bench/history.ts
 */
import { report } from './lib/env';
import {
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

/** Drains `count` events seeded now (earlier ones are behind the start position). */
async function drainBacklog(emulator: Emulator, count: number, inBatches: boolean) {
	// Seeded rows alternate fulfill.start and fulfill.end; the trigger selects both.
	const { firstId } = (await emulator.control('seed-events', { count })) as { firstId: number };
	global.gc?.();
	const heapBefore = process.memoryUsage().heapUsed;
	const rss = new RssSampler(ownRss).start();
	const before = ownRss();
	const started = performance.now();
	const trigger = await startTrigger(emulator, {
		pollIntervalSeconds: 0.05,
		startFrom: 'afterEventId',
		startEventId: firstId - 1,
		events: ['fulfill.start', 'fulfill.end'],
		...(inBatches ? { executionPer: 'batch', batchSize: BATCH_SIZE } : {}),
	});
	await until(() => trigger.events() >= count, 600_000, 'the backlog');
	const seconds = (performance.now() - started) / 1000;
	const after = ownRss();
	const peak = rss.stop();
	await trigger.stop();
	global.gc?.();
	const heapAfterGc = process.memoryUsage().heapUsed;
	return {
		events: trigger.events(),
		executions: trigger.executions(),
		seconds,
		eventsPerSecond: trigger.events() / seconds,
		rssBeforeMiB: before / 2 ** 20,
		rssAfterMiB: after / 2 ** 20,
		peakRssGrowthMiB: (peak - before) / 2 ** 20,
		heapBeforeMiB: heapBefore / 2 ** 20,
		heapAfterGcMiB: heapAfterGc / 2 ** 20,
		failedExecutions: trigger.counters.failedExecutions,
	};
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
		const drain = async (count: number, inBatches: boolean) => {
			const result = await drainBacklog(emulator, count, inBatches);
			process.stderr.write(
				`[bench:history] backlog ${count}${inBatches ? ' in batches' : ''}: ${result.seconds.toFixed(1)} s, ${result.executions} executions, +${result.peakRssGrowthMiB.toFixed(1)} MiB\n`,
			);
			return result;
		};
		const backlog = await drain(BACKLOG, false);
		const batches = [await drain(10_000, true), await drain(BACKLOG, true)];
		const details = await withLeaseDetails(emulator);
		process.stderr.write(
			`[bench:history] lease details: ${details.eventsPerSecond.toFixed(0)}/s\n`,
		);
		report({ idle, backlog, batches, batchSize: BATCH_SIZE, details });
	} finally {
		emulator.stop();
	}
}

runAsScript(main);
