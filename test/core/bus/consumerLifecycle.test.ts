import { afterEach, describe, expect, it } from 'vitest';

import type { ExecutionOutcome } from '../../../nodes/core/bus/ackPolicy';
import type { OutageReport, ReconnectReport } from '../../../nodes/core/bus/consumer';
import {
	captureProperties,
	closeFakeConsumers,
	FAKE_CAPTURE,
	FAKE_QUEUE,
	startOnFakeBroker,
	until,
} from '../../helpers/fakeBroker';
import { withMessageId } from '../../helpers/fixtures';
import { deferred } from '../../helpers/objects';

/**
 * The consumer's connection life on an in-memory broker: reconnects and what they report, the
 * outage notice, a broker-side cancel, and close. The same on a real RabbitMQ (with restarts):
 * test/integration/busConsumer.test.ts and the bus restart tests.
 */
afterEach(closeFakeConsumers);

const succeed = async (): Promise<ExecutionOutcome> => ({ kind: 'succeeded' });
const MARKER = `${FAKE_QUEUE}.alive`;

/** A consumer whose broker went down and refused three reconnects, on a clock the test sets. */
async function brokerDownFor3Attempts() {
	const clock = { ms: 0 };
	const outages: OutageReport[] = [];
	const recoveries: OutageReport[] = [];
	const started = await startOnFakeBroker(succeed, {
		now: () => clock.ms,
		outageNoticeMs: 10_000,
		onOutage: (report) => outages.push(report),
		onRecovered: (report) => recoveries.push(report),
	});
	started.broker.refusing = true;
	started.channel.die();
	await until(() => expect(started.broker.connectAttempts).toBeGreaterThanOrEqual(4));
	return { started, outages, recoveries, clock };
}

