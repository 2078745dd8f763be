/**
 * A core Transport over undici, for tests, tools and benchmarks (never shipped: undici is a
 * devDependency). TLS verification is on unless `rejectUnauthorized: false`; `ca` adds a
 * custom certificate authority.
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
		const text = await response.text();
		const responseHeaders: Record<string, string> = {};
		response.headers.forEach((value, key) => {
			responseHeaders[key.toLowerCase()] = value;
		});
		return {
			status: response.status,
			headers: responseHeaders,
			body: parseBody(text),
		} satisfies HttpResponse;
	}) as UndiciTransport;
	transport.close = async () => agent.close();
	return transport;
}

function parseBody(text: string): unknown {
	if (text === '') return undefined;
	try {
		return JSON.parse(text) as unknown;
	} catch {
		return text;
	}
}
