/**
 * `npm run bench [-- part ...] [--update-results]`: runs each benchmark in its own Node process
 * (so memory numbers are its own), one after the other, and writes the machine, versions,
 * numbers, targets and pass/fail to bench/RESULTS.local.md (git-ignored), or with
 * --update-results to the committed bench/RESULTS.md. Parts: bus, soak, history, n8n, reconcile, watch
 * (default: all). `--help` prints the usage.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { machine } from './lib/env';

const PARTS = {
	bus: 'bus.ts',
	soak: 'busSoak.ts',
	history: 'history.ts',
	n8n: 'n8n.ts',
	reconcile: 'reconcile.ts',
	watch: 'watch.ts',
} as const;
type Part = keyof typeof PARTS;

interface Outcome {
	seconds: number;
	// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each part reports its own shape
	result?: any;
	error?: string;
}

function runPart(part: Part): Promise<Outcome> {
	const started = Date.now();
	return new Promise((resolve) => {
		const child = spawn(
			process.execPath,
			['--expose-gc', '--import', 'tsx', path.join(__dirname, PARTS[part])],
			{ stdio: ['ignore', 'pipe', 'pipe'] },
		);
		let stdout = '';
		let stderrTail = '';
		child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
		child.stderr.on('data', (chunk: Buffer) => {
			process.stderr.write(chunk);
			stderrTail = (stderrTail + chunk.toString()).slice(-2000);
		});
		child.on('exit', (code) => {
			const seconds = (Date.now() - started) / 1000;
			const line = stdout
				.split('\n')
				.reverse()
				.find((candidate) => candidate.startsWith('BENCH_RESULT '));
			if (code === 0 && line) {
				resolve({ seconds, result: JSON.parse(line.slice('BENCH_RESULT '.length)) });
			} else {
				resolve({
					seconds,
					error: `exit ${code}: ${stderrTail.trim().split('\n').slice(-5).join(' | ')}`,
				});
			}
		});
	});
}

const fmt = (value: number, digits = 0) =>
	Number.isFinite(value)
		? value.toLocaleString('en-US', {
				maximumFractionDigits: digits,
				minimumFractionDigits: digits,
			})
		: 'n/a';
const verdict = (pass: boolean) => (pass ? '**pass**' : '**MISS**');

function busSection(outcome: Outcome): string[] {
	if (!outcome.result) return [`Failed: ${outcome.error}`];
	const { throughput, latency } = outcome.result;
	const [ours, ...generic] = throughput;
	const safeVm = generic.find((entry: { name: string }) => /limit 10.*vm/.test(entry.name));
	const safePlain = generic.find((entry: { name: string }) => /limit 10.*plain/.test(entry.name));
	const lines = [
		`${ours.messages.toLocaleString('en-US')} captured-shape notifications pre-filled in one queue per variant; each trigger drains its queue; executions complete at once.`,
		'',
		'| variant | events/s | seconds | ours ÷ this |',
		'| --- | ---: | ---: | ---: |',
		...throughput.map(
			(entry: { name: string; eventsPerSecond: number; seconds: number }) =>
				`| ${entry.name} | ${fmt(entry.eventsPerSecond)} | ${fmt(entry.seconds, 1)} | ${fmt(ours.eventsPerSecond / entry.eventsPerSecond, 2)}× |`,
		),
		'',
		'| latency publish → emit | rate | p50 ms | p99 ms | max ms |',
		'| --- | ---: | ---: | ---: | ---: |',
		...latency.map(
			(entry: { name: string; rate: number; p50Ms: number; p99Ms: number; maxMs: number }) =>
				`| ${entry.name} | ${entry.rate}/s | ${fmt(entry.p50Ms, 2)} | ${fmt(entry.p99Ms, 2)} | ${fmt(entry.maxMs, 1)} |`,
		),
		'',
		'| target | measured | |',
		'| --- | --- | --- |',
		`| ≥ 10 000 events/s | ${fmt(ours.eventsPerSecond)} | ${verdict(ours.eventsPerSecond >= 10_000)} |`,
		`| p99 < 5 ms at 200 events/s | ${fmt(latency[0].p99Ms, 2)} ms | ${verdict(latency[0].p99Ms < 5)} |`,
		`| ≥ 3× the generic trigger (ack after success, limit 10; Code in a vm sandbox) | ${fmt(ours.eventsPerSecond / safeVm.eventsPerSecond, 2)}× | ${verdict(ours.eventsPerSecond / safeVm.eventsPerSecond >= 3)} |`,
		`| same, Code step as a bare function (no sandbox: a lower bound of the Code node's cost) | ${fmt(ours.eventsPerSecond / safePlain.eventsPerSecond, 2)}× | ${verdict(ours.eventsPerSecond / safePlain.eventsPerSecond >= 3)} |`,
	];
	return lines;
}

function reconcileSection(outcome: Outcome): string[] {
	if (!outcome.result) return [`Failed: ${outcome.error}`];
	const { throughput, latency, idle } = outcome.result;
	const [off, on] = throughput;
	return [
		`Our trigger alone, Reconcile With Event History off and on (bench/reconcile.ts): ${off.messages.toLocaleString('en-US')} captured-shape notifications pre-filled per queue, then publish → emit latency; the history has no rows to pair, so this is the bookkeeping's price (the ledger written on every message, a pass every ${fmt(idle.intervalMinutes * 60)} s), not the recovery's.`,
		'',
		'| reconciliation | events/s | seconds | p50 ms | p99 ms | max ms |',
		'| --- | ---: | ---: | ---: | ---: | ---: |',
		...[off, on].map(
			(entry: { eventsPerSecond: number; seconds: number }, index: number) =>
				`| ${index === 0 ? 'off' : 'on'} | ${fmt(entry.eventsPerSecond)} | ${fmt(entry.seconds, 1)} | ${fmt(latency[index].p50Ms, 2)} | ${fmt(latency[index].p99Ms, 2)} | ${fmt(latency[index].maxMs, 1)} |`,
		),
		'',
		`Idle cost, measured for ${fmt(idle.seconds)} s with no messages (passes every ${fmt(idle.intervalMinutes * 60)} s, ${idle.tokenLifetimeSeconds} s tokens, emulator): ${idle.eventReads} GET /v1/events (${fmt(idle.eventReadsPerPass, 2)} per interval, the activation pass included), ${idle.otherRequests} other ESI requests, ${idle.logins} Keystone logins (${fmt(idle.loginsPerTokenLifetime, 2)} per token lifetime). Projected to the defaults (a pass every 5 minutes, a 1-hour Keystone token) with the measured reads per interval: about ${fmt(12 * idle.eventReadsPerPass + 1)} requests per hour (12 intervals × ${fmt(idle.eventReadsPerPass, 2)} reads + 1 login).`,
		'',
		`One run of each at ${off.messages.toLocaleString('en-US')} messages (the bus section above uses many more, so its events/s are higher): on a shared 2-core machine, differences between off and on of a few tens of per cent are within the run-to-run noise.`,
	];
}

function soakSection(outcome: Outcome): string[] {
	if (!outcome.result) return [`Failed: ${outcome.error}`];
	const soak = outcome.result;
	return [
		`${soak.messages.toLocaleString('en-US')} messages in ${fmt(soak.seconds)} s (${fmt(soak.eventsPerSecond)} events/s with the publisher in the same process). Baseline: RSS ${fmt(soak.rssBaselineMiB, 1)} MiB once the trigger is active, before the first message (after GC). RSS after a ${soak.warmupMessages.toLocaleString('en-US')}-message warm-up ${fmt(soak.rssAfterWarmupMiB, 1)} MiB, peak ${fmt(soak.peakRssMiB, 1)} MiB, at the end ${fmt(soak.rssEndMiB, 1)} MiB (${fmt(soak.rssGrowthAfterWarmupMiB, 1)} MiB from the warm value); heap growth from the baseline after GC ${fmt(soak.heapGrowthMiB, 1)} MiB; failed executions ${soak.failedExecutions}, errors ${soak.errors}.`,
		'',
		'| target | measured | |',
		'| --- | --- | --- |',
		`| < 64 MiB RSS growth from the baseline over ${soak.messages.toLocaleString('en-US')} messages (peak) | peak +${fmt(soak.peakRssGrowthMiB, 1)} MiB, end ${fmt(soak.rssGrowthMiB, 1)} MiB | ${verdict(soak.peakRssGrowthMiB < 64)} |`,
	];
}

function historySection(outcome: Outcome): string[] {
	if (!outcome.result) return [`Failed: ${outcome.error}`];
	const { idle, backlog, details, batchSize } = outcome.result;
	const batches = (outcome.result.batches ?? []) as Array<typeof backlog>;
	return [
		`Emulator in its own process; the trigger through the real ESI Leap API credential (Keystone login, token reuse). Each drain runs in a fresh process of its own (on the same emulator), quiet for ${fmt(outcome.result.quietSeconds ?? 0)} s before its baseline (RSS after a forced GC), as a long-running n8n is when a backlog appears. At the highest RSS sample the growth is split into V8's old space (survivors of two young collections, freed only by a major GC), its new space (young generation) and array buffers (network chunks).`,
		'',
		'| measure | value |',
		'| --- | --- |',
		`| HTTP requests per idle poll (over ${idle.polls} polls) | ${fmt(idle.requestsPerIdlePoll, 2)} |`,
		`| drain ${backlog.events.toLocaleString('en-US')}-event backlog (one execution per event) | ${fmt(backlog.seconds, 1)} s, ${fmt(backlog.eventsPerSecond)} events/s${cpuNote(backlog)} |`,
		`| RSS during the drain${runsNote(backlog)} | ${fmt(backlog.rssBeforeMiB, 1)} MiB before, peak +${fmt(backlog.peakRssGrowthMiB, 1)} MiB, ${fmt(backlog.rssAfterMiB, 1)} MiB after${peakRuns(backlog)} |`,
		`| at the RSS peak (${backlog.polls} polls; major GCs in the drain: ${backlog.majorGcs}) | ${peakParts(backlog)} |`,
		`| heap after GC, before → after the drain | ${fmt(backlog.heapBeforeMiB, 1)} → ${fmt(backlog.heapAfterGcMiB, 1)} MiB |`,
		...batches.flatMap((drain) => [
			`| drain ${drain.events.toLocaleString('en-US')}-event backlog in batches of ${batchSize} (${drain.executions.toLocaleString('en-US')} executions) | ${fmt(drain.seconds, 1)} s, ${fmt(drain.eventsPerSecond)} events/s${cpuNote(drain)} |`,
			`| RSS during that drain${runsNote(drain)} | ${fmt(drain.rssBeforeMiB, 1)} MiB before, peak +${fmt(drain.peakRssGrowthMiB, 1)} MiB, ${fmt(drain.rssAfterMiB, 1)} MiB after${peakRuns(drain)}; heap after GC ${fmt(drain.heapBeforeMiB, 1)} → ${fmt(drain.heapAfterGcMiB, 1)} MiB |`,
			`| at the RSS peak (${drain.polls} polls; major GCs in the drain: ${drain.majorGcs}) | ${peakParts(drain)} |`,
		]),
		`| events/s with lease details (${details.events} events, ${details.leaseLookups} lease lookups) | ${fmt(details.eventsPerSecond)} |`,
		'',
		'| target | measured | |',
		'| --- | --- | --- |',
		`| 1 HTTP request per idle poll | ${fmt(idle.requestsPerIdlePoll, 2)} | ${verdict(idle.requestsPerIdlePoll <= 1)} |`,
		`| < 64 MiB RSS growth draining ${backlog.events.toLocaleString('en-US')} events | peak +${fmt(backlog.peakRssGrowthMiB, 1)} MiB (retained heap ${fmt(backlog.heapAfterGcMiB - backlog.heapBeforeMiB, 1)} MiB) | ${verdict(backlog.peakRssGrowthMiB < 64)} |`,
		...batches.map(
			(drain) =>
				`| < 64 MiB RSS growth draining ${drain.events.toLocaleString('en-US')} events in batches | peak +${fmt(drain.peakRssGrowthMiB, 1)} MiB (retained heap ${fmt(drain.heapAfterGcMiB - drain.heapBeforeMiB, 1)} MiB) | ${verdict(drain.peakRssGrowthMiB < 64)} |`,
		),
	];
}

/** The trigger process's CPU time in a drain (older results lack it). */
function cpuNote(drain: { triggerCpuSeconds?: number }): string {
	return drain.triggerCpuSeconds === undefined
		? ''
		: `; the trigger's CPU ${fmt(drain.triggerCpuSeconds, 1)} s (the rest of the wall time is the emulator building each answer)`;
}

