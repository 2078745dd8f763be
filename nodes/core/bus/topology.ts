import type { ShortEventType } from '../events/types';
import type { BrokerChannel } from './broker';

/**
 * Where the trigger reads from, as data. ESI Leap (oslo.messaging) publishes to the topic
 * exchange `openstack` with routing keys `<topic>.info` / `<topic>.error` (spec §4.4) and declares
 * its own non-durable queues of the same names, which we never touch: by default the trigger
 * binds a durable queue of its own, so it neither steals nor competes.
 */
export const DEFAULT_EXCHANGE = 'openstack';
export const DEFAULT_TOPIC = 'esi_leap_versioned_notifications';

export type Priority = 'info' | 'error';
export const PRIORITIES: readonly Priority[] = ['info', 'error'];

export type QueueChoice =
	/** The trigger's own durable queue, created and bound by us. */
	| { kind: 'own'; name: string }
	/** A queue someone else manages: only checked, never declared or bound. */
	| { kind: 'existing'; name: string }
	/** Manual test: server-named, exclusive, auto-delete; gone when the connection closes. */
	| { kind: 'temporary' };

export interface Topology {
	exchange: string;
	/** `passive` checks it exists; `declare` declares it exactly as oslo does. */
	exchangeMode: 'passive' | 'declare';
	queue: QueueChoice;
	/** Routing keys to bind (own/temporary queues). */
	bindings: string[];
	/** Routing keys of the topic we are not subscribed to any more (own queue only). */
	unbindings: string[];
	/** Null for temporary queues: nothing is dead-lettered during a manual test. */
	deadLetterQueue: string | null;
	/**
	 * A non-durable exchange of ours (`<queue>.alive`, own queue only): it vanishes with oslo's
	 * exchange when the broker restarts, which AMQP offers no other way to notice once ESI has
	 * re-declared `openstack` (bindings cannot be listed over AMQP).
	 */
	restartMarker: string | null;
	/** Where a failed message waits before its retry (own and existing queues). */
	retryQueues: RetryQueue[];
}

export interface RetryQueue {
	name: string;
	delayMs: number;
}

/** `error` events travel with priority ERROR, the others with INFO (spec §4.2). */
export function prioritiesForEvents(events: readonly ShortEventType[]): Priority[] {
	const wanted = new Set(events.map((event) => (event.endsWith('.error') ? 'error' : 'info')));
	return PRIORITIES.filter((priority) => wanted.has(priority));
}

export function routingKey(topic: string, priority: Priority): string {
	return `${topic}.${priority}`;
}

/**
 * Stable across restarts (node ids do not change when a workflow is saved or republished) and
 * unique per workflow node.
 */
export function defaultQueueName(workflowId: string, nodeId: string): string {
	return `n8n-esi-leap.${workflowId}.${nodeId}`;
}

export function defaultDeadLetterQueueName(queue: string): string {
	return `${queue}.dead`;
}

/**
 * One durable queue per retry delay, e.g. `<queue>.retry.10s`. A waiting message carries that
 * delay as its per-message TTL (expiration); when it expires RabbitMQ dead-letters it through
 * the default exchange back to `<queue>` (x-dead-letter-exchange '' and x-dead-letter-routing-key
 * <queue>), persistent and in a durable queue, so it survives n8n and broker restarts meanwhile.
 * One queue per delay because RabbitMQ expires messages only at the head of a queue: a 5-minute
 * message would otherwise hold back the 10-second ones queued behind it. The delay is in the
 * name, so changing the option never meets a queue declared with other arguments.
 */
export function retryQueueName(queue: string, delayMs: number): string {
	return `${queue}.retry.${delayMs / 1000}s`;
}

export function restartMarkerName(queue: string): string {
	return `${queue}.alive`;
}

export interface TopologyInput {
	exchange: string;
	topic: string;
	priorities: readonly Priority[];
	queue: QueueChoice;
	exchangeMode: 'passive' | 'declare';
	/** Empty or undefined: `<queue>.dead`. */
	deadLetterQueue?: string;
	/** Waits before retries (AckPolicy.retryDelaysMs); 0 means at once, no queue. */
	retryDelaysMs?: readonly number[];
}

export function planTopology(input: TopologyInput): Topology {
	const bindings = input.priorities.map((priority) => routingKey(input.topic, priority));
	const unbindings =
		input.queue.kind === 'own'
			? PRIORITIES.filter((priority) => !input.priorities.includes(priority)).map((priority) =>
					routingKey(input.topic, priority),
				)
			: [];
	const deadLetterQueue =
		input.queue.kind === 'temporary'
			? null
			: input.deadLetterQueue?.trim() || defaultDeadLetterQueueName(input.queue.name);
	return {
		exchange: input.exchange,
		exchangeMode: input.exchangeMode,
		queue: input.queue,
		bindings: input.queue.kind === 'existing' ? [] : bindings,
		unbindings,
		deadLetterQueue,
		restartMarker: input.queue.kind === 'own' ? restartMarkerName(input.queue.name) : null,
		retryQueues:
			input.queue.kind === 'temporary'
				? []
				: [...new Set(input.retryDelaysMs ?? [])]
						.filter((delayMs) => delayMs > 0)
						.map((delayMs) => ({
							name: retryQueueName((input.queue as { name: string }).name, delayMs),
							delayMs,
						})),
	};
}

