/**
 * What happens to a message once its execution reports back (or does not).
 *
 * Retries are counted in our own header on a republished copy, not by nack-requeue: a
 * requeued message comes back with the same headers (RabbitMQ adds nothing to classic queues),
 * at the head of the queue, so a failing message would loop forever without a count. Republish
 * (confirmed) then ack puts the copy at the tail, carrying `x-esi-leap-retries`.
 */
export const ACK_MODES = ['executionSucceeds', 'executionFinishes', 'immediately'] as const;
export type AckMode = (typeof ACK_MODES)[number];

export const ON_TIMEOUT = ['retry', 'ack'] as const;
export type OnAckTimeout = (typeof ON_TIMEOUT)[number];

export const RETRY_HEADER = 'x-esi-leap-retries';
/**
 * Set on the copy of a message whose batch did not succeed: the copy runs in an execution of its
 * own, so one poison message cannot keep failing the healthy messages batched with it.
 */
export const UNBATCHED_HEADER = 'x-esi-leap-unbatched';

export type ExecutionOutcome =
	| { kind: 'succeeded' }
	/** The workflow ran and ended in an error. */
	| { kind: 'failed'; error: string }
	/** n8n skipped the execution as a duplicate (deduplication key seen before). */
	| { kind: 'duplicate' }
	/** n8n could not start the execution. */
	| { kind: 'notStarted'; error: string }
	/** No completion signal within the ack timeout. */
	| { kind: 'timedOut' };

export type Decision =
	| { action: 'ack' }
	| { action: 'retry'; attempt: number; reason: string }
	| { action: 'deadLetter'; reason: string }
	/** Republish as is (same retry count), marked to run alone: its batch did not succeed. */
	| { action: 'unbatch'; reason: string };

export interface AckPolicy {
	mode: AckMode;
	/** How many times a failed message is retried before it is dead-lettered. */
	maxRetries: number;
	onTimeout: OnAckTimeout;
	/**
	 * How long retry n (1-based) waits: entry n-1, the last entry for later retries; 0 or an
	 * empty list retries at once. See retryQueueName for where the message waits.
	 */
	retryDelaysMs?: readonly number[];
}

/** Default waits before retries 1, 2, 3 (and later): 10 s, 1 min, 5 min. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [10_000, 60_000, 300_000];

/** "10, 60, 300" (seconds) → [10000, 60000, 300000]; null when any entry is not a number ≥ 0. */
export function parseRetryDelays(text: string): number[] | null {
	const entries = text
		.split(',')
		.map((entry) => entry.trim())
		.filter((entry) => entry !== '');
	const delays = entries.map((entry) => (/^\d+(\.\d+)?$/.test(entry) ? Number(entry) : NaN));
	if (delays.some((seconds) => !Number.isFinite(seconds))) return null;
	return delays.map((seconds) => Math.round(seconds * 1000));
}

export function retryDelayMs(attempt: number, policy: AckPolicy): number {
	const delays = policy.retryDelaysMs ?? [];
	if (delays.length === 0) return 0;
	return delays[Math.min(Math.max(attempt, 1), delays.length) - 1];
}

/** A retried or unbatched message runs in an execution of its own, never in a batch. */
export function runsAlone(headers: Record<string, unknown>): boolean {
	return retriesSoFar(headers) > 0 || headers[UNBATCHED_HEADER] === true;
}

export function retriesSoFar(headers: Record<string, unknown>): number {
	const value = Number(headers[RETRY_HEADER]);
	return Number.isInteger(value) && value > 0 ? value : 0;
}

function retryOrDeadLetter(previous: number, policy: AckPolicy, reason: string): Decision {
	return previous < policy.maxRetries
		? { action: 'retry', attempt: previous + 1, reason }
		: { action: 'deadLetter', reason: `${reason} (after ${previous} retries)` };
}

/** Why an outcome is not an ack, or null when it is one. */
function failureReason(outcome: ExecutionOutcome, policy: AckPolicy): string | null {
	switch (outcome.kind) {
		case 'succeeded':
		case 'duplicate':
			return null;
		case 'notStarted':
			// Nothing ran, in any mode: trying again is always safe.
			return `execution not started: ${outcome.error}`;
		case 'failed':
			return policy.mode === 'executionSucceeds' ? `execution failed: ${outcome.error}` : null;
		case 'timedOut':
			return policy.onTimeout === 'ack' ? null : 'no completion signal within the ack timeout';
	}
}

export function decide(
	outcome: ExecutionOutcome,
	previousRetries: number,
	policy: AckPolicy,
): Decision {
	const reason = failureReason(outcome, policy);
	return reason === null ? { action: 'ack' } : retryOrDeadLetter(previousRetries, policy, reason);
}

/**
 * The decision for each message of a batch of `batchSize` messages that shared one execution. A
 * batch of one is a message on its own (decide). A larger batch that did not succeed is not
 * charged to its messages: each is republished to run alone with its retry count untouched, and
 * from then on each is decided on its own outcome (retried, then dead-lettered alone), so a
 * poison message ends in the dead-letter queue and its healthy neighbours run.
 */
export function decideBatch(
	outcome: ExecutionOutcome,
	previousRetries: number,
	policy: AckPolicy,
	batchSize: number,
): Decision {
	if (batchSize <= 1) return decide(outcome, previousRetries, policy);
	const reason = failureReason(outcome, policy);
	return reason === null
		? { action: 'ack' }
		: { action: 'unbatch', reason: `batch of ${batchSize}: ${reason}` };
}
