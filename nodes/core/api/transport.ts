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
	/** Serialized as JSON with `Content-Type: application/json`. */
	body?: unknown;
	headers?: Record<string, string>;
	timeoutMs?: number;
}

export interface HttpResponse {
	status: number;
	/** Header names in lower case. */
	headers: Record<string, string>;
	/** Parsed JSON when the body is JSON, the raw text otherwise (ESI's 405 is HTML). */
	body: unknown;
}

/** Must resolve for every HTTP status; rejects only when no response was received. */
export type Transport = (request: HttpRequest) => Promise<HttpResponse>;