/** The configured exchange exists with other arguments than oslo's (406 PRECONDITION_FAILED). */
export class ExchangeConflictError extends Error {
	constructor(
		readonly exchange: string,
		detail: string,
	) {
		super(
			`Exchange "${exchange}" exists with other arguments than oslo.messaging declares ` +
				`(topic, durable=false, auto_delete=false), so it was left as it is: ${detail}`,
		);
		this.name = 'ExchangeConflictError';
	}
}

function isPreconditionFailed(error: unknown): boolean {
	const code = (error as { code?: unknown } | null)?.code;
	return code === 406 || /PRECONDITION_FAILED/.test(String((error as Error)?.message ?? error));
}

export interface TopologyOptions {
	/**
	 * Declare the exchange (oslo's arguments) when a passive check finds it missing. The consumer
	 * sets this on every reconnect: a broker restart deletes oslo's non-durable exchange with all
	 * its bindings, and ESI re-declares it and publishes within a second of the broker's return.
	 */
	declareMissingExchange: boolean;
	/** Passively check the restart marker before declaring it again (reconnects). */
	checkMarker: boolean;
}

export interface AppliedTopology {
	/** The channel to consume on (a failed passive check replaces the one it closed). */
	channel: BrokerChannel;
	queue: string;
	/** The exchange was missing and this call declared it. */
	exchangeDeclared: boolean;
	/**
	 * The restart marker was missing: the broker lost its non-durable exchanges (and with them our
	 * bindings) since the last connection, even if ESI has already re-declared `openstack`.
	 * Null when not checked or not available.
	 */
	markerLost: boolean | null;
}

/** Runs `step` on `channel`; a broker refusal closes that channel, so a new one is opened. */
async function attempt(
	channel: BrokerChannel,
	open: () => Promise<BrokerChannel>,
	step: (channel: BrokerChannel) => Promise<void>,
): Promise<{ channel: BrokerChannel; error?: unknown }> {
	try {
		await step(channel);
		return { channel };
	} catch (error) {
		await channel.close().catch(() => undefined);
		return { channel: await open(), error };
	}
}

/**
 * Declares/checks everything; returns the channel and the name of the queue to consume.
 * `open` opens a fresh channel on the same connection.
 */
export async function applyTopology(
	open: () => Promise<BrokerChannel>,
	topology: Topology,
	options: TopologyOptions = { declareMissingExchange: false, checkMarker: false },
): Promise<AppliedTopology> {
	let channel = await open();
	let markerLost: boolean | null = null;
	if (topology.restartMarker !== null) {
		const marker = topology.restartMarker;
		if (options.checkMarker) {
			const checked = await attempt(channel, open, (c) => c.checkExchange(marker));
			channel = checked.channel;
			markerLost = checked.error !== undefined;
		}
		// Declared like oslo's exchange so that it shares its fate on a broker restart. Without the
		// permission to declare it (an existing queue of another name) we simply cannot tell.
		const declared = await attempt(channel, open, (c) => c.declareOsloExchange(marker));
		channel = declared.channel;
		if (declared.error !== undefined) markerLost = null;
	}

	let exchangeDeclared = false;
	if (topology.exchangeMode === 'declare' || options.declareMissingExchange) {
		const checked = await attempt(channel, open, (c) => c.checkExchange(topology.exchange));
		channel = checked.channel;
		if (checked.error !== undefined) {
			const refused = await channel.declareOsloExchange(topology.exchange).then(
				() => null,
				(error: unknown) => error,
			);
			if (refused !== null && isPreconditionFailed(refused)) {
				throw new ExchangeConflictError(topology.exchange, String((refused as Error).message));
			}
			if (refused !== null) throw refused;
			exchangeDeclared = true;
		}
	} else {
		await channel.checkExchange(topology.exchange);
	}

	let queue: string;
	switch (topology.queue.kind) {
		case 'own':
			queue = (
				await channel.declareQueue(topology.queue.name, {
					durable: true,
					exclusive: false,
					autoDelete: false,
				})
			).queue;
			break;
		case 'existing':
			queue = (await channel.checkQueue(topology.queue.name)).queue;
			break;
		case 'temporary':
			queue = (
				await channel.declareQueue('', { durable: false, exclusive: true, autoDelete: true })
			).queue;
			break;
	}
	for (const key of topology.bindings) await channel.bindQueue(queue, topology.exchange, key);
	for (const key of topology.unbindings) await channel.unbindQueue(queue, topology.exchange, key);
	if (topology.deadLetterQueue !== null) {
		await channel.declareQueue(topology.deadLetterQueue, {
			durable: true,
			exclusive: false,
			autoDelete: false,
		});
	}
	return { channel, queue, exchangeDeclared, markerLost };
}

/**
 * Declared on first use (a broker that never sees a failure never gets these queues): durable,
 * dead-lettering through the default exchange back to the consumed queue.
 */
export async function declareRetryQueue(
	channel: BrokerChannel,
	retry: RetryQueue,
	queue: string,
): Promise<void> {
	await channel.declareQueue(retry.name, {
		durable: true,
		exclusive: false,
		autoDelete: false,
		arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue },
	});
}