/** A drain run several times is reported by its highest peak: that run's figures, every peak. */
function runsNote(drain: { peakRssGrowthRunsMiB?: number[] }): string {
	const runs = drain.peakRssGrowthRunsMiB?.length ?? 1;
	return runs > 1 ? ` (the highest peak of ${runs} runs)` : '';
}

function peakRuns(drain: { peakRssGrowthRunsMiB?: number[] }): string {
	const runs = drain.peakRssGrowthRunsMiB ?? [];
	return runs.length > 1
		? ` (peaks of the runs: ${runs.map((peak) => `+${fmt(peak, 1)}`).join(', ')} MiB)`
		: '';
}

/** A drain's peak split as bench/history.ts measures it (older results lack the split). */
function peakParts(drain: {
	peakOldSpaceGrowthMiB?: number;
	peakNewSpaceGrowthMiB?: number;
	peakArrayBuffersGrowthMiB?: number;
}): string {
	if (drain.peakOldSpaceGrowthMiB === undefined) return 'n/a';
	return `old space +${fmt(drain.peakOldSpaceGrowthMiB, 1)} MiB, new space +${fmt(drain.peakNewSpaceGrowthMiB ?? NaN, 1)} MiB, array buffers +${fmt(drain.peakArrayBuffersGrowthMiB ?? NaN, 1)} MiB`;
}

