/**
 * Serves byte-exact REST captures (test/fixtures/esi-leap-real/rest-*.json) through a core
 * Transport. Bodies are parsed from `body_text`, never from the convenience `body` copy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { HttpRequest, Transport } from '../../nodes/core/api/transport';

export const FIXTURES_DIR = join(__dirname, '..', 'fixtures', 'esi-leap-real');

export interface RestCapture {
	request: { method: string; path: string; as?: string | null; body: unknown };
	response: {
		status: number;
		headers: Record<string, string>;
		body_text: string;
	};
}

export function loadCapture(name: string): RestCapture {
	const file = name.endsWith('.json') ? name : `${name}.json`;
	return JSON.parse(readFileSync(join(FIXTURES_DIR, file), 'utf8')) as RestCapture;
}

/** The captured body, parsed from its exact text (DELETE's `null` stays null). */
export function captureBody(name: string): unknown {
	return JSON.parse(loadCapture(name).response.body_text);
}

/** `/v1/leases?view=all&status=any` → `GET /v1/leases?status=any&view=all` (order-free key). */
export function requestKey(method: string, pathWithQuery: string): string {
	const [path, search = ''] = pathWithQuery.split('?');
	const params = [...new URLSearchParams(search).entries()].sort(([a], [b]) => a.localeCompare(b));
	const query = new URLSearchParams(params).toString();
	return `${method.toUpperCase()} ${path}${query ? `?${query}` : ''}`;
}

function keyOf(request: HttpRequest): string {
	const params = new URLSearchParams();
	for (const [key, value] of Object.entries(request.query ?? {})) {
		if (value !== undefined) params.append(key, value);
	}
	const search = params.toString();
	return requestKey(request.method, search ? `${request.url}?${search}` : request.url);
}

export interface StubbedResponse {
	status: number;
	body: unknown;
	headers?: Record<string, string>;
}

export interface CaptureTransport {
	transport: Transport;
	/** Every request the client sent, in order. */
	requests: HttpRequest[];
}

/**
 * A transport answering each `METHOD path?query` with the matching capture (or stubbed
 * response). Unknown requests fail the test loudly; that is how "no unknown query parameter
 * was sent" is checked.
 */
export function captureTransport(
	routes: Record<string, string | StubbedResponse> | string[],
): CaptureTransport {
	const table = new Map<string, StubbedResponse>();
	const entries: Array<[string | undefined, string | StubbedResponse]> = Array.isArray(routes)
		? routes.map((name) => [undefined, name])
		: Object.entries(routes);
	for (const [key, source] of entries) {
		if (typeof source === 'string') {
			const capture = loadCapture(source);
			table.set(key ?? requestKey(capture.request.method, capture.request.path), {
				status: capture.response.status,
				body: JSON.parse(capture.response.body_text),
				headers: capture.response.headers,
			});
		} else {
			table.set(key as string, source);
		}
	}
	const requests: HttpRequest[] = [];
	const transport: Transport = async (request) => {
		requests.push(request);
		const stub = table.get(keyOf(request));
		if (!stub) {
			throw new Error(
				`unexpected request ${keyOf(request)}; stubbed: ${[...table.keys()].join(', ')}`,
			);
		}
		const headers: Record<string, string> = {};
		for (const [name, value] of Object.entries(stub.headers ?? {}))
			headers[name.toLowerCase()] = value;
		return { status: stub.status, headers, body: structuredClone(stub.body) };
	};
	return { transport, requests };
}
