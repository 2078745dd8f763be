/**
 * The ids of the last `capacity` messages whose batch execution succeeded, oldest dropped first.
 *
 * n8n 2.x deduplicates per execution: its key for a batch names the whole batch, so a batch that
 * is redelivered after a connection loss in a different grouping would run its events again.
 * This set remembers each message's success on its own, so a redelivered message that already
 * ran is acked without running, whatever batch it lands in. It lives as long as the activation;
 * `capacity` only has to cover what can be unacked when a channel dies (the prefetch).
 */
export class RecentIds {
	private readonly ids = new Set<string>();

	constructor(private readonly capacity: number) {}

	add(id: string): void {
		this.ids.delete(id);
		this.ids.add(id);
		while (this.ids.size > this.capacity) {
			const oldest = this.ids.values().next().value as string;
			this.ids.delete(oldest);
		}
	}

	has(id: string): boolean {
		return this.ids.has(id);
	}

	get size(): number {
		return this.ids.size;
	}
}