function watchSection(outcome: Outcome): string[] {
	if (!outcome.result) return [`Failed: ${outcome.error}`];
	const r = outcome.result;
	return [
		`Emulator in its own process with ${r.leases.toLocaleString('en-US')} live leases and ${r.offers.toLocaleString('en-US')} available offers (test_node, seeded); the trigger through the real ESI Leap API credential (admin, All Projects), all five watch events, Lead Times \`7d, 24h, 1h\`, measured over ${r.polls} polls after the baseline (nothing changes between them, so nothing is emitted: ${r.emitted}).`,
		'',
		'| measure | value |',
		'| --- | --- |',
		`| HTTP requests per poll (GET /v1/leases?view=all, GET /v1/offers?status=available; no login) | ${fmt(r.requestsPerPoll, 2)} |`,
		`| time per poll (wall time minus the poll interval; includes the emulator building both lists in its process) | ${fmt(r.msPerPoll)} ms |`,
		`| RSS: before the trigger → after the baseline; peak growth over the polls | ${fmt(r.rssBeforeMiB, 1)} → ${fmt(r.rssAfterBaselineMiB, 1)} MiB; peak +${fmt(r.peakRssGrowthMiB, 1)} MiB |`,
		`| heap after GC, before → after | ${fmt(r.heapBeforeMiB, 1)} → ${fmt(r.heapAfterGcMiB, 1)} MiB |`,
		`| snapshot in static data (JSON) | ${fmt(r.snapshotKiB)} KiB |`,
	];
}

