/**
 * The core's Clock (core/clock.ts) on n8n's own helpers, so the nodes never touch setTimeout or
 * clearTimeout (n8n Cloud's lint rules). n8n-workflow's helper changed between majors, so it is
 * looked up at run time, in the n8n-workflow of the running n8n:
 * - n8n 1.x (n8n-workflow 1.120 in n8n 1.123): `sleepWithAbort(ms, signal)`, and `sleep(ms)`;
 * - n8n 2.x (n8n-workflow 2.41 in n8n 2.41): `sleep(ms, signal?)`; `sleepWithAbort` is gone.
 * A `sleep` that takes no signal is raced against the signal: the caller goes on at once and the
 * helper's timer runs out by itself.
 */
import * as workflow from 'n8n-workflow';

import type { Clock } from '../core/clock';

type AbortableSleep = (ms: number, signal?: AbortSignal) => Promise<void>;

interface SleepHelpers {
	sleep?: AbortableSleep;
	sleepWithAbort?: AbortableSleep;
}

/** The abortable sleep of the given n8n-workflow exports (exported for the version tests). */
export function abortableSleep(helpers: SleepHelpers): Clock['sleep'] {
	const { sleep, sleepWithAbort } = helpers;
	if (typeof sleepWithAbort === 'function')
		return async (ms, signal) => await sleepWithAbort(ms, signal);
	if (typeof sleep !== 'function') {
		throw new Error('n8n-workflow exports neither sleep nor sleepWithAbort');
	}
	if (sleep.length >= 2) return async (ms, signal) => await sleep(ms, signal);
	return async (ms, signal) => await raceAbort(sleep(ms), signal);
}

async function raceAbort(sleeping: Promise<void>, signal: AbortSignal): Promise<void> {
	if (signal.aborted) throw abortError(signal);
	let onAbort: (() => void) | undefined;
	const aborted = new Promise<never>((_, reject) => {
		onAbort = () => reject(abortError(signal));
		signal.addEventListener('abort', onAbort, { once: true });
	});
	try {
		await Promise.race([sleeping, aborted]);
	} finally {
		if (onAbort) signal.removeEventListener('abort', onAbort);
	}
}

function abortError(signal: AbortSignal): Error {
	return signal.reason instanceof Error ? signal.reason : new Error('Sleep aborted');
}

/** n8n's time: Date.now and n8n-workflow's sleep. */
export function n8nClock(): Clock {
	return {
		now: () => Date.now(),
		sleep: abortableSleep(workflow as unknown as SleepHelpers),
	};
}
