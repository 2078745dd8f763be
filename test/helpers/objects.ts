/** Small pieces the fake n8n contexts (tests and benchmarks) share. */

/** Structurally the same as n8n's IDeferredPromise (not exported from n8n-workflow's root). */
export interface DeferredPromise<T> {
	promise: Promise<T>;
	resolve: (value: T) => void;
	reject: (error: Error) => void;
}

/** What n8n's `helpers.createDeferredPromise` returns. */
export function deferred<T>(): DeferredPromise<T> {
	let resolve!: (value: T) => void;
	let reject!: (error: Error) => void;
	const promise = new Promise<T>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	return { promise, resolve, reject };
}

/**
 * `a.b.0.c` through objects and arrays, as n8n reads node parameters (lodash `get`); undefined
 * when any step is missing.
 */
export function getByPath(source: unknown, path: string): unknown {
	let current = source;
	for (const key of path.split('.')) {
		if (current === null || typeof current !== 'object') return undefined;
		current = (current as Record<string, unknown>)[key];
	}
	return current;
}
