import { checkContentType, decodeNotification, EnvelopeDecodeError } from '../events/envelope';
import type { EventPredicate } from '../events/filters';
import { normalizeBusNotification } from '../events/normalize';
import type { EsiLeapEvent } from '../events/types';
import {
	decideBatch,
	RETRY_HEADER,
	retriesSoFar,
	retryDelayMs,
	runsAlone,
	UNBATCHED_HEADER,
} from './ackPolicy';
import type { AckPolicy, Decision, ExecutionOutcome } from './ackPolicy';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff';
import type { BackoffOptions } from './backoff';
import type { BrokerChannel, BrokerConnection, BrokerMessage, Connect } from './broker';
import { InFlightTracker } from './inFlight';
import type { InFlightKey } from './inFlight';
import { deliveryIdentity, RecentOutcomes } from './recentOutcomes';
import { applyTopology, declareRetryQueue } from './topology';
import type { AppliedTopology, Topology } from './topology';

/**
 * The message-bus consumer: connect → declare → consume → (on loss) reconnect with backoff.
 * n8n-free: the trigger passes `deliver` (emit + wait for the execution) and the reporting hooks.
 *
 * Guarantees:
 * - a message is acked only after its outcome is known (except in `immediately` mode);
 * - a failed message is retried via a republished copy counting `x-esi-leap-retries`, then
 *   dead-lettered; a malformed one is dead-lettered at once; both copy the body byte for byte;
 * - an ack is sent only on the channel that delivered the message; if that channel died, the
 *   broker requeues the message and it is delivered again (with the same oslo message id, which
 *   the trigger uses as n8n's deduplication key);
 * - such a redelivered copy is not run again while this activation remembers the first copy's
 *   execution (RecentOutcomes): it waits for that execution and is then settled on its outcome,
 *   acked after a success, retried or dead-lettered after a failure its dead channel could not
 *   act on.
 *
 * In batches (`batch`): up to `maxItems` selected events, gathered for at most `maxWaitMs` from
 * the first, go to `deliverBatch` as one execution, in delivery order. Each message of the batch
 * is settled on that execution's outcome: acked after success; after a failure republished to run
 * alone with its retry count untouched (ackPolicy decideBatch), so a poison message is retried
 * and dead-lettered on its own. The memory of outcomes is per message, so a redelivered copy is
 * settled the same way in whatever batch it would have landed.
 */

export interface BusLogger {
	debug(message: string, meta?: Record<string, unknown>): void;
	info(message: string, meta?: Record<string, unknown>): void;
	warn(message: string, meta?: Record<string, unknown>): void;
	error(message: string, meta?: Record<string, unknown>): void;
}

export interface MalformedReport {
	reason: string;
	/** The field at fault (never its value). */
	field?: string;
	routingKey: string;
	bodyBytes: number;
	/** Where the body went; null when nothing was dead-lettered (manual test). */
	deadLetterQueue: string | null;
}

export interface OutageReport {
	sinceMs: number;
	attempts: number;
	lastError: string;
}

/**
 * Reported once per reconnect, after the consumer is consuming again. The single signal for
 * "the consumer was away; something may have been missed": the trigger records a failure and
 * warns when `bindingsLost`, and reconciliation with ESI's event history runs on every one.
 */
export interface ReconnectReport {
	/** When the connection was lost (ms since the epoch, the consumer's clock). */
	outageStart: number;
	/** When the queue was bound and consumed again. */
	outageEnd: number;
	attempts: number;
	/** The exchange was missing and the consumer declared it (oslo's arguments). */
	exchangeRecreated: boolean;
	/**
	 * The queue's bindings were gone during (part of) the outage: the exchange was re-created
	 * (by us, or by ESI before we came back, as the restart marker tells). Notifications
	 * published between `outageStart` and `outageEnd` may then have been routed nowhere.
	 */
	bindingsLost: boolean;
	queue: string;
}

