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
	| { action: 'deadLetter'; reason: string };

export interface AckPolicy {
	mode: AckMode;
	/** How many times a failed message is retried before it is dead-lettered. */
	maxRetries: number;
	onTimeout: OnAckTimeout;
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

export function decide(
	outcome: ExecutionOutcome,
	previousRetries: number,
	policy: AckPolicy,
): Decision {
	switch (outcome.kind) {
		case 'succeeded':
		case 'duplicate':
			return { action: 'ack' };
		case 'notStarted':
			// Nothing ran, in any mode: trying again is always safe.
			return retryOrDeadLetter(previousRetries, policy, `execution not started: ${outcome.error}`);
		case 'failed':
			return policy.mode === 'executionSucceeds'
				? retryOrDeadLetter(previousRetries, policy, `execution failed: ${outcome.error}`)
				: { action: 'ack' };
		case 'timedOut':
			return policy.onTimeout === 'ack'
				? { action: 'ack' }
				: retryOrDeadLetter(previousRetries, policy, 'no completion signal within the ack timeout');
	}
}
