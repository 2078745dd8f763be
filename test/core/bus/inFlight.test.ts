import { describe, expect, it } from 'vitest';

import { InFlightTracker } from '../../../nodes/core/bus/inFlight';

describe('InFlightTracker', () => {
	it('keeps the same delivery tag of two channel generations apart', () => {
		const tracker = new InFlightTracker();
		const oldKey = tracker.add(1, 7);
		const newKey = tracker.add(2, 7);
		expect(oldKey).not.toBe(newKey);
		expect(tracker.dropGeneration(1)).toBe(1);
		expect(tracker.has(oldKey)).toBe(false);
		expect(tracker.has(newKey)).toBe(true);
		// A late outcome of the dead channel finds nothing to settle.
		expect(tracker.settle(oldKey)).toBe(false);
		expect(tracker.settle(newKey)).toBe(true);
		expect(tracker.size).toBe(0);
	});

	it('drain resolves true once the last message settles', async () => {
		const tracker = new InFlightTracker();
		const a = tracker.add(1, 1);
		const b = tracker.add(1, 2);
		const drained = tracker.drain(10_000);
		tracker.settle(a);
		tracker.settle(b);
		await expect(drained).resolves.toBe(true);
	});

	it('drain resolves false when the wait is exceeded', async () => {
		const tracker = new InFlightTracker();
		tracker.add(1, 1);
		await expect(tracker.drain(5)).resolves.toBe(false);
		expect(tracker.size).toBe(1);
	});

	it('drain of an empty tracker resolves at once', async () => {
		await expect(new InFlightTracker().drain(0)).resolves.toBe(true);
	});
});
