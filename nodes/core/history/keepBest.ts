/**
 * Keeps the `capacity` best items of a stream in O(capacity) memory: a binary heap whose root is
 * the worst item kept, so a better newcomer replaces it in O(log capacity).
 */
export class KeepBest<T> {
	private readonly heap: T[] = [];

	/** `better(a, b)`: a ranks before b. */
	constructor(
		private readonly capacity: number,
		private readonly better: (a: T, b: T) => boolean,
	) {
		if (!Number.isInteger(capacity) || capacity < 0) {
			throw new RangeError(`capacity must be a whole number >= 0, got ${capacity}`);
		}
	}

	get size(): number {
		return this.heap.length;
	}

	/** Offers an item; returns the item that no longer fits (it or the evicted one), if any. */
	offer(item: T): T | undefined {
		const heap = this.heap;
		if (heap.length < this.capacity) {
			heap.push(item);
			this.siftUp(heap.length - 1);
			return undefined;
		}
		if (heap.length === 0 || !this.better(item, heap[0])) return item;
		const evicted = heap[0];
		heap[0] = item;
		this.siftDown(0);
		return evicted;
	}

	/**
	 * Whether `offer` would keep an item now, asked without the item: `beats(worst)` says whether
	 * it ranks before the worst item kept (called only when there is no room left).
	 */
	wouldKeep(beats: (worst: T) => boolean): boolean {
		if (this.heap.length < this.capacity) return true;
		return this.heap.length > 0 && beats(this.heap[0]);
	}

	/** The kept items, best first. */
	sorted(): T[] {
		return [...this.heap].sort((a, b) => (this.better(a, b) ? -1 : this.better(b, a) ? 1 : 0));
	}

	/** The root is the worst: a parent is never better than its children. */
	private siftUp(index: number): void {
		const heap = this.heap;
		while (index > 0) {
			const parent = (index - 1) >> 1;
			if (!this.better(heap[parent], heap[index])) return;
			[heap[parent], heap[index]] = [heap[index], heap[parent]];
			index = parent;
		}
	}

	private siftDown(index: number): void {
		const heap = this.heap;
		for (;;) {
			const left = 2 * index + 1;
			const right = left + 1;
			let worst = index;
			if (left < heap.length && this.better(heap[worst], heap[left])) worst = left;
			if (right < heap.length && this.better(heap[worst], heap[right])) worst = right;
			if (worst === index) return;
			[heap[worst], heap[index]] = [heap[index], heap[worst]];
			index = worst;
		}
	}
}
