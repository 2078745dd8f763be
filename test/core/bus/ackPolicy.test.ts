import { describe, expect, it } from 'vitest';

import {
	decide,
	decideBatch,
	retriesSoFar,
	RETRY_HEADER,
	runsAlone,
	UNBATCHED_HEADER,
} from '../../../nodes/core/bus/ackPolicy';
import type { AckPolicy } from '../../../nodes/core/bus/ackPolicy';

const onSuccess: AckPolicy = { mode: 'executionSucceeds', maxRetries: 2, onTimeout: 'retry' };
const onFinish: AckPolicy = { ...onSuccess, mode: 'executionFinishes' };

describe('decide', () => {
	it('acks successes and skipped duplicates', () => {
		expect(decide({ kind: 'succeeded' }, 0, onSuccess)).toEqual({ action: 'ack' });
		expect(decide({ kind: 'duplicate' }, 0, onSuccess)).toEqual({ action: 'ack' });
	});

	it('retries a failed execution up to maxRetries, then dead-letters it', () => {
		const failed = { kind: 'failed', error: 'boom' } as const;
		expect(decide(failed, 0, onSuccess)).toMatchObject({ action: 'retry', attempt: 1 });
		expect(decide(failed, 1, onSuccess)).toMatchObject({ action: 'retry', attempt: 2 });
		expect(decide(failed, 2, onSuccess)).toMatchObject({ action: 'deadLetter' });
		expect(decide(failed, 0, { ...onSuccess, maxRetries: 0 })).toMatchObject({
			action: 'deadLetter',
		});
	});

	it('acks a failed execution when acking after it finishes', () => {
		expect(decide({ kind: 'failed', error: 'boom' }, 0, onFinish)).toEqual({ action: 'ack' });
	});

	it('retries an execution that never started, in every mode', () => {
		expect(decide({ kind: 'notStarted', error: 'x' }, 0, onFinish)).toMatchObject({
			action: 'retry',
		});
	});

	it('follows onTimeout for a lost completion signal', () => {
		expect(decide({ kind: 'timedOut' }, 0, onFinish)).toMatchObject({
			action: 'retry',
			attempt: 1,
		});
		expect(decide({ kind: 'timedOut' }, 2, onFinish)).toMatchObject({ action: 'deadLetter' });
		expect(decide({ kind: 'timedOut' }, 0, { ...onFinish, onTimeout: 'ack' })).toEqual({
			action: 'ack',
		});
	});
});

describe('decide: the reasons that go into the log and the dead-letter record', () => {
	it('names what went wrong, with the error text, and counts the retries when giving up', () => {
		const failed = { kind: 'failed', error: 'HTTP 502 from the API' } as const;
		expect(decide(failed, 0, onSuccess)).toEqual({
			action: 'retry',
			attempt: 1,
			reason: 'execution failed: HTTP 502 from the API',
		});
		expect(decide(failed, 2, onSuccess)).toEqual({
			action: 'deadLetter',
			reason: 'execution failed: HTTP 502 from the API (after 2 retries)',
		});
		expect(decide({ kind: 'notStarted', error: 'workflow inactive' }, 1, onFinish)).toEqual({
			action: 'retry',
			attempt: 2,
			reason: 'execution not started: workflow inactive',
		});
		expect(decide({ kind: 'timedOut' }, 2, onSuccess)).toEqual({
			action: 'deadLetter',
			reason: 'no completion signal within the ack timeout (after 2 retries)',
		});
	});
});

describe('retriesSoFar', () => {
	it('reads the count from the x-esi-leap-retries header, the name copies already queued carry', () => {
		// A wire contract: retried copies wait in queues across restarts and upgrades.
		expect(retriesSoFar({ 'x-esi-leap-retries': 4 })).toBe(4);
		expect(retriesSoFar({ 'x-retries': 4 })).toBe(0);
	});

	it('reads our header and ignores junk', () => {
		expect(retriesSoFar({})).toBe(0);
		expect(retriesSoFar({ [RETRY_HEADER]: 3 })).toBe(3);
		expect(retriesSoFar({ [RETRY_HEADER]: '2' })).toBe(2);
		expect(retriesSoFar({ [RETRY_HEADER]: -1 })).toBe(0);
		expect(retriesSoFar({ [RETRY_HEADER]: 'x' })).toBe(0);
	});
});

describe('decideBatch', () => {
	const failed = { kind: 'failed', error: 'boom' } as const;

	it('a batch that did not succeed is not charged to its messages: each runs alone next, even with no retries left', () => {
		for (const policy of [onSuccess, { ...onSuccess, maxRetries: 0 }]) {
			expect(decideBatch(failed, 0, policy, 5)).toEqual({
				action: 'unbatch',
				reason: 'batch of 5: execution failed: boom',
			});
		}
		expect(decideBatch({ kind: 'timedOut' }, 0, onSuccess, 2)).toMatchObject({ action: 'unbatch' });
		expect(decideBatch({ kind: 'notStarted', error: 'x' }, 0, onFinish, 2)).toMatchObject({
			action: 'unbatch',
		});
	});

	it('acks what decide acks, and decides a batch of one as a message on its own', () => {
		expect(decideBatch({ kind: 'succeeded' }, 0, onSuccess, 100)).toEqual({ action: 'ack' });
		expect(decideBatch({ kind: 'duplicate' }, 0, onSuccess, 100)).toEqual({ action: 'ack' });
		expect(decideBatch(failed, 0, onFinish, 100)).toEqual({ action: 'ack' });
		expect(decideBatch(failed, 0, onSuccess, 1)).toEqual(decide(failed, 0, onSuccess));
		expect(decideBatch(failed, 0, { ...onSuccess, maxRetries: 0 }, 1)).toMatchObject({
			action: 'deadLetter',
		});
	});

	it('a retried or unbatched message runs alone', () => {
		expect(runsAlone({})).toBe(false);
		expect(runsAlone({ [RETRY_HEADER]: 1 })).toBe(true);
		expect(runsAlone({ [UNBATCHED_HEADER]: true })).toBe(true);
		expect(runsAlone({ [UNBATCHED_HEADER]: 'yes' })).toBe(false);
	});
});