export interface ConsumerStats {
	received: number;
	emitted: number;
	/** Valid events that did not match the selected events or payload filters. */
	filtered: number;
	/** Valid oslo notifications of event types this package does not know. */
	unsupported: number;
	malformed: number;
	acked: number;
	retried: number;
	deadLettered: number;
	/** Messages of a failed batch republished to run alone. */
	unbatched: number;
	/** Batch executions started. */
	batches: number;
	/**
	 * Redelivered copies acked without running: this activation already ran the message and the
	 * decision on that run was an ack or had reached the broker.
	 */
	redeliveredAcked: number;
	/**
	 * Redelivered copies of a message whose execution had not succeeded when its channel died:
	 * retried, run alone or dead-lettered on that outcome, without running under the same key.
	 */
	redeliveredSettled: number;
	/** Executions n8n skipped as duplicates of one from before this activation. */
	skippedAsDuplicate: number;
	timedOut: number;
	/** Outcomes that arrived after their channel had died (the broker redelivers those). */
	orphaned: number;
	reconnects: number;
}

export interface DeliveryInfo {
	awaitOutcome: boolean;
	attempt: number;
}

export interface BatchOptions {
	/** Most events in one execution. */
	maxItems: number;
	/** Longest wait, from a batch's first event, before it is emitted however few it holds. */
	maxWaitMs: number;
}

/**
 * The prefetch used: at least two batches, so the next batch gathers while one runs and a full
 * batch is never starved of messages by the broker.
 */
export function effectivePrefetch(prefetch: number, batch: BatchOptions | undefined): number {
	return batch ? Math.max(prefetch, 2 * batch.maxItems) : prefetch;
}

export interface ConsumerOptions {
	connect: Connect;
	topology: Topology;
	prefetch: number;
	policy: AckPolicy;
	ackTimeoutMs: number;
	select: EventPredicate;
	includeRaw: boolean;
	/**
	 * Hands an event to the workflow. With `awaitOutcome` false (`immediately` mode) the
	 * returned promise is ignored. `attempt` is 0 for a first delivery and counts our retries,
	 * so a deduplication key can tell a broker redelivery (same attempt) from a retry.
	 */
	deliver(event: EsiLeapEvent, delivery: DeliveryInfo): Promise<ExecutionOutcome>;
	/** In batches: gather events (see the class comment); retried messages still go to `deliver`. */
	batch?: BatchOptions;
	/** Hands a batch (first deliveries, in delivery order) to the workflow as one execution. */
	deliverBatch?(
		events: EsiLeapEvent[],
		delivery: Pick<DeliveryInfo, 'awaitOutcome'>,
	): Promise<ExecutionOutcome>;
	onMalformed?(report: MalformedReport): void;
	/** Once per outage that lasts longer than `outageNoticeMs`. */
	onOutage?(report: OutageReport): void;
	onRecovered?(report: OutageReport): void;
	/** After every successful reconnect (not the first connection); see ReconnectReport. */
	onReconnected?(report: ReconnectReport): void;
	/** Manual test: stop consuming after the first delivered event. */
	stopAfterFirst?: boolean;
	logger: BusLogger;
	backoff?: BackoffOptions;
	outageNoticeMs?: number;
	now?: () => number;
}

interface ChannelState {
	generation: number;
	connection: BrokerConnection;
	channel: BrokerChannel;
	queue: string;
	consumerTag: string | null;
	alive: boolean;
	/** Retry queues declared on this channel. */
	retryQueuesReady: Set<string>;
}

/** Whether a consumer other than ours (already cancelled) is on the queue; false when unknown. */
async function othersConsume(state: ChannelState): Promise<boolean> {
	const info = await state.channel.checkQueue(state.queue).catch(() => undefined);
	return (info?.consumerCount ?? 0) > 0;
}

const DEFAULT_OUTAGE_NOTICE_MS = 2 * 60_000;
/** Outcomes kept for redeliveries: far more than can be unacked at once. */
const MIN_REMEMBERED_IDS = 10_000;

/** A message waiting in the batch being gathered; `settle` receives the batch's outcome. */
interface Gathered {
	state: ChannelState;
	key: InFlightKey;
	event: EsiLeapEvent;
	/** null: the batch was not run (channel lost or closing); the broker redelivers the message. */
	settle(result: { outcome: ExecutionOutcome; size: number } | null): void;
}

