/**
 * Messages delivered and not yet settled, keyed by channel generation + delivery tag.
 * Delivery tags restart at 1 on every channel, so a tag alone cannot tell a message of the
 * dead channel from one of its replacement: an ack for the old one must never reach the new one.
 */
export type InFlightKey = `${number}:${number}`;

export class InFlightTracker {
	private readonly entries = new Set<InFlightKey>();
	private waiters: Array<() => void> = [];

	add(generation: number, deliveryTag: number): InFlightKey {
		const key: InFlightKey = `${generation}:${deliveryTag}`;
		this.entries.add(key);
		return key;
	}

	/** True when the entry was still tracked (not dropped with its channel). */
	settle(key: InFlightKey): boolean {
		const existed = this.entries.delete(key);
		this.notifyIfEmpty();
		return existed;
	}

	has(key: InFlightKey): boolean {
		return this.entries.has(key);
	}

	/** The channel died: the broker requeues its unacked messages, nothing is left to settle. */
	dropGeneration(generation: number): number {
		let dropped = 0;
		for (const key of [...this.entries]) {
			if (key.startsWith(`${generation}:`)) {
				this.entries.delete(key);
				dropped++;
			}
		}
		this.notifyIfEmpty();
		return dropped;
	}

	get size(): number {
		return this.entries.size;
	}

	/** Resolves true once nothing is in flight, false if `timeoutMs` passes first. */
	drain(timeoutMs: number): Promise<boolean> {
		if (this.entries.size === 0) return Promise.resolve(true);
		return new Promise((resolve) => {
			const done = () => {
				clearTimeout(timer);
				resolve(true);
			};
			const timer = setTimeout(() => {
				this.waiters = this.waiters.filter((waiter) => waiter !== done);
				resolve(false);
			}, timeoutMs);
			this.waiters.push(done);
		});
	}

	private notifyIfEmpty() {
		if (this.entries.size !== 0) return;
		const waiters = this.waiters;
		this.waiters = [];
		for (const waiter of waiters) waiter();
	}
}
