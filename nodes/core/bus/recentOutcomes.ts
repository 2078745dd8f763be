import type { ExecutionOutcome } from './ackPolicy';

/**
 * What became of this activation's recent executions, by delivery identity (deliveryIdentity), so
 * that a copy RabbitMQ redelivers after the first copy's channel died is settled on the first
 * copy's outcome instead of being run again.
 *
 * Running it again would not work: the redelivered copy carries the same n8n deduplication key,
 * and n8n refuses a second execution with a stored key whatever the first one's status (2.41
 * execution-persistence.js reclaims only a `new` row), so a copy whose first execution FAILED
 * would be skipped and acked and its retry lost. With this memory the copy waits while its first
 * execution runs; afterwards it gets the decision the first copy could not apply on its dead
 * channel (retry, run alone, dead-letter), or is acked unrun when that decision was an ack or
 * already reached the broker. n8n's key remains the guard across restarts, when this is empty.
 *
 * Bounded: the oldest finished identities are dropped first; `capacity` only has to cover what
 * can be unacked when a channel dies (the prefetch).
 */
export interface RememberedOutcome {
	outcome: ExecutionOutcome;
	/** Messages that shared the execution (1 for a message on its own). */
	size: number;
	/** The decision on this outcome reached the broker (ack sent, or its copy confirmed). */
	settled: boolean;
}

/** oslo message id + our retry count + alone or batched: what one execution of a copy stands for. */
export function deliveryIdentity(
	messageId: string | null | undefined,
	attempt: number,
	alone: boolean,
): string | undefined {
	return messageId ? `${messageId}\n${attempt}\n${alone ? 'alone' : 'batch'}` : undefined;
}

export class RecentOutcomes {
	private readonly finished = new Map<string, RememberedOutcome>();
	private readonly running = new Map<string, Promise<unknown>>();

	constructor(private readonly capacity: number) {}

	/**
	 * Records an execution that is starting (or a batch gathering); `done` resolves with its
	 * outcome, or null when it did not run after all (nothing is remembered then).
	 */
	begin(identity: string, done: Promise<{ outcome: ExecutionOutcome; size: number } | null>): void {
		const tracked = done.then(
			(result) => (result ? this.remember(identity, { ...result, settled: false }) : undefined),
			() => undefined,
		);
		this.running.set(identity, tracked);
		void tracked.then(() => {
			if (this.running.get(identity) === tracked) this.running.delete(identity);
		});
	}

	/** Resolves once no execution of `identity` runs; what it ended with, if remembered. */
	async earlier(identity: string): Promise<RememberedOutcome | undefined> {
		while (this.running.has(identity)) await this.running.get(identity);
		return this.finished.get(identity);
	}

	/** Sync: whether an execution of `identity` runs now or is remembered. */
	knows(identity: string): boolean {
		return this.running.has(identity) || this.finished.has(identity);
	}

	/** The decision on the remembered outcome reached the broker. */
	settled(identity: string): void {
		const entry = this.finished.get(identity);
		if (entry) entry.settled = true;
	}

	get size(): number {
		return this.finished.size;
	}

	get runningCount(): number {
		return this.running.size;
	}

	private remember(identity: string, entry: RememberedOutcome): void {
		this.finished.delete(identity);
		this.finished.set(identity, entry);
		while (this.finished.size > this.capacity) {
			const oldest = this.finished.keys().next().value as string;
			this.finished.delete(oldest);
		}
	}
}