interface Gathering {
	entries: Gathered[];
	timer: ReturnType<typeof setTimeout>;
}

/** Error text safe for logs and headers: one line, bounded, no credentials in a URL. */
export function safeErrorText(error: unknown): string {
	const text = error instanceof Error ? error.message : String(error);
	return text
		.replace(/(amqps?:\/\/)[^@\s/]*@/gi, '$1***@')
		.replace(/\s+/g, ' ')
		.slice(0, 500);
}

type Decoded =
	| { kind: 'event'; event: EsiLeapEvent }
	| { kind: 'unsupported'; eventType: string }
	| { kind: 'malformed'; error: EnvelopeDecodeError };

function decodeMessage(message: BrokerMessage, includeRaw: boolean): Decoded {
	try {
		checkContentType(message.properties.contentType);
		const decoded = decodeNotification(message.body);
		if (decoded.kind === 'unsupported') {
			return { kind: 'unsupported', eventType: decoded.notification.event_type };
		}
		return { kind: 'event', event: normalizeBusNotification(decoded.notification, { includeRaw }) };
	} catch (error) {
		// Only decode errors can come from here; anything else is a bug, shown as such.
		return {
			kind: 'malformed',
			error:
				error instanceof EnvelopeDecodeError
					? error
					: new EnvelopeDecodeError('invalid_message', `Decoder failure: ${safeErrorText(error)}`),
		};
	}
}

const ORIGINAL_EXCHANGE = 'x-esi-leap-original-exchange';
const ORIGINAL_ROUTING_KEY = 'x-esi-leap-original-routing-key';

/** Where ESI Leap published the message; kept across our retries, which go via the default exchange. */
function originHeaders(message: BrokerMessage): Record<string, unknown> {
	const headers = message.properties.headers;
	return {
		[ORIGINAL_EXCHANGE]: headers[ORIGINAL_EXCHANGE] ?? message.exchange,
		[ORIGINAL_ROUTING_KEY]: headers[ORIGINAL_ROUTING_KEY] ?? message.routingKey,
	};
}

export class BusConsumer {
	readonly stats: ConsumerStats = {
		received: 0,
		emitted: 0,
		filtered: 0,
		unsupported: 0,
		malformed: 0,
		acked: 0,
		retried: 0,
		deadLettered: 0,
		unbatched: 0,
		batches: 0,
		redeliveredAcked: 0,
		redeliveredSettled: 0,
		skippedAsDuplicate: 0,
		timedOut: 0,
		orphaned: 0,
		reconnects: 0,
	};

	private readonly inFlight = new InFlightTracker();
	private readonly refusedRetryQueues = new Set<string>();
	private current: ChannelState | null = null;
	private generation = 0;
	private closing = false;
	private closed: Promise<void> | null = null;
	private reconnecting: Promise<void> | null = null;
	private cancelSleep: (() => void) | null = null;
	private delivered = false;
	private readonly now: () => number;
	private gathering: Gathering | null = null;
	/** This activation's recent executions, for the copies RabbitMQ redelivers. */
	private readonly outcomes: RecentOutcomes;

	constructor(private readonly options: ConsumerOptions) {
		this.now = options.now ?? Date.now;
		if (options.batch && !options.deliverBatch) {
			throw new Error('BusConsumer: batch needs deliverBatch');
		}
		this.outcomes = new RecentOutcomes(
			Math.max(MIN_REMEMBERED_IDS, 4 * effectivePrefetch(options.prefetch, options.batch)),
		);
	}

	/** The queue currently consumed (server-named for a temporary queue). */
	get queue(): string | null {
		return this.current?.queue ?? null;
	}

	get inFlightCount(): number {
		return this.inFlight.size;
	}

	/** First connection: errors are thrown so that activation fails with a clear reason. */
	async start(): Promise<void> {
		await this.establish(false);
	}

