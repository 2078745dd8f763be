/**
 * RSS growth of Bus mode over BENCH_SOAK_MESSAGES (1 000 000) messages through the real RabbitMQ,
 * with the lean context (executions complete at once). A publisher in this process keeps the
 * queue about 5 000 deep. Growth is measured from the baseline: the RSS (after a GC) once the
 * trigger is active and before the first message; sampled every 250 ms from there to the end.
 * The RSS after a warm-up of 50 000 messages is reported too, to tell start-up from drift.
 *
 *   node --expose-gc --import tsx bench/busSoak.ts
 */
import { randomUUID } from 'node:crypto';

import { SHORT_EVENT_TYPES } from '../nodes/core/events/types';
import { EsiLeapTrigger } from '../nodes/EsiLeapTrigger/EsiLeapTrigger.node';
import { loadAmqpCaptures, withMessageId } from '../test/helpers/fixtures';
import {
	brokerSettings,
	cleanup,
	declareOsloExchange,
	openTestBroker,
	uniqueName,
} from '../test/helpers/rabbit';
import { createBenchContext } from './lib/context';
import { report } from './lib/env';
import { ownRss, RssSampler } from './lib/rss';

const TOTAL = Number(process.env.BENCH_SOAK_MESSAGES ?? 1_000_000);
const WARMUP = Math.min(50_000, Math.floor(TOTAL / 10));
const DEPTH = 5_000;

async function main() {
	const captures = loadAmqpCaptures();
	const { connection, channel } = await openTestBroker();
	const exchange = uniqueName('openstack.soak');
	const queue = uniqueName('esi-leap-soak');
	await declareOsloExchange(channel, exchange);
	const settings = brokerSettings();
	let emitted = 0;
	const bench = createBenchContext({
		parameters: {
			mode: 'messageBus',
			events: SHORT_EVENT_TYPES,
			queueName: queue,
			options: { exchange },
		},
		credentials: {
			esiLeapMessageBusApi: {
				host: settings.host,
				port: settings.port,
				vhost: settings.vhost,
				username: settings.username,
				password: settings.password,
				heartbeat: 30,
			},
		},
		onExecution: () => {
			emitted++;
		},
	});
	const response = await new EsiLeapTrigger().trigger.call(bench.context);
	global.gc?.();
	const baseline = { rss: ownRss(), heap: process.memoryUsage().heapUsed };
	const rss = new RssSampler(ownRss, 250).start();
	const started = performance.now();
	let published = 0;
	let warm: { rss: number; heap: number; at: number } | undefined;
	try {
		while (emitted < TOTAL) {
			while (published < TOTAL && published - emitted < DEPTH) {
				const capture = captures[published % captures.length];
				const properties = capture.amqp.properties;
				const ok = channel.publish(
					exchange,
					capture.amqp.routing_key,
					withMessageId(capture, randomUUID()),
					{
						contentType: properties.content_type ?? undefined,
						deliveryMode: properties.delivery_mode ?? undefined,
						headers: properties.headers,
					},
				);
				published++;
				if (!ok) await new Promise((resolve) => channel.once('drain', resolve));
			}
			await new Promise((resolve) => setTimeout(resolve, 5));
			if (!warm && emitted >= WARMUP) {
				global.gc?.();
				warm = { rss: ownRss(), heap: process.memoryUsage().heapUsed, at: emitted };
			}
			if (emitted > 0 && emitted % 100_000 < 50)
				process.stderr.write(`[bench:soak] ${emitted} (${(ownRss() / 2 ** 20).toFixed(0)} MiB)\n`);
		}
		const seconds = (performance.now() - started) / 1000;
		const peak = rss.stop();
		global.gc?.();
		const end = { rss: ownRss(), heap: process.memoryUsage().heapUsed };
		report({
			messages: TOTAL,
			seconds,
			eventsPerSecond: TOTAL / seconds,
			rssBaselineMiB: baseline.rss / 2 ** 20,
			warmupMessages: warm!.at,
			rssAfterWarmupMiB: warm!.rss / 2 ** 20,
			rssEndMiB: end.rss / 2 ** 20,
			peakRssMiB: peak / 2 ** 20,
			rssGrowthMiB: (end.rss - baseline.rss) / 2 ** 20,
			peakRssGrowthMiB: (peak - baseline.rss) / 2 ** 20,
			rssGrowthAfterWarmupMiB: (end.rss - warm!.rss) / 2 ** 20,
			heapGrowthMiB: (end.heap - baseline.heap) / 2 ** 20,
			failedExecutions: bench.counters.failedExecutions,
			errors: bench.counters.errors + bench.counters.logErrors,
		});
	} finally {
		await response.closeFunction?.();
		await cleanup(connection, { exchanges: [exchange], queues: [queue, `${queue}.dead`] });
	}
}

main().then(
	() => process.exit(0),
	(error: Error) => {
		process.stderr.write(`${error.stack ?? error.message}\n`);
		process.exit(1);
	},
);