describe('BusConsumer connection life', () => {
	it('declares its restart marker and consumes on the first connection without a reconnect report', async () => {
		const reports: ReconnectReport[] = [];
		const { broker, stats } = await startOnFakeBroker(succeed, {
			onReconnected: (report) => reports.push(report),
		});
		expect(broker.declaredExchanges).toEqual([MARKER]);
		expect(stats.reconnects).toBe(0);
		expect(reports).toEqual([]);
	});

	it('reconnects after a lost connection, consumes again and reports the outage window', async () => {
		let clock = 1000;
		const reports: ReconnectReport[] = [];
		const started = await startOnFakeBroker(succeed, {
			now: () => clock,
			onReconnected: (report) => reports.push(report),
		});
		clock = 1500;
		started.channel.die(new Error('connection reset'));
		clock = 1700;
		await until(() => expect(reports).toHaveLength(1));
		expect(reports[0]).toEqual({
			outageStart: 1500,
			outageEnd: 1700,
			attempts: 1,
			exchangeRecreated: false,
			bindingsLost: false,
			queue: FAKE_QUEUE,
		});
		expect(started.stats.reconnects).toBe(1);
		expect(started.logs('warn')).toEqual([
			[
				'Lost the connection to the message bus; reconnecting',
				{ error: 'connection reset', unsettled: 0 },
			],
		]);
		expect(started.logs('info')).toContainEqual([
			'Reconnected to the message bus',
			{ attempts: 1, outageMs: 200 },
		]);
		// The old connection is closed, the new channel consumes.
		expect(started.broker.connections[0].closed).toBe(true);
		const channel = started.broker.current;
		const tag = channel.deliver(
			FAKE_CAPTURE.body,
			captureProperties(FAKE_CAPTURE),
			FAKE_CAPTURE.amqp.routing_key,
		);
		await started.settled();
		expect(channel.acks).toEqual([tag]);
	});

	it('after a broker restart declares the missing exchange and reports the bindings as lost', async () => {
		const reports: ReconnectReport[] = [];
		const started = await startOnFakeBroker(succeed, {
			onReconnected: (report) => reports.push(report),
		});
		// A broker restart drops the non-durable exchanges: oslo's and our marker.
		started.broker.missingExchanges.add('openstack');
		started.broker.missingExchanges.add(MARKER);
		started.channel.die();
		await until(() => expect(reports).toHaveLength(1));
		expect(reports[0]).toMatchObject({ exchangeRecreated: true, bindingsLost: true });
		expect(started.broker.declaredExchanges).toEqual([MARKER, MARKER, 'openstack']);
	});

	it('reports the bindings as lost when only the marker vanished (ESI re-declared its exchange first)', async () => {
		const reports: ReconnectReport[] = [];
		const started = await startOnFakeBroker(succeed, {
			onReconnected: (report) => reports.push(report),
		});
		started.broker.missingExchanges.add(MARKER);
		started.channel.die();
		await until(() => expect(reports).toHaveLength(1));
		expect(reports[0]).toMatchObject({ exchangeRecreated: false, bindingsLost: true });
	});

	it('reports a long outage once, with the attempts and the last error, and then its recovery', async () => {
		const { started, outages, recoveries, clock } = await brokerDownFor3Attempts();
		expect(outages).toEqual([]);
		clock.ms = 10_000;
		await until(() => expect(outages).toHaveLength(1));
		const attemptsAtNotice = outages[0].attempts;
		expect(outages[0]).toMatchObject({
			sinceMs: 10_000,
			lastError: 'connect ECONNREFUSED 127.0.0.1:5672',
		});
		expect(attemptsAtNotice).toBeGreaterThanOrEqual(3);
		const before = started.broker.connectAttempts;
		await until(() => expect(started.broker.connectAttempts).toBeGreaterThan(before + 2));
		expect(outages).toHaveLength(1);

		clock.ms = 12_000;
		started.broker.refusing = false;
		await until(() => expect(recoveries).toHaveLength(1));
		expect(recoveries[0].sinceMs).toBe(12_000);
		expect(recoveries[0].attempts).toBe(started.broker.connectAttempts - 1);
		expect(recoveries[0].lastError).toBe('connect ECONNREFUSED 127.0.0.1:5672');
		expect(started.stats.reconnects).toBe(1);
	});

	it('does not report a short outage', async () => {
		const { started, outages, recoveries } = await brokerDownFor3Attempts();
		started.broker.refusing = false;
		await until(() => expect(started.stats.reconnects).toBe(1));
		expect(outages).toEqual([]);
		expect(recoveries).toEqual([]);
	});

	it('reconnects when the broker cancels the consumer (queue deleted)', async () => {
		const started = await startOnFakeBroker(succeed);
		started.channel.cancelByBroker();
		await until(() => expect(started.stats.reconnects).toBe(1));
		expect(started.broker.connections[0].closed).toBe(true);
		expect(started.broker.connections).toHaveLength(2);
	});

	it('close cancels the consumer, waits for running executions, acks them, removes the marker and closes', async () => {
		const execution = deferred<ExecutionOutcome>();
		const started = await startOnFakeBroker(() => execution.promise);
		const tag = started.send();
		await until(() => expect(started.deliveries).toHaveLength(1));
		const closing = started.consumer.close(5000);
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(started.channel.cancelled).toBe(true);
		expect(started.channel.closed).toBe(false);
		execution.resolve({ kind: 'succeeded' });
		await closing;
		expect(started.channel.acks).toEqual([tag]);
		expect(started.broker.deletedExchanges).toEqual([MARKER]);
		expect(started.channel.closed).toBe(true);
		expect(started.broker.connections[0].closed).toBe(true);
		// Closed on purpose: no reconnect.
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(started.broker.connections).toHaveLength(1);
		expect(started.stats.reconnects).toBe(0);
	});

	it('close gives up on an execution after the drain timeout and leaves its message unacked', async () => {
		const started = await startOnFakeBroker(() => new Promise<ExecutionOutcome>(() => undefined));
		started.send();
		await until(() => expect(started.deliveries).toHaveLength(1));
		await started.consumer.close(30);
		expect(started.channel.acks).toEqual([]);
		expect(started.channel.closed).toBe(true);
		expect(started.consumer.inFlightCount).toBe(1);
	});

	it('close during an outage stops reconnecting', async () => {
		const started = await startOnFakeBroker(succeed);
		started.broker.refusing = true;
		started.channel.die();
		await until(() => expect(started.broker.connectAttempts).toBeGreaterThanOrEqual(3));
		await started.consumer.close(100);
		const attempts = started.broker.connectAttempts;
		started.broker.refusing = false;
		await new Promise((resolve) => setTimeout(resolve, 30));
		expect(started.broker.connectAttempts).toBe(attempts);
		expect(started.stats.reconnects).toBe(0);
	});

	it('a trigger that is not a manual test keeps consuming after the first event', async () => {
		const started = await startOnFakeBroker(succeed);
		const tags = ['first', 'second'].map((id) => started.send({}, withMessageId(FAKE_CAPTURE, id)));
		await started.settled();
		expect(started.deliveries).toHaveLength(2);
		expect(started.channel.acks).toEqual(tags);
		expect(started.channel.cancelled).toBe(false);
	});

	it('a manual test cancels its consumer as soon as the first event is handed over, before it ends', async () => {
		const execution = deferred<ExecutionOutcome>();
		const started = await startOnFakeBroker(() => execution.promise, { stopAfterFirst: true });
		started.send();
		await until(() => expect(started.deliveries).toHaveLength(1));
		expect(started.channel.cancelled).toBe(true);
		execution.resolve({ kind: 'succeeded' });
		await started.settled();
		expect(started.channel.acks).toEqual([1]);
	});

	it('a manual test stops consuming after the first event and acks later ones unrun', async () => {
		const started = await startOnFakeBroker(succeed, { stopAfterFirst: true });
		started.send();
		await started.settled();
		const late = started.send();
		await started.settled();
		expect(started.deliveries).toHaveLength(1);
		expect(started.channel.cancelled).toBe(true);
		expect(started.channel.acks).toContain(late);
		expect(started.stats).toMatchObject({ emitted: 1, filtered: 1 });
	});
});