	/**
	 * Cancel the consumer, wait up to `drainTimeoutMs` for in-flight executions, then close.
	 * Messages still unsettled are requeued by the broker. Idempotent.
	 */
	async close(drainTimeoutMs: number): Promise<void> {
		if (!this.closed) this.closed = this.shutdown(drainTimeoutMs);
		return await this.closed;
	}

	private async shutdown(drainTimeoutMs: number): Promise<void> {
		this.closing = true;
		this.cancelSleep?.();
		const state = this.current;
		if (state?.alive && state.consumerTag) {
			await state.channel.cancel(state.consumerTag).catch(() => undefined);
		}
		// A batch still gathering is not started now: unacked, it is redelivered (acked ones,
		// in `immediately` mode, are emitted).
		if (this.gathering) this.flush(this.gathering);
		const drained = await this.inFlight.drain(drainTimeoutMs);
		if (!drained) {
			this.options.logger.warn(
				'Closing with executions still running; the broker will redeliver their messages',
				{
					inFlight: this.inFlight.size,
				},
			);
		}
		if (state) {
			// Deactivated: the restart marker is only compared on reconnects of this activation. It
			// stays while another consumer is on the queue (a multi-main hand-over: the new leader
			// already consumes), or that one's next reconnect would be taken for a broker restart.
			const marker = this.options.topology.restartMarker;
			if (state.alive && marker && !(await othersConsume(state)))
				await state.channel.deleteExchange(marker).catch(() => undefined);
			state.alive = false;
			await state.channel.close().catch(() => undefined);
			await state.connection.close().catch(() => undefined);
		}
		await this.reconnecting?.catch(() => undefined);
	}

	private async establish(reconnect: boolean): Promise<AppliedTopology> {
		const connection = await this.options.connect();
		const generation = ++this.generation;
		let established = false;
		try {
			const applied = await applyTopology(() => connection.createChannel(), this.options.topology, {
				declareMissingExchange: reconnect,
				checkMarker: reconnect,
			});
			const { channel, queue } = applied;
			if (applied.exchangeDeclared) {
				this.options.logger.warn(
					'The exchange was missing; declared it as oslo.messaging does so that the queue is bound before ESI Leap publishes',
					{ exchange: this.options.topology.exchange },
				);
			}
			await channel.prefetch(effectivePrefetch(this.options.prefetch, this.options.batch));
			const state: ChannelState = {
				generation,
				connection,
				channel,
				queue,
				consumerTag: null,
				alive: true,
				retryQueuesReady: new Set(),
			};
			const lost = (error?: Error) => this.onLost(state, error);
			connection.onClose(lost);
			channel.onClose(lost);
			if (this.closing) return applied;
			this.current = state;
			state.consumerTag = await channel.consume(queue, (message) => {
				if (message === null) {
					this.options.logger.warn(
						'The broker cancelled the consumer (queue deleted?); reconnecting',
						{ queue },
					);
					void state.connection.close().catch(() => undefined);
					return;
				}
				void this.handle(state, message);
			});
			established = true;
			this.options.logger.info('Consuming ESI Leap notifications', { queue, generation });
			return applied;
		} finally {
			if (!established) await connection.close().catch(() => undefined);
		}
	}

	private onLost(state: ChannelState, error?: Error) {
		if (!state.alive) return;
		state.alive = false;
		// The broker requeues what this channel had not acked; their late outcomes are dropped.
		const dropped = this.inFlight.dropGeneration(state.generation);
		void state.connection.close().catch(() => undefined);
		if (this.closing) return;
		this.options.logger.warn('Lost the connection to the message bus; reconnecting', {
			error: error ? safeErrorText(error) : 'closed',
			unsettled: dropped,
		});
		if (!this.reconnecting) {
			this.reconnecting = this.reconnect().finally(() => {
				this.reconnecting = null;
			});
		}
	}

	private sleep(ms: number): Promise<void> {
		return new Promise((resolve) => {
			const timer = setTimeout(() => {
				this.cancelSleep = null;
				resolve();
			}, ms);
			this.cancelSleep = () => {
				clearTimeout(timer);
				this.cancelSleep = null;
				resolve();
			};
		});
	}