interface N8nScenarioResult {
	name: string;
	messages: number;
	matching: number;
	events: number;
	executions: number;
	finished: number;
	eventsPerSecond: number;
	executionsPerSecond: number;
	mainCpuMsPerExecution: number;
	runnerCpuMsPerExecution: number;
	mainCpuMsPerEvent: number;
	runnerCpuMsPerEvent: number;
	errors: number;
	acked: number;
	lost: number;
	peakRssMiB: number;
	cappedAtRss: boolean;
}

/** n8n's CPU per execution = fixed + per item × items: solved from one-per-event and batch runs. */
function perExecutionSplit(single: N8nScenarioResult, batch: N8nScenarioResult) {
	const cpu = (entry: N8nScenarioResult) =>
		entry.mainCpuMsPerExecution + entry.runnerCpuMsPerExecution;
	const itemsPerBatch = batch.events / batch.finished;
	const perItem = (cpu(batch) - cpu(single)) / (itemsPerBatch - 1);
	return { fixed: cpu(single) - perItem, perItem, itemsPerBatch };
}

function n8nSection(outcome: Outcome): string[] {
	if (!outcome.result) return [`Failed: ${outcome.error}`];
	const { scenarios, rssCapGiB } = outcome.result as {
		scenarios: N8nScenarioResult[];
		rssCapGiB: number;
	};
	const lines = [
		`Real n8n (fresh instance per scenario, sqlite, executions saved), backlog of ${outcome.result.messages} captured notifications published before activation; workflow trigger → IF → Set with a per-item expression. Lost = acked by the trigger but never run (messages ours filters out by design are not counted). A scenario stops when n8n's RSS passes ${rssCapGiB} GiB.`,
		'',
		'| scenario | events run | executions | events/s | executions/s | n8n CPU ms per event: main + task runner | CPU ms per execution | errors | acked | lost | peak RSS MiB | stopped at RSS cap |',
		'| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
		...scenarios.map(
			(entry) =>
				`| ${entry.name} | ${entry.events} | ${entry.executions} | ${fmt(entry.eventsPerSecond, 1)} | ${fmt(entry.executionsPerSecond, 1)} | ${fmt(entry.mainCpuMsPerEvent, 2)} + ${fmt(entry.runnerCpuMsPerEvent, 2)} | ${fmt(entry.mainCpuMsPerExecution + entry.runnerCpuMsPerExecution, 1)} | ${entry.errors} | ${entry.acked} | ${entry.lost} | ${fmt(entry.peakRssMiB)} | ${entry.cappedAtRss ? 'yes' : 'no'} |`,
		),
	];
	const named = (pattern: RegExp) => scenarios.find((entry) => pattern.test(entry.name));
	const batches = named(/^ESI Leap Trigger \(in batches of \d+\) → IF → Set$/);
	const single = named(/^ESI Leap Trigger \(one per event\) → IF → Set$/);
	const safe = named(/^RabbitMQ Trigger \(ack after success, limit 10\) → Code → IF → Set$/);
	const singleLegacy = named(/^ESI Leap Trigger \(one per event\) → IF → Set, legacy/);
	const batchesLegacy = named(/^ESI Leap Trigger \(in batches of \d+\) → IF → Set, legacy/);
	const ours90 = named(/^ESI.*90 %/);
	if (batches && safe) {
		const ratio = batches.eventsPerSecond / safe.eventsPerSecond;
		lines.push(
			'',
			'| target | measured | |',
			'| --- | --- | --- |',
			`| ours in batches ≥ 3× the safe built-in events/s | ${fmt(ratio, 2)}× | ${verdict(ratio >= 3)} |`,
			`| 0 lost (ours in batches) | ${batches.lost} | ${verdict(batches.lost === 0)} |`,
			`| < 1 GB peak RSS (ours in batches) | ${fmt(batches.peakRssMiB)} MiB | ${verdict(batches.peakRssMiB < 1000)} |`,
		);
		if (single) {
			lines.push(
				`| ours one per event: 0 lost, < 1 GB, vs the safe built-in path | ${single.lost} lost, ${fmt(single.peakRssMiB)} MiB, ${fmt(single.eventsPerSecond / safe.eventsPerSecond, 2)}× | ${verdict(single.lost === 0 && single.peakRssMiB < 1000)} |`,
			);
		}
		if (ours90) {
			lines.push(
				`| 90 % not matching: no execution for them | ${ours90.executions} executions for ${ours90.matching} matching of ${ours90.messages} | ${verdict(ours90.executions === ours90.matching)} |`,
			);
		}
	}
	if (batches && single) {
		const split = perExecutionSplit(single, batches);
		lines.push(
			'',
			`Where n8n's CPU goes (ours, default expression engine), solved from the one-per-event and the batch run (CPU per execution = fixed + per item × items, ${fmt(split.itemsPerBatch, 1)} items per batch): **${fmt(split.fixed, 1)} ms fixed per execution** and **${fmt(split.perItem, 2)} ms per item**.`,
		);
		if (singleLegacy && batchesLegacy) {
			const legacy = perExecutionSplit(singleLegacy, batchesLegacy);
			lines.push(
				`With the legacy expression engine: ${fmt(legacy.fixed, 1)} ms fixed and ${fmt(legacy.perItem, 2)} ms per item. So the default engine's fresh sandbox costs about ${fmt(split.fixed - legacy.fixed, 1)} ms per execution and its expressions ${fmt(split.perItem - legacy.perItem, 2)} ms per item; the remaining ${fmt(legacy.fixed, 1)} ms per execution is n8n starting the execution, its lifecycle hooks and event log, and the database writes of the execution (insert, status updates, the saved run data), which this run does not split further.`,
			);
		}
		lines.push(
			`Our trigger's own share is outside these numbers' resolution: decoding, validating and filtering a notification takes about 0.1 ms (the bus part's events/s, lean context). Event History mode hands n8n the same items through the same emit, so n8n's fixed and per-item costs are the same there; its own share per event is the poll's (see the Event History section: the emulator building the answer and the trigger scanning it).`,
		);
	}
	return lines;
}

