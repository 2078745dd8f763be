import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelModel } from 'amqplib';

import {
	AMQP_URL,
	cleanup,
	declareOsloExchange,
	openTestBroker,
	uniqueName,
} from '../../helpers/rabbit';
import { cleanDemoBroker, type DemoBrokerNames } from './cleanup';

/** What a demo run leaves, named independently of demoQueues() so a name it forgets shows. */
function leftovers(names: DemoBrokerNames): string[] {
	return [
		names.queue,
		`${names.queue}.dead`,
		...retryQueues(names),
		`${names.topic}.info`,
		`${names.topic}.error`,
	];
}

/** The trigger's defaults: retries after 10 s, 1 min and 5 min, each waiting in its own queue. */
function retryQueues(names: DemoBrokerNames): string[] {
	return ['10s', '60s', '300s'].map((delay) => `${names.queue}.retry.${delay}`);
}

/** Unique stand-ins for `openstack`, `n8n-esi-leap-demo` and oslo's notification topic. */
function uniqueDemoNames(): DemoBrokerNames {
	return {
		exchange: uniqueName('openstack.democlean'),
		queue: uniqueName('n8n-esi-leap-demo.clean'),
		topic: uniqueName('esi_leap_versioned_notifications.clean'),
	};
}

async function exists(
	connection: ChannelModel,
	kind: 'queue' | 'exchange',
	name: string,
): Promise<boolean> {
	const channel = await connection.createChannel();
	channel.on('error', () => undefined);
	try {
		await (kind === 'queue' ? channel.checkQueue(name) : channel.checkExchange(name));
		return true;
	} catch {
		return false;
	} finally {
		await channel.close().catch(() => undefined);
	}
}

/** Leaves on the broker what a demo run leaves: the trigger's queues, oslo's queues with messages. */
async function leaveDemoState(
	channel: Awaited<ReturnType<typeof openTestBroker>>['channel'],
	names: DemoBrokerNames,
) {
	await declareOsloExchange(channel, names.exchange);
	await channel.assertQueue(names.queue, { durable: true });
	await channel.bindQueue(names.queue, names.exchange, `${names.topic}.info`);
	await channel.assertQueue(`${names.queue}.dead`, { durable: true });
	for (const queue of retryQueues(names)) await channel.assertQueue(queue, { durable: true });
	await declareOsloExchange(channel, `${names.queue}.alive`);
	for (const priority of ['info', 'error']) {
		const queue = `${names.topic}.${priority}`;
		await channel.assertQueue(queue, { durable: false, autoDelete: false });
		await channel.bindQueue(queue, names.exchange, queue);
	}
	for (let i = 0; i < 4; i++)
		channel.publish(names.exchange, `${names.topic}.info`, Buffer.from(`{"n":${i}}`));
	// a round trip, so the four messages are routed before the cleanup looks
	await channel.checkQueue(names.queue);
}

describe('npm run demo:clean / Ctrl-C cleanup on the real broker', () => {
	const opened: Array<{ connection: ChannelModel; queues: string[]; exchanges: string[] }> = [];

	afterEach(async () => {
		for (const { connection, queues, exchanges } of opened.splice(0))
			await cleanup(connection, { queues, exchanges });
	});

	it('deletes the trigger queue, its dead-letter and retry queues, its restart marker, the oslo queues and then the exchange', async () => {
		const names = uniqueDemoNames();
		const { connection, channel } = await openTestBroker();
		opened.push({
			connection,
			queues: leftovers(names),
			exchanges: [names.exchange, `${names.queue}.alive`],
		});
		await leaveDemoState(channel, names);

		const report = await cleanDemoBroker(AMQP_URL, names);

		expect(report.queues).toEqual([
			{ name: names.queue, messages: 4 },
			{ name: `${names.queue}.dead`, messages: 0 },
			...retryQueues(names).map((name) => ({ name, messages: 0 })),
			{ name: `${names.topic}.info`, messages: 4 },
			{ name: `${names.topic}.error`, messages: 0 },
		]);
		expect(report.markerDeleted).toBe(true);
		expect(report.exchangeDeleted).toBe(true);
		expect(await exists(connection, 'exchange', `${names.queue}.alive`)).toBe(false);
		for (const queue of leftovers(names))
			expect(await exists(connection, 'queue', queue)).toBe(false);
		expect(await exists(connection, 'exchange', names.exchange)).toBe(false);
	});

	it("keeps the exchange, and a queue it does not own, while someone else's queue is bound there", async () => {
		const names = uniqueDemoNames();
		const foreign = uniqueName('someone-else');
		const { connection, channel } = await openTestBroker();
		opened.push({
			connection,
			queues: [...leftovers(names), foreign],
			exchanges: [names.exchange, `${names.queue}.alive`],
		});
		await leaveDemoState(channel, names);
		await channel.assertQueue(foreign, { durable: false });
		await channel.bindQueue(foreign, names.exchange, '#');

		const report = await cleanDemoBroker(AMQP_URL, names);

		expect(report.exchangeDeleted).toBe(false);
		expect(report.exchangeKept).toMatch(/still bound/);
		expect(await exists(connection, 'exchange', names.exchange)).toBe(true);
		expect(await exists(connection, 'queue', foreign)).toBe(true);
		for (const queue of leftovers(names))
			expect(await exists(connection, 'queue', queue)).toBe(false);
	});

	it('reports nothing to do when the demo left nothing', async () => {
		const report = await cleanDemoBroker(AMQP_URL, uniqueDemoNames());
		expect(report).toEqual({ queues: [], markerDeleted: false, exchangeDeleted: false });
	});

	it('fails saying how to start RabbitMQ when it is unreachable', async () => {
		await expect(
			cleanDemoBroker('amqp://guest:guest@127.0.0.1:1', uniqueDemoNames()),
		).rejects.toThrow(
			/not reachable at amqp:\/\/\*\*\*@127\.0\.0\.1:1 .*rabbitmq-server -detached/,
		);
	});
});
