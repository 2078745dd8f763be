/**
 * What "Reconcile With Event History" costs in Message Bus mode: our trigger's throughput (a
 * pre-filled queue) and publish → emit latency with reconciliation off and on (bench/bus.ts's
 * measurements, same lean context, real local RabbitMQ), and the ESI Leap requests an idle
 * trigger makes (in-process emulator, admin login through the real credential).
 *
 * With reconciliation on, every bus message is recorded in the ledger (node static data) and a
 * pass reads GET /v1/events every interval; the messages here are captured-shape notifications
 * published straight to the exchange, so the history has no rows to pair: this is the price of
 * the bookkeeping, not of recovering events.
 *
 *   tsx bench/reconcile.ts   (BENCH_RECONCILE_MESSAGES, BENCH_RATE, BENCH_LATENCY_SECONDS,
 *                             BENCH_IDLE_SECONDS to scale)
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { EsiLeapApi } from '../credentials/EsiLeapApi.credentials';
import { EsiLeapTrigger } from '../nodes/EsiLeapTrigger/EsiLeapTrigger.node';
import { startEmulator } from '../test/emulator';
import { apiCredentialData } from '../test/e2e/demo/workflows';
import { createN8nHttp } from '../test/helpers/n8nHttp';
import { cleanup, declareOsloExchange, openTestBroker, uniqueName } from '../test/helpers/rabbit';
import { createBenchContext } from './lib/context';
import { report } from './lib/env';

// bench/bus.ts reads its scale when it loads (below, after this).
process.env.BENCH_MESSAGES = process.env.BENCH_RECONCILE_MESSAGES ?? '5000';
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
/** Short passes, so the measured runs include several of them. */
const INTERVAL_MINUTES = 0.05;
const TOKEN_LIFETIME_SECONDS = 10;

async function main() {
	const bus = await import('./bus');
	const emulator = await startEmulator({
		tickIntervalMs: 0,
		tokenLifetimeSeconds: TOKEN_LIFETIME_SECONDS,
	});
	const http = createN8nHttp({
		esiLeapApi: {
			type: new EsiLeapApi(),
			data: apiCredentialData(emulator, emulator.users.admin) as ICredentialDataDecryptedObject,
		},
	});
	const { connection, channel } = await openTestBroker();
	const exchange = uniqueName('openstack.bench-reconcile');
	const queues = [uniqueName('esi-leap-bench-off'), uniqueName('esi-leap-bench-on')];
	await declareOsloExchange(channel, exchange);
	const reconciling = (queue: string): ReturnType<typeof bus.ours> =>
		bus.ours(exchange, queue, {
			name: `ESI Leap Trigger, Reconcile With Event History on (every ${INTERVAL_MINUTES * 60} s)`,
			parameters: { reconcileWithHistory: true },
			options: { reconcileIntervalMinutes: INTERVAL_MINUTES, reconcileWaitSeconds: 1 },
			httpRequestWithAuthentication: async (name, request) =>
				await http.httpRequestWithAuthentication(name, request, {
					name: 'ESI Leap Trigger',
				} as never),
		});
	try {
		// Each trigger declares and binds its own queue on activation.
		for (const variant of [bus.ours(exchange, queues[0]), reconciling(queues[1])]) {
			await (await variant.start(() => undefined)).stop();
		}
		const variants = [bus.ours(exchange, queues[0]), reconciling(queues[1])];
		const throughput = await bus.throughput(channel, exchange, queues, variants);

		// Latency: one queue bound at a time, the other unbound so it collects nothing.
		const latency = [];
		for (const [index, variant] of variants.entries()) {
			const other = queues[1 - index];
			for (const key of ['info', 'error'])
				await channel.unbindQueue(other, exchange, `esi_leap_versioned_notifications.${key}`);
			await channel.purgeQueue(queues[index]);
			latency.push(await bus.latency(channel, exchange, variant));
			for (const key of ['info', 'error'])
				await channel.bindQueue(other, exchange, `esi_leap_versioned_notifications.${key}`);
		}

		// Idle: no messages, reconciliation on; requests counted at the HTTP layer.
		const before = {
			requests: http.requests.length,
			logins: http.preAuthenticationCalls.esiLeapApi ?? 0,
		};
		const bench = createBenchContext({
			parameters: {
				mode: 'messageBus',
				events: ['fulfill.end', 'delete.end'],
				queueName: queues[1],
				reconcileWithHistory: true,
				options: { exchange, reconcileIntervalMinutes: INTERVAL_MINUTES, reconcileWaitSeconds: 1 },
			},
			credentials: bus.credentialsFor(),
			onExecution: () => undefined,
			httpRequestWithAuthentication: async (name, request) =>
				await http.httpRequestWithAuthentication(name, request, bench.context.getNode()),
		});
		const started = Date.now();
		const response = await new EsiLeapTrigger().trigger.call(bench.context);
		await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
		await response.closeFunction?.();
		const seconds = (Date.now() - started) / 1000;
		const made = http.requests.slice(before.requests);
		const eventReads = made.filter((request) => request.url.includes('/v1/events')).length;
		const logins = (http.preAuthenticationCalls.esiLeapApi ?? 0) - before.logins;
		const passesPerHour = 60 / INTERVAL_MINUTES;
		report({
			throughput,
			latency,
			idle: {
				seconds,
				intervalMinutes: INTERVAL_MINUTES,
				tokenLifetimeSeconds: TOKEN_LIFETIME_SECONDS,
				eventReads,
				otherRequests: made.length - eventReads,
				logins,
				eventReadsPerPass: eventReads / (seconds / (INTERVAL_MINUTES * 60)),
				loginsPerTokenLifetime: logins / (seconds / TOKEN_LIFETIME_SECONDS),
				// At the defaults (every 5 min, Keystone's usual 1 h tokens): one read per pass.
				defaultRequestsPerHour: 60 / 5 + 1,
				measuredRequestsPerHourAtThisInterval: (made.length + logins) * (3600 / seconds),
				passesPerHourAtThisInterval: passesPerHour,
			},
		});
	} finally {
		await cleanup(connection, {
			exchanges: [exchange],
			queues: queues.flatMap((queue) => [queue, `${queue}.dead`]),
		});
		await emulator.stop();
	}
}

main().then(
	() => process.exit(0),
	(error: Error) => {
		process.stderr.write(`${error.stack ?? error.message}\n`);
		process.exit(1);
	},
);
