import type { Clock } from '../../nodes/core/clock';

/**
 * The core's Clock on the host's timers, for tests of the core (the nodes use n8n's sleep,
 * nodes/shared/clock.ts). It reads Date.now and setTimeout at each call, so Vitest's fake timers
 * drive it; an abort clears the timer, as n8n's sleep does.
 */
export const timerClock: Clock = {
	now: () => Date.now(),
	sleep: async (ms, signal) =>
		await new Promise<void>((resolve, reject) => {
			if (signal.aborted) {
				reject(new Error('aborted'));
				return;
			}
			const onAbort = () => {
				clearTimeout(timer);
				reject(new Error('aborted'));
			};
			const timer = setTimeout(() => {
				signal.removeEventListener('abort', onAbort);
				resolve();
			}, ms);
			signal.addEventListener('abort', onAbort, { once: true });
		}),
};
