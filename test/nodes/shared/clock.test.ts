import * as workflow from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { settlesWithin, sleepUnlessAborted } from '../../../nodes/core/clock';
import { abortableSleep, n8nClock } from '../../../nodes/shared/clock';

/** n8n-workflow's helpers as each major ships them (shapes checked in 1.120.31 and 2.41.0). */
function timerSleep(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(resolve, ms);
		signal?.addEventListener('abort', () => {
			clearTimeout(timer);
			reject(new Error('cancelled'));
		});
	});
}
const n8n1 = {
	sleep: (ms: number) => timerSleep(ms),
	sleepWithAbort: (ms: number, signal?: AbortSignal) => timerSleep(ms, signal),
};
const n8n2 = { sleep: (ms: number, signal?: AbortSignal) => timerSleep(ms, signal) };
const oldSleepOnly = { sleep: (ms: number) => timerSleep(ms) };

describe("the nodes' clock on n8n-workflow's sleep", () => {
	for (const [name, helpers] of [
		['n8n 1.x (sleepWithAbort)', n8n1],
		['n8n 2.x (sleep with a signal)', n8n2],
		['a sleep without a signal', oldSleepOnly],
	] as const) {
		it(`${name}: sleeps, and an abort ends the sleep at once`, async () => {
			const sleep = abortableSleep(helpers);
			const started = Date.now();
			await sleep(30, new AbortController().signal);
			expect(Date.now() - started).toBeGreaterThanOrEqual(25);

			const controller = new AbortController();
			const cut = Date.now();
			const sleeping = sleep(5_000, controller.signal);
			setTimeout(() => controller.abort(), 10);
			await expect(sleeping).rejects.toThrow();
			expect(Date.now() - cut).toBeLessThan(1_000);
		});
	}

	it('uses the n8n-workflow installed here (2.x: sleep with a signal)', async () => {
		expect(typeof (workflow as { sleep?: unknown }).sleep).toBe('function');
		const clock = n8nClock();
		const controller = new AbortController();
		const sleeping = clock.sleep(5_000, controller.signal);
		controller.abort();
		await expect(sleeping).rejects.toThrow();
		expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1_000);
	});

	it('fails clearly when n8n-workflow has neither helper', () => {
		expect(() => abortableSleep({})).toThrow(
			'n8n-workflow exports neither sleep nor sleepWithAbort',
		);
	});

	it('sleepUnlessAborted and settlesWithin tell a finished wait from an aborted or timed-out one', async () => {
		const clock = n8nClock();
		expect(await sleepUnlessAborted(clock, 1, new AbortController().signal)).toBe(true);
		const aborted = new AbortController();
		aborted.abort();
		expect(await sleepUnlessAborted(clock, 5_000, aborted.signal)).toBe(false);
		expect(await settlesWithin(clock, Promise.resolve(), 5_000)).toBe(true);
		expect(await settlesWithin(clock, Promise.reject(new Error('failed')), 5_000)).toBe(true);
		expect(await settlesWithin(clock, new Promise(() => undefined), 20)).toBe(false);
	});
});
