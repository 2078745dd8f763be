/** Reconnect delays: exponential, capped, with jitter so many triggers do not reconnect in step. */
export interface BackoffOptions {
	initialMs: number;
	maxMs: number;
	factor?: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 60_000, factor: 2 };

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