const USAGE = `Usage: npm run bench [-- [part ...] [--update-results]]

Runs the benchmarks one after the other (all of them: about 18 minutes) and writes
bench/RESULTS.local.md (git-ignored). A partial run keeps the other parts' sections
of the file it writes.

Parts:
  bus       bus mode throughput and latency against n8n's RabbitMQ Trigger (real RabbitMQ)
  soak      bus mode memory over 1 000 000 messages
  history   event history mode against the emulator
  n8n       both triggers side by side in a real n8n 2.41.1
  reconcile bus mode with Reconcile With Event History off and on, and its idle cost
            (BENCH_RECONCILE_MESSAGES, default 5 000: about a minute)
  watch     the lease and offer watch events with 10 000 leases and 1 000 offers
            (BENCH_WATCH_LEASES, BENCH_WATCH_OFFERS, BENCH_WATCH_POLLS: about 30 s)

Options:
  --update-results   write the committed bench/RESULTS.md instead
  -h, --help         print this and exit

How to read the numbers: bench/README.md.`;

/** The parts asked for and where the results go; null when the usage was asked for. */
export function parseArguments(args: string[]): { parts: Part[]; resultsFile: string } | null {
	if (args.includes('--help') || args.includes('-h')) return null;
	const flags = args.filter((arg) => arg.startsWith('-'));
	const unknownFlags = flags.filter((flag) => flag !== '--update-results');
	if (unknownFlags.length)
		throw new Error(`unknown option(s) ${unknownFlags.join(', ')}\n\n${USAGE}`);
	const requested = args.filter((arg) => !arg.startsWith('-'));
	const unknown = requested.filter((part) => !(part in PARTS));
	if (unknown.length)
		throw new Error(
			`unknown part(s) ${unknown.join(', ')}; use ${Object.keys(PARTS).join(', ')}\n\n${USAGE}`,
		);
	return {
		parts: requested.length ? (requested as Part[]) : (Object.keys(PARTS) as Part[]),
		resultsFile: path.join(
			__dirname,
			flags.includes('--update-results') ? 'RESULTS.md' : 'RESULTS.local.md',
		),
	};
}

