import { describe, expect, it } from 'vitest';

import type { ExecutionOutcome } from '../../../nodes/core/bus/ackPolicy';
import { deliveryIdentity, RecentOutcomes } from '../../../nodes/core/bus/recentOutcomes';
import { deferred } from '../../helpers/objects';

const ran = (kind: 'succeeded' | 'duplicate') =>
	Promise.resolve({ outcome: { kind } as ExecutionOutcome, size: 1 });

describe('RecentOutcomes', () => {
	it('keeps the last `capacity` finished identities, dropping the oldest first; a repeated one counts as new', async () => {
		const outcomes = new RecentOutcomes(3);
		for (const identity of ['a', 'b', 'c', 'a', 'd']) {
			outcomes.begin(identity, ran('succeeded'));
			await outcomes.earlier(identity);
		}
		expect(['a', 'b', 'c', 'd'].filter((identity) => outcomes.knows(identity))).toEqual([
			'a',
			'c',
			'd',
		]);
		expect(outcomes.size).toBe(3);
	});

	it('earlier() waits while the identity runs and then gives its outcome, not yet settled', async () => {
		const outcomes = new RecentOutcomes(10);
		const done = deferred<{ outcome: ExecutionOutcome; size: number } | null>();
		outcomes.begin('m', done.promise);
		expect(outcomes.knows('m')).toBe(true);
		let answered: unknown = 'pending';
		void outcomes.earlier('m').then((found) => (answered = found));
		await new Promise((resolve) => setTimeout(resolve, 5));
		expect(answered).toBe('pending');
		done.resolve({ outcome: { kind: 'failed', error: 'boom' }, size: 2 });
		await new Promise((resolve) => setTimeout(resolve, 0));
		expect(answered).toEqual({
			outcome: { kind: 'failed', error: 'boom' },
			size: 2,
			settled: false,
		});
		outcomes.settled('m');
		expect(await outcomes.earlier('m')).toMatchObject({ settled: true });
		expect(outcomes.runningCount).toBe(0);
	});

	it('tracks the newest execution of an identity: an older one ending does not hide it', async () => {
		const outcomes = new RecentOutcomes(10);
		const older = deferred<{ outcome: ExecutionOutcome; size: number } | null>();
		const newer = deferred<{ outcome: ExecutionOutcome; size: number } | null>();
		outcomes.begin('m', older.promise);
		outcomes.begin('m', newer.promise);
		older.resolve(null);
		await new Promise((resolve) => setTimeout(resolve, 0));
		expect(outcomes.runningCount).toBe(1);
		const answer = outcomes.earlier('m');
		newer.resolve({ outcome: { kind: 'succeeded' }, size: 1 });
		expect(await answer).toMatchObject({ outcome: { kind: 'succeeded' } });
	});

	it('settled() for an identity no longer remembered (dropped as the oldest) is a no-op', () => {
		const outcomes = new RecentOutcomes(1);
		expect(() => outcomes.settled('forgotten')).not.toThrow();
		expect(outcomes.knows('forgotten')).toBe(false);
	});

	it('remembers nothing for an execution that did not run after all', async () => {
		const outcomes = new RecentOutcomes(10);
		outcomes.begin('m', Promise.resolve(null));
		expect(await outcomes.earlier('m')).toBeUndefined();
		expect(outcomes.knows('m')).toBe(false);
	});

	it('tells copies apart by message id, retry count and alone or batched; none without an id', () => {
		const identities = [
			deliveryIdentity('m', 0, true),
			deliveryIdentity('m', 1, true),
			deliveryIdentity('m', 0, false),
			deliveryIdentity('n', 0, true),
		];
		expect(new Set(identities).size).toBe(4);
		expect(deliveryIdentity('m', 0, true)).toBe(identities[0]);
		expect(deliveryIdentity(null, 0, true)).toBeUndefined();
		expect(deliveryIdentity('', 0, true)).toBeUndefined();
	});
});
