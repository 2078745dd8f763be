/**
 * The one side-effect boundary of the ESI Leap client and the Keystone code: a request goes in,
 * a response comes out. The n8n nodes pass a transport built on
 * `helpers.httpRequestWithAuthentication`; tests, the emulator tools and benchmarks use undici.
 */
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface HttpRequest {
	method: HttpMethod;
	/** Absolute URL, or a path (`/v1/leases`) that the transport resolves against its base URL. */
	url: string;
	/** Only defined values are sent; ESI Leap rejects unknown query parameters with 400. */
	query?: Record<string, string | undefined>;
	/**
	 * Serialized as JSON with `Content-Type: application/json`, even when it is `{}` (the client
	 * gives every POST and PATCH a body; ESI rejects one without: capture edge-014).
	 */
	body?: unknown;
	headers?: Record<string, string>;
	timeoutMs?: number;
	/**
	 * `stream`: a 2xx body is handed over unread, as bytes (see HttpResponse.body), for answers
	 * too large to hold whole (`GET /v1/events` has no paging). Other statuses still come back
	 * parsed, so ESI's error message can be read. Default `json`.
	 */
	responseType?: 'json' | 'stream';
}

export interface HttpResponse {
	status: number;
	/** Header names in lower case. */
	headers: Record<string, string>;
	/**
	 * Parsed JSON when the body is JSON, the raw text otherwise (ESI's 405 is HTML). For a 2xx
	 * answer to a `responseType: 'stream'` request: an AsyncIterable<Uint8Array> the caller must
	 * read to the end or leave (which closes it). A transport that cannot stream may still
	 * return the parsed body; readers accept both.
	 */
	body: unknown;
}

/** A streamed body (see HttpResponse.body). */
export function isByteStream(body: unknown): body is AsyncIterable<Uint8Array> {
	return (
		typeof body === 'object' &&
		body !== null &&
		typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
	);
}

/** Must resolve for every HTTP status; rejects only when no response was received. */
export type Transport = (request: HttpRequest) => Promise<HttpResponse>;