async function main() {
	const parsed = parseArguments(process.argv.slice(2));
	if (parsed === null) {
		process.stdout.write(`${USAGE}\n`);
		return;
	}
	const { parts, resultsFile } = parsed;
	const requested = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
	const info = machine();
	const date = new Date().toISOString();
	const outcomes: Partial<Record<Part, Outcome>> = {};
	for (const part of parts) {
		process.stderr.write(`[bench] ${part}…\n`);
		outcomes[part] = await runPart(part);
		process.stderr.write(
			`[bench] ${part}: ${fmt(outcomes[part]!.seconds)} s${outcomes[part]!.error ? ` FAILED ${outcomes[part]!.error}` : ''}\n`,
		);
	}
	// A partial run (`npm run bench -- history`) keeps the other parts' sections of the last run.
	const previous = previousSections(resultsFile);
	const section = (part: Part, title: string, render: (outcome: Outcome) => string[]) =>
		outcomes[part]
			? [
					`## ${title}`,
					'',
					`(${fmt(outcomes[part]!.seconds)} s, measured ${date}, load average ${loadAverage()})`,
					'',
					...render(outcomes[part]!),
					'',
				]
			: (previous.get(title) ?? []);
	const lines = [
		'# Benchmark results',
		'',
		`Written by \`npm run bench${requested.length ? ` -- ${requested.join(' ')}` : ''}\` on ${date}. Each section says when it was measured and the load average then: the machine is shared, and a partial run keeps the other sections of the previous run.`,
		'',
		'| machine | |',
		'| --- | --- |',
		...Object.entries(info).map(([key, value]) => `| ${key} | ${value} |`),
		`| load average at end | ${loadAverage()} |`,
		'',
		...section(
			'bus',
			'Bus mode: throughput and latency (real RabbitMQ, lean n8n context)',
			busSection,
		),
		...section('soak', 'Bus mode: memory over a long stream', soakSection),
		...section('history', 'Event History mode (emulator)', historySection),
		...section('n8n', 'Real n8n 2.41.1, side by side', n8nSection),
		...section('reconcile', 'Bus mode: Reconcile With Event History off and on', reconcileSection),
		...section(
			'watch',
			'Event History mode: lease and offer watch events (emulator)',
			watchSection,
		),
	];
	writeFileSync(resultsFile, lines.join('\n'));
	process.stderr.write(`[bench] wrote ${path.relative(process.cwd(), resultsFile)}\n`);
}

if (require.main === module) {
	main().catch((error: Error) => {
		process.stderr.write(`${error.message}\n`);
		process.exit(1);
	});
}

function loadAverage(): string {
	return os
		.loadavg()
		.map((value) => value.toFixed(2))
		.join(' ');
}

/** The `## title` sections of the results file about to be rewritten, by title, with their lines. */
function previousSections(resultsFile: string): Map<string, string[]> {
	const sections = new Map<string, string[]>();
	if (!existsSync(resultsFile)) return sections;
	let current: string[] | undefined;
	for (const line of readFileSync(resultsFile, 'utf8').split('\n')) {
		if (line.startsWith('## ')) {
			current = [line];
			sections.set(line.slice(3), current);
		} else if (current) {
			current.push(line);
		}
	}
	return sections;
}