	private async reconnect(): Promise<void> {
		const since = this.now();
		const noticeAfter = this.options.outageNoticeMs ?? DEFAULT_OUTAGE_NOTICE_MS;
		let attempts = 0;
		let reported = false;
		let lastError = '';
		while (!this.closing) {
			await this.sleep(backoffDelay(attempts, this.options.backoff ?? DEFAULT_BACKOFF));
			if (this.closing) return;
			attempts++;
			try {
				const applied = await this.establish(true);
				if (this.closing) return;
				this.stats.reconnects++;
				const outageEnd = this.now();
				const report = { sinceMs: outageEnd - since, attempts, lastError };
				this.options.logger.info('Reconnected to the message bus', {
					attempts,
					outageMs: report.sinceMs,
				});
				if (reported) this.options.onRecovered?.(report);
				this.options.onReconnected?.({
					outageStart: since,
					outageEnd,
					attempts,
					exchangeRecreated: applied.exchangeDeclared,
					bindingsLost: applied.exchangeDeclared || applied.markerLost === true,
					queue: applied.queue,
				});
				return;
			} catch (error) {
				lastError = safeErrorText(error);
				this.options.logger.warn('Reconnect to the message bus failed', {
					attempt: attempts,
					error: lastError,
				});
				if (!reported && this.now() - since >= noticeAfter) {
					reported = true;
					this.options.onOutage?.({ sinceMs: this.now() - since, attempts, lastError });
				}
			}
		}
	}

	private async handle(state: ChannelState, message: BrokerMessage): Promise<void> {
		const key = this.inFlight.add(state.generation, message.deliveryTag);
		this.stats.received++;
		try {
			await this.process(state, key, message);
		} catch (error) {
			// A broker-side failure (channel closed mid-publish, ...): the message stays unacked
			// and comes back after the reconnect.
			this.options.logger.error('Could not settle a message; it will be redelivered', {
				error: safeErrorText(error),
			});
		} finally {
			this.inFlight.settle(key);
		}
	}

	private async process(
		state: ChannelState,
		key: InFlightKey,
		message: BrokerMessage,
	): Promise<void> {
		const decoded = decodeMessage(message, this.options.includeRaw);
		if (decoded.kind === 'malformed') {
			await this.malformed(state, key, message, decoded.error);
			return;
		}
		if (decoded.kind === 'unsupported') {
			this.stats.unsupported++;
			this.options.logger.debug('Ignoring a notification of an unsupported event type', {
				eventType: decoded.eventType.slice(0, 100),
			});
			this.ack(state, key, message);
			return;
		}
		const event = decoded.event;

		if (!this.options.select(event) || (this.options.stopAfterFirst && this.delivered)) {
			this.stats.filtered++;
			this.ack(state, key, message);
			return;
		}

		if (this.options.batch && !runsAlone(message.properties.headers)) {
			await this.processInBatch(state, key, message, event);
			return;
		}
		const attempt = retriesSoFar(message.properties.headers);
		if (this.options.policy.mode === 'immediately') {
			this.ack(state, key, message);
			this.emit(event, { awaitOutcome: false, attempt }).catch(() => undefined);
			return;
		}
		await this.runOnce(
			state,
			key,
			message,
			deliveryIdentity(event.message_id, attempt, true),
			attempt,
			async () => {
				const outcome = await this.emit(event, { awaitOutcome: true, attempt });
				this.warnIfUnknownDuplicate(outcome, event, attempt);
				return { outcome, size: 1 };
			},
			event,
		);
	}

	private async processInBatch(
		state: ChannelState,
		key: InFlightKey,
		message: BrokerMessage,
		event: EsiLeapEvent,
	): Promise<void> {
		if (this.options.policy.mode === 'immediately') {
			this.ack(state, key, message);
			void this.gather(state, key, event);
			return;
		}
		// Remembered from the gathering on, not just the run: a second copy waits for this batch.
		await this.runOnce(
			state,
			key,
			message,
			deliveryIdentity(event.message_id, 0, false),
			0,
			() => this.gather(state, key, event),
			event,
		);
	}

