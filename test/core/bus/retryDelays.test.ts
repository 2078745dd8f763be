import { describe, expect, it } from 'vitest';

import {
	DEFAULT_RETRY_DELAYS_MS,
	parseRetryDelays,
	retryDelayMs,
} from '../../../nodes/core/bus/ackPolicy';
import type { AckPolicy } from '../../../nodes/core/bus/ackPolicy';
import { planTopology, retryQueueName } from '../../../nodes/core/bus/topology';
import { DEFAULT_RETRY_DELAYS_TEXT } from '../../../nodes/EsiLeapTrigger/modes/messageBusDescription';

const policy = (retryDelaysMs?: number[]): AckPolicy => ({
	mode: 'executionSucceeds',
	maxRetries: 5,
	onTimeout: 'retry',
	retryDelaysMs,
});

describe('retry delays', () => {
	it('the option default is 10 s, 1 min, 5 min', () => {
		expect(parseRetryDelays(DEFAULT_RETRY_DELAYS_TEXT)).toEqual([...DEFAULT_RETRY_DELAYS_MS]);
		expect(DEFAULT_RETRY_DELAYS_MS).toEqual([10_000, 60_000, 300_000]);
	});

	it('parses seconds, fractions and spaces; rejects anything else', () => {
		expect(parseRetryDelays(' 0.25,1 , 30 ')).toEqual([250, 1000, 30_000]);
		expect(parseRetryDelays('')).toEqual([]);
		expect(parseRetryDelays('10, -1')).toBeNull();
		expect(parseRetryDelays('10s')).toBeNull();
		expect(parseRetryDelays('1e3')).toBeNull();
	});

	it('retry n waits entry n, the last entry for later retries, nothing without delays', () => {
		const delays = [10_000, 60_000, 300_000];
		expect([1, 2, 3, 4, 9].map((attempt) => retryDelayMs(attempt, policy(delays)))).toEqual([
			10_000, 60_000, 300_000, 300_000, 300_000,
		]);
		expect(retryDelayMs(1, policy([]))).toBe(0);
		expect(retryDelayMs(2, policy(undefined))).toBe(0);
	});

	it('one retry queue per distinct non-zero delay, named after the queue (permission pattern)', () => {
		const plan = planTopology({
			exchange: 'openstack',
			topic: 't',
			priorities: ['info'],
			queue: { kind: 'own', name: 'n8n-esi-leap.wf.node' },
			exchangeMode: 'passive',
			retryDelaysMs: [0, 10_000, 60_000, 60_000, 300],
		});
		expect(plan.retryQueues).toEqual([
			{ name: 'n8n-esi-leap.wf.node.retry.10s', delayMs: 10_000 },
			{ name: 'n8n-esi-leap.wf.node.retry.60s', delayMs: 60_000 },
			{ name: 'n8n-esi-leap.wf.node.retry.0.3s', delayMs: 300 },
		]);
		expect(plan.retryQueues.every((q) => /^n8n-esi-leap\..*/.test(q.name))).toBe(true);
		expect(retryQueueName('q', 250)).toBe('q.retry.0.25s');
		const manual = planTopology({
			exchange: 'openstack',
			topic: 't',
			priorities: ['info'],
			queue: { kind: 'temporary' },
			exchangeMode: 'passive',
			retryDelaysMs: [10_000],
		});
		expect(manual.retryQueues).toEqual([]);
		expect(manual.restartMarker).toBeNull();
		expect(plan.restartMarker).toBe('n8n-esi-leap.wf.node.alive');
	});
});
