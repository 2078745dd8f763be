/**
 * A core Transport over undici, for tests, tools and benchmarks (never shipped: undici is a
 * devDependency). TLS verification is on unless `rejectUnauthorized: false`; `ca` adds a
 * custom certificate authority. A 2xx answer to a `responseType: 'stream'` request keeps its
 * body unread (an AsyncIterable of bytes); other statuses are read and parsed as usual.
 */
import { Agent, fetch } from 'undici';

import type { HttpResponse, Transport } from '../../nodes/core/api/transport';

export interface UndiciTransportOptions {
	/** Resolves relative URLs (`/v1/leases`); absolute URLs are used as they are. */
	baseUrl?: string;
	/** PEM text of extra trusted CA certificates. */
	ca?: string;
	rejectUnauthorized?: boolean;
	defaultTimeoutMs?: number;
}

export interface UndiciTransport extends Transport {
	close(): Promise<void>;
}

export function createUndiciTransport(options: UndiciTransportOptions = {}): UndiciTransport {
	const agent = new Agent({
		connect: {
			rejectUnauthorized: options.rejectUnauthorized ?? true,
			...(options.ca ? { ca: options.ca } : {}),
		},
	});

	const transport = (async (request) => {
		const url = new URL(
			/^[a-z][a-z\d+.-]*:\/\//i.test(request.url)
				? request.url
				: `${(options.baseUrl ?? '').replace(/\/+$/, '')}/${request.url.replace(/^\/+/, '')}`,
		);
		for (const [key, value] of Object.entries(request.query ?? {})) {
			if (value !== undefined) url.searchParams.append(key, value);
		}
		const headers: Record<string, string> = { ...request.headers };
		let body: string | undefined;
		if (request.body !== undefined) {
			body = JSON.stringify(request.body);
			headers['Content-Type'] = 'application/json';
		}
		const timeoutMs = request.timeoutMs ?? options.defaultTimeoutMs ?? 30_000;
		const response = await fetch(url, {
			method: request.method,
			headers,
			body,
			dispatcher: agent,
			signal: AbortSignal.timeout(timeoutMs),
		});
		const responseHeaders: Record<string, string> = {};
		response.headers.forEach((value, key) => {
			responseHeaders[key.toLowerCase()] = value;
		});
		const streamed = request.responseType === 'stream' && response.ok && response.body;
		return {
			status: response.status,
			headers: responseHeaders,
			body: streamed ? chunksOf(response.body) : parseBody(await response.text()),
		} satisfies HttpResponse;
	}) as UndiciTransport;
	transport.close = async () => agent.close();
	return transport;
}

/** The body's chunks; leaving the loop early cancels the download. */
async function* chunksOf(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
	const reader = body.getReader();
	let done = false;
	try {
		for (;;) {
			const next = await reader.read();
			if (next.done) break;
			yield next.value;
		}
		done = true;
	} finally {
		if (!done) await reader.cancel().catch(() => undefined);
		reader.releaseLock();
	}
}

function parseBody(text: string): unknown {
	if (text === '') return undefined;
	try {
		return JSON.parse(text) as unknown;
	} catch {
		return text;
	}
}