	/**
	 * Runs a copy (`run`: alone, or in the batch being gathered; null when it was not run) and
	 * settles it on the outcome, unless this activation already ran its message: then it is
	 * settled on that run's outcome instead (settledEarlier). The memory check and `run` happen
	 * in the same synchronous step, so a second copy arriving meanwhile finds this one.
	 */
	private async runOnce(
		state: ChannelState,
		key: InFlightKey,
		message: BrokerMessage,
		identity: string | undefined,
		attempt: number,
		run: () => Promise<{ outcome: ExecutionOutcome; size: number } | null>,
		event: EsiLeapEvent,
	): Promise<void> {
		if (
			identity &&
			this.outcomes.knows(identity) &&
			(await this.settledEarlier(state, key, message, event, identity, attempt))
		)
			return;
		const running = run();
		if (identity) this.outcomes.begin(identity, running);
		const result = await running;
		if (result === null) return;
		// A batch of one is decided as a message on its own.
		const decision = decideBatch(result.outcome, attempt, this.options.policy, result.size);
		if ((await this.apply(state, key, message, decision)) && identity)
			this.outcomes.settled(identity);
	}

	/**
	 * A copy of a message this activation already ran (RabbitMQ redelivers what a dead channel
	 * left unacked): waits while that execution runs, then settles the copy on its outcome without
	 * running it again (see RecentOutcomes). Call only when `outcomes.knows` it; returns false
	 * when the earlier copy did not run after all (its batch was dropped with its channel).
	 */
	private async settledEarlier(
		state: ChannelState,
		key: InFlightKey,
		message: BrokerMessage,
		event: EsiLeapEvent,
		identity: string,
		attempt: number,
	): Promise<boolean> {
		const earlier = await this.outcomes.earlier(identity);
		if (!earlier) return false;
		// A batch of one is decided as a message on its own (decideBatch), as it was the first time.
		const decision = decideBatch(earlier.outcome, attempt, this.options.policy, earlier.size);
		if (decision.action === 'ack' || earlier.settled) {
			this.stats.redeliveredAcked++;
			this.ack(state, key, message);
			return true;
		}
		// Its first execution did not succeed and its channel died before the retry (or dead
		// letter) could be sent: send it now, as that channel would have.
		this.stats.redeliveredSettled++;
		this.options.logger.info(
			'A redelivered message whose execution had not succeeded when its channel died: settling it on that outcome',
			{ messageId: event.message_id, action: decision.action, reason: decision.reason },
		);
		if (await this.apply(state, key, message, decision)) this.outcomes.settled(identity);
		return true;
	}

	/**
	 * n8n skipped an execution this activation never ran: its key is stored from before (an n8n
	 * restart, another main). Whether that execution succeeded is not known here; say so.
	 */
	private warnIfUnknownDuplicate(outcome: ExecutionOutcome, event: EsiLeapEvent, attempt: number) {
		if (outcome.kind !== 'duplicate') return;
		this.stats.skippedAsDuplicate++;
		// The ids are in the text: n8n's text log leaves the metadata out.
		this.options.logger.warn(
			`n8n skipped a message as a duplicate (message ${event.message_id}, ${event.event} of lease ${event.lease_uuid}): an execution with its deduplication key exists from before this activation. If that execution did not succeed (for example it crashed when n8n stopped), this event was not processed; retry that execution from the executions list`,
			{ messageId: event.message_id, event: event.event, leaseUuid: event.lease_uuid, attempt },
		);
	}

	/** Adds an event to the batch being gathered; resolves with that batch's outcome. */
	private gather(
		state: ChannelState,
		key: InFlightKey,
		event: EsiLeapEvent,
	): Promise<{ outcome: ExecutionOutcome; size: number } | null> {
		const batch = this.options.batch!;
		return new Promise((settle) => {
			let gathering = this.gathering;
			if (!gathering) {
				const started: Gathering = {
					entries: [],
					timer: setTimeout(() => this.flush(started), batch.maxWaitMs),
				};
				gathering = this.gathering = started;
			}
			gathering.entries.push({ state, key, event, settle });
			if (gathering.entries.length >= batch.maxItems) this.flush(gathering);
		});
	}

