/**
 * The lease and offer watch events (Event History mode) against the emulator in its own process,
 * through the node's trigger() and the real ESI Leap API credential (the emulator's admin, All
 * Projects), with BENCH_WATCH_LEASES (10 000) live leases and BENCH_WATCH_OFFERS (1 000) offers:
 *   1. HTTP requests per poll once the baseline is taken (Keystone + ESI, counted at the client);
 *   2. time per poll (wall time of the polls minus the poll interval);
 *   3. RSS and heap (after GC) before the trigger, after the baseline and over the polls, and the
 *      size of the snapshot in static data (JSON).
 *
 *   tsx bench/watch.ts
 */
import { report } from './lib/env';
import { runAsScript, startEmulatorProcess, startTrigger, until } from './lib/historyTrigger';
import { ownRss, RssSampler } from './lib/rss';

const LEASES = Number(process.env.BENCH_WATCH_LEASES ?? 10_000);
const OFFERS = Number(process.env.BENCH_WATCH_OFFERS ?? 1_000);
const POLLS = Number(process.env.BENCH_WATCH_POLLS ?? 20);
const INTERVAL_SECONDS = 0.05;
const MiB = 2 ** 20;

async function main() {
	const emulator = await startEmulatorProcess();
	try {
		await emulator.control('seed-leases', { count: LEASES });
		await emulator.control('seed-offers', { count: OFFERS });
		global.gc?.();
		const heapBefore = process.memoryUsage().heapUsed;
		const rssBefore = ownRss();
		const rss = new RssSampler(ownRss).start();
		const trigger = await startTrigger(emulator, {
			pollIntervalSeconds: INTERVAL_SECONDS,
			events: [
				'lease.created',
				'lease.end_time_changed',
				'lease.ending_soon',
				'offer.available',
				'offer.gone',
			],
			leadTimes: '7d, 24h, 1h',
			options: { allProjects: true },
		});
		const leaseLists = () =>
			trigger.http.requests.filter((request) => /\/v1\/leases(\?|$)/.test(request.url)).length;
		// The activation took the baseline; skip one more poll, then measure.
		await until(() => leaseLists() >= 2, 120_000, 'the baseline');
		const rssAfterBaseline = ownRss();
		const requestsBefore = trigger.http.requests.length;
		const listsBefore = leaseLists();
		const started = performance.now();
		await until(() => leaseLists() >= listsBefore + POLLS, 600_000, `${POLLS} polls`);
		const seconds = (performance.now() - started) / 1000;
		const polls = leaseLists() - listsBefore;
		const requests = trigger.http.requests.length - requestsBefore;
		const peak = rss.stop();
		const snapshotBytes = Buffer.byteLength(JSON.stringify(trigger.staticData()));
		const emitted = trigger.events();
		await trigger.stop();
		global.gc?.();
		const heapAfterGc = process.memoryUsage().heapUsed;
		const result = {
			leases: LEASES,
			offers: OFFERS,
			polls,
			requestsPerPoll: requests / polls,
			msPerPoll: (seconds * 1000) / polls - INTERVAL_SECONDS * 1000,
			rssBeforeMiB: rssBefore / MiB,
			rssAfterBaselineMiB: rssAfterBaseline / MiB,
			peakRssGrowthMiB: (peak - rssBefore) / MiB,
			heapBeforeMiB: heapBefore / MiB,
			heapAfterGcMiB: heapAfterGc / MiB,
			snapshotKiB: snapshotBytes / 1024,
			emitted,
		};
		process.stderr.write(
			`[bench:watch] ${result.requestsPerPoll} requests/poll, ${result.msPerPoll.toFixed(0)} ms/poll, peak +${result.peakRssGrowthMiB.toFixed(1)} MiB\n`,
		);
		report(result);
	} finally {
		emulator.stop();
	}
}

runAsScript(main);
