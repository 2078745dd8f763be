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

export interface TopologyInput {
	exchange: string;
	topic: string;
	priorities: readonly Priority[];
	queue: QueueChoice;
	exchangeMode: 'passive' | 'declare';
	/** Empty or undefined: `<queue>.dead`. */
	deadLetterQueue?: string;
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
	};
}

/** Declares/checks everything on a fresh channel; returns the name of the queue to consume. */
export async function applyTopology(channel: BrokerChannel, topology: Topology): Promise<string> {
	if (topology.exchangeMode === 'declare') await channel.declareOsloExchange(topology.exchange);
	else await channel.checkExchange(topology.exchange);

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
	return queue;
}