	/** Emits a gathered batch as one execution (or drops it when its messages cannot be acked). */
	private flush(gathering: Gathering): void {
		if (this.gathering !== gathering) return;
		this.gathering = null;
		clearTimeout(gathering.timer);
		const acked = this.options.policy.mode === 'immediately';
		const runnable = (entry: Gathered) =>
			acked || (!this.closing && entry.state.alive && this.inFlight.has(entry.key));
		// Messages of a dead channel are redelivered by the broker; closing, they wait for that too.
		for (const entry of gathering.entries) if (!runnable(entry)) entry.settle(null);
		const entries = gathering.entries.filter(runnable);
		if (entries.length === 0) return;
		const events = entries.map((entry) => entry.event);
		this.stats.batches++;
		const outcome = this.execute(
			() => this.options.deliverBatch!(events, { awaitOutcome: !acked }),
			events.length,
			!acked,
			{ batchSize: events.length, firstMessageId: events[0].message_id },
		);
		if (!acked) void outcome.then((kind) => this.warnIfUnknownDuplicate(kind, events[0], 0));
		for (const entry of entries) {
			void outcome.then((result) => entry.settle({ outcome: result, size: entries.length }));
		}
	}

	private async emit(event: EsiLeapEvent, delivery: DeliveryInfo): Promise<ExecutionOutcome> {
		if (this.options.stopAfterFirst) {
			this.delivered = true;
			const state = this.current;
			if (state?.alive && state.consumerTag)
				void state.channel.cancel(state.consumerTag).catch(() => undefined);
		}
		return await this.execute(
			() => this.options.deliver(event, delivery),
			1,
			delivery.awaitOutcome,
			{ messageId: event.message_id },
		);
	}

	/** Starts one execution of `events` events; with `awaitOutcome`, waits at most the ack timeout. */
	private async execute(
		start: () => Promise<ExecutionOutcome>,
		events: number,
		awaitOutcome: boolean,
		describe: Record<string, unknown>,
	): Promise<ExecutionOutcome> {
		this.stats.emitted += events;
		const execution = start().catch(
			(error): ExecutionOutcome => ({ kind: 'notStarted', error: safeErrorText(error) }),
		);
		if (!awaitOutcome) return await execution;
		let timer: ReturnType<typeof setTimeout> | undefined;
		const timeout = new Promise<ExecutionOutcome>((resolve) => {
			timer = setTimeout(() => resolve({ kind: 'timedOut' }), this.options.ackTimeoutMs);
		});
		const outcome = await Promise.race([execution, timeout]);
		clearTimeout(timer);
		if (outcome.kind === 'timedOut') {
			this.stats.timedOut++;
			this.options.logger.warn('No completion signal for an execution within the ack timeout', {
				...describe,
				ackTimeoutMs: this.options.ackTimeoutMs,
			});
		}
		return outcome;
	}

	/** Only the channel that delivered a message may settle it. */
	private usable(state: ChannelState, key: InFlightKey): boolean {
		if (state.alive && this.inFlight.has(key)) return true;
		this.stats.orphaned++;
		this.options.logger.debug(
			'Outcome for a message of a closed channel; the broker redelivers it',
			{ key },
		);
		return false;
	}

	/** Whether the ack was sent (on the channel that delivered the message). */
	private ack(state: ChannelState, key: InFlightKey, message: BrokerMessage): boolean {
		if (!this.usable(state, key)) return false;
		state.channel.ack(message.deliveryTag);
		this.stats.acked++;
		return true;
	}

