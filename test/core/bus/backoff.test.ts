import { describe, expect, it } from 'vitest';

import { backoffDelay } from '../../../nodes/core/bus/backoff';

const options = { initialMs: 1000, maxMs: 30_000, factor: 2 };

describe('backoffDelay', () => {
	it('doubles the ceiling per attempt and keeps at least half of it', () => {
		expect(backoffDelay(0, options, () => 0)).toBe(500);
		expect(backoffDelay(0, options, () => 1)).toBe(1000);
		expect(backoffDelay(3, options, () => 0)).toBe(4000);
		expect(backoffDelay(3, options, () => 1)).toBe(8000);
	});

	it('is capped at maxMs however many attempts failed', () => {
		expect(backoffDelay(10, options, () => 1)).toBe(30_000);
		expect(backoffDelay(1000, options, () => 1)).toBe(30_000);
		expect(backoffDelay(1000, options, () => 0)).toBe(15_000);
	});

	it('spreads delays with the random source (jitter)', () => {
		const delays = new Set([0.1, 0.4, 0.7, 0.9].map((r) => backoffDelay(4, options, () => r)));
		expect(delays.size).toBe(4);
	});
});
