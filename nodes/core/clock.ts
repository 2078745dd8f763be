/**
 * Time for the core: the current time and a sleep that an AbortSignal ends early. The core never
 * reads the host's timers itself (n8n Cloud's rules forbid setTimeout/clearTimeout in a verified
 * package): the n8n shell passes n8n-workflow's sleep (nodes/shared/clock.ts), tests their own.
 */
export interface Clock {
	/** Epoch milliseconds. */
	now(): number;
	/** Resolves after `ms`; rejects (with any error) when `signal` aborts first. */
	sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Sleeps `ms`; resolves true when the time passed, false when `signal` aborted the sleep. */
export async function sleepUnlessAborted(
	clock: Clock,
	ms: number,
	signal: AbortSignal,
): Promise<boolean> {
	if (signal.aborted) return false;
	return await clock.sleep(Math.max(0, ms), signal).then(
		() => true,
		(error: unknown) => {
			if (signal.aborted) return false;
			// Not an abort: the sleep itself failed, which the caller must see.
			throw error;
		},
	);
}

/**
 * Waits for `work` to settle, at most `ms`: true when it settled (fulfilled or rejected), false
 * when the time ran out first. The sleep is aborted once the race is decided, so no timer stays.
 */
export async function settlesWithin(
	clock: Clock,
	work: Promise<unknown>,
	ms: number,
): Promise<boolean> {
	const controller = new AbortController();
	const settled = work.then(
		() => true,
		() => true,
	);
	const timedOut = sleepUnlessAborted(clock, ms, controller.signal).then(() => false);
	try {
		return await Promise.race([settled, timedOut]);
	} finally {
		controller.abort();
	}
}
