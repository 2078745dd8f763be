/** Reconnect delays: exponential, capped, with jitter so many triggers do not reconnect in step. */
export interface BackoffOptions {
	initialMs: number;
	maxMs: number;
	factor?: number;
}

/**
 * Frequent on purpose: after a broker restart ESI re-declares oslo's non-durable exchange and
 * publishes about 0.4 s after the broker is back (issue 12); until we have re-bound, those
 * notifications reach no queue of ours. First attempt after 100-200 ms, then at most 1 s apart.
 * A refused connection costs the broker next to nothing.
 */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 1_000, factor: 2 };

/**
 * Delay before reconnect attempt `attempt` (0-based): "equal jitter", i.e. a random value in
 * [ceiling/2, ceiling] where ceiling = min(max, initial * factor^attempt). Never 0, never above max.
 */
export function backoffDelay(
	attempt: number,
	options: BackoffOptions = DEFAULT_BACKOFF,
	random: () => number = Math.random,
): number {
	const factor = options.factor ?? 2;
	const ceiling = Math.min(
		options.maxMs,
		options.initialMs * Math.pow(factor, Math.max(0, attempt)),
	);
	const half = ceiling / 2;
	return Math.round(half + random() * half);
}