	/** Carries out a decision; resolves true once it reached the broker (ack sent, copy confirmed). */
	private async apply(
		state: ChannelState,
		key: InFlightKey,
		message: BrokerMessage,
		decision: Decision,
	): Promise<boolean> {
		switch (decision.action) {
			case 'ack':
				return this.ack(state, key, message);
			case 'retry': {
				if (!this.usable(state, key)) return false;
				// The copy waits in its delay's retry queue (topology.ts retryQueueName), which
				// dead-letters it back to our queue when its TTL ends; without a delay it goes
				// straight back to the tail of our queue.
				const delayMs = retryDelayMs(decision.attempt, this.options.policy);
				// A retry queue the broker refused (permissions, other arguments) closed its channel
				// once; from then on retries go straight back rather than loop through redeliveries.
				const waitQueue = this.options.topology.retryQueues.find(
					(r) => r.delayMs === delayMs && !this.refusedRetryQueues.has(r.name),
				);
				if (waitQueue && !state.retryQueuesReady.has(waitQueue.name)) {
					const refused = await declareRetryQueue(state.channel, waitQueue, state.queue).then(
						() => null,
						(error: unknown) => error,
					);
					if (refused !== null) {
						this.refusedRetryQueues.add(waitQueue.name);
						this.options.logger.error(
							'Could not declare the retry queue; retries of this delay will not wait',
							{ queue: waitQueue.name, error: safeErrorText(refused) },
						);
						// The broker closed the channel: the message comes back after the reconnect.
						return false;
					}
					state.retryQueuesReady.add(waitQueue.name);
				}
				await state.channel.publish('', waitQueue?.name ?? state.queue, message.body, {
					...message.properties,
					...(waitQueue ? { expiration: String(delayMs), deliveryMode: 2 } : {}),
					headers: {
						...message.properties.headers,
						...originHeaders(message),
						[RETRY_HEADER]: decision.attempt,
					},
				});
				this.ack(state, key, message);
				this.stats.retried++;
				this.options.logger.info('Requeued a message whose execution did not succeed', {
					attempt: decision.attempt,
					maxRetries: this.options.policy.maxRetries,
					retryInMs: waitQueue ? delayMs : 0,
					reason: decision.reason,
				});
				return true;
			}
			case 'unbatch':
				if (!this.usable(state, key)) return false;
				// Straight back to the tail of our queue, retry count untouched: it runs alone next.
				await state.channel.publish('', state.queue, message.body, {
					...message.properties,
					headers: {
						...message.properties.headers,
						...originHeaders(message),
						[UNBATCHED_HEADER]: true,
					},
				});
				this.ack(state, key, message);
				this.stats.unbatched++;
				this.options.logger.info(
					'Requeued a message of a batch that did not succeed, to run on its own',
					{ reason: decision.reason },
				);
				return true;
			case 'deadLetter': {
				const sent = await this.deadLetter(state, key, message, 'failed', decision.reason);
				if (sent) {
					this.options.logger.warn('Dead-lettered a message after its retries', {
						queue: this.options.topology.deadLetterQueue,
						reason: decision.reason,
					});
				}
				return sent;
			}
		}
	}

	private async deadLetter(
		state: ChannelState,
		key: InFlightKey,
		message: BrokerMessage,
		kind: 'malformed' | 'failed',
		reason: string,
	): Promise<boolean> {
		const queue = this.options.topology.deadLetterQueue;
		if (!this.usable(state, key)) return false;
		if (queue !== null) {
			await state.channel.publish('', queue, message.body, {
				...message.properties,
				headers: {
					...message.properties.headers,
					'x-esi-leap-dead-letter-kind': kind,
					'x-esi-leap-dead-letter-reason': reason.slice(0, 500),
					...originHeaders(message),
					'x-esi-leap-dead-lettered-at': new Date(this.now()).toISOString(),
				},
			});
			this.stats.deadLettered++;
		}
		return this.ack(state, key, message);
	}

	private async malformed(
		state: ChannelState,
		key: InFlightKey,
		message: BrokerMessage,
		error: EnvelopeDecodeError,
	) {
		this.stats.malformed++;
		const reason = `${error.reason}: ${error.message}`;
		await this.deadLetter(state, key, message, 'malformed', reason);
		const report: MalformedReport = {
			reason,
			field: error.field,
			routingKey: message.routingKey,
			bodyBytes: message.body.length,
			deadLetterQueue: this.options.topology.deadLetterQueue,
		};
		this.options.logger.warn('Malformed message on the ESI Leap topic', { ...report });
		this.options.onMalformed?.(report);
	}
}
