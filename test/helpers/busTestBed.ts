import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { ICredentialDataDecryptedObject, IDataObject, ITriggerResponse } from 'n8n-workflow';

import { EsiLeapTrigger } from '../../nodes/EsiLeapTrigger/EsiLeapTrigger.node';
import { brokerSettings, cleanup, declareOsloExchange, openTestBroker, uniqueName } from './rabbit';
import { createFakeTrigger } from './triggerContext';
import type { FakeTrigger, FakeTriggerOptions } from './triggerContext';

/**
 * What every bus test on the real broker sets up the same way: a per-test exchange declared
 * like oslo's `openstack`, a queue name of its own, and the Message Bus triggers it started.
 */

export interface OsloTestBed {
	connection: ChannelModel;
	channel: Channel;
	exchange: string;
	queue: string;
}

/** Opens the test-side connection and declares a fresh oslo exchange; names one queue. */
export async function openOsloTestBed(prefixes: {
	exchange: string;
	queue: string;
}): Promise<OsloTestBed> {
	const { connection, channel } = await openTestBroker();
	const exchange = uniqueName(prefixes.exchange);
	const queue = uniqueName(prefixes.queue);
	await declareOsloExchange(channel, exchange);
	return { connection, channel, exchange, queue };
}

/**
 * Deletes the bed's exchange, its queue and that queue's dead-letter queue, then disconnects.
 * Without a connection (RabbitMQ was unreachable, so openOsloTestBed already failed with how to
 * start it) there is nothing to delete and no second error to add.
 */
export async function closeOsloTestBed(
	bed: Pick<OsloTestBed, 'exchange' | 'queue'> & { connection: ChannelModel | undefined },
	extraQueues: string[] = [],
): Promise<void> {
	if (bed.connection === undefined) return;
	await cleanup(bed.connection, {
		exchanges: [bed.exchange],
		queues: [bed.queue, `${bed.queue}.dead`, ...extraQueues],
	});
}

/** The ESI Leap Message Bus credential pointing at the test broker. */
export function busCredentialData(
	overrides: ICredentialDataDecryptedObject = {},
): ICredentialDataDecryptedObject {
	const settings = brokerSettings();
	return {
		host: settings.host,
		port: settings.port,
		vhost: settings.vhost,
		username: settings.username,
		password: settings.password,
		heartbeat: 30,
		...overrides,
	};
}

export interface RunningTrigger {
	fake: FakeTrigger;
	response: ITriggerResponse;
}

/** Message Bus triggers activated through the node's trigger() on the n8n 2.x fake. */
export class BusTriggers {
	/** Still active; `closeAll` closes them. */
	readonly running: RunningTrigger[] = [];
	/** Every fake ever activated, for scans over all of them (e.g. for leaked secrets). */
	readonly every: FakeTrigger[] = [];
	private readonly node = new EsiLeapTrigger();

	/** Consumes the bed's queue from its exchange; `parameters.options` adds to the exchange. */
	async activate(
		bed: Pick<OsloTestBed, 'exchange' | 'queue'>,
		parameters: IDataObject,
		extra: Partial<FakeTriggerOptions> = {},
		port = brokerSettings().port,
	): Promise<FakeTrigger> {
		const fake = createFakeTrigger({
			parameters: {
				// The bed's queue as the trigger's own queue; an existing queue is named by the test.
				...(parameters.queueSource === 'existing' ? {} : { queueName: bed.queue }),
				...parameters,
				options: { exchange: bed.exchange, ...(parameters.options as IDataObject) },
			},
			credentials: { esiLeapMessageBusApi: busCredentialData({ port, heartbeat: 5 }) },
			...extra,
		});
		this.every.push(fake);
		const response = await this.node.trigger.call(fake.context);
		this.running.push({ fake, response });
		return fake;
	}

	async deactivate(fake: FakeTrigger): Promise<void> {
		const index = this.running.findIndex((entry) => entry.fake === fake);
		const [{ response }] = this.running.splice(index, 1);
		await response.closeFunction?.();
	}

	/** Releases hanging executions so each close can finish, then closes every running trigger. */
	async closeAll(): Promise<void> {
		for (const { fake, response } of this.running.splice(0)) {
			fake.releaseHanging();
			await response.closeFunction?.();
		}
	}
}

export interface OsloListener {
	/** Deletes the exchange and disconnects; safe when opening failed half-way. */
	close(): Promise<void>;
}

/**
 * Declares `exchange` like oslo and hands every message routed by `bindingKey` to `onMessage`
 * (through an exclusive, auto-deleted queue; no acks).
 */
export async function listenOnOsloExchange(
	exchange: string,
	bindingKey: string,
	onMessage: (message: ConsumeMessage) => void,
): Promise<OsloListener> {
	const { connection, channel } = await openTestBroker();
	await declareOsloExchange(channel, exchange);
	const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
	await channel.bindQueue(queue, exchange, bindingKey);
	await channel.consume(queue, (message) => message && onMessage(message), { noAck: true });
	return {
		async close() {
			await channel.deleteExchange(exchange).catch(() => undefined);
			await connection.close();
		},
	};
}
