/**
 * The core Transport over n8n's request helpers.
 *
 * Inside a node, requests go through `httpRequestWithAuthentication('esiLeapApi', ...)`, which
 * runs the credential's Keystone exchange (preAuthentication) when the token is missing, adds
 * X-Auth-Token and ESI Leap's base URL (the credential's `authenticate`), and — when the request
 * THROWS with status 401 — re-runs the exchange once and re-sends (n8n-core
 * request-helpers/authentication.ts).
 *
 * We want ESI's own error bodies for every other status, so we ask n8n to ignore status errors
 * except 401: `ignoreHttpStatusErrors: { ignore: true, except: [401] }` (n8n-workflow 2.x
 * IgnoreStatusErrorConfig). A plain `ignoreHttpStatusErrors: true` would turn the 401 into a
 * normal response and silently disable n8n's token refresh. n8n versions that treat the object
 * as plain `true` hand the 401 back; we then re-send once with status errors enabled, so their
 * refresh path still runs.
 *
 * Bodies go to n8n already serialized, with their Content-Type. n8n drops an empty object body:
 * convertN8nRequestToAxios (@n8n/backend-network 2.41 dist/http/axios/request.js, n8n-core 1.x
 * the same) sets axios `data` only for a string or a non-empty object, so `body: {}` with
 * `json: true` leaves the wire without a body and without a Content-Type, and ESI answers 400
 * `Missing argument: "new_lease"` (capture edge-014). A string is always sent; axios adds no
 * Content-Type to a string, and ESI answers a body without one with 415 (edge-013).
 *
 * A `responseType: 'stream'` request is sent with `encoding: 'stream'`: n8n hands axios's
 * response stream over as the body, for every status and also inside a thrown status error
 * (n8n-core 2.41 convertN8nRequestToAxios maps `encoding` to axios's `responseType`; 1.x does
 * the same). A 2xx stream goes to the client unread; any other status's stream is read here
 * (error bodies are small) and parsed, so ESI's message survives, 401 refresh included.
 */
import type { IAllExecuteFunctions, IDataObject, IHttpRequestOptions } from 'n8n-workflow';

import {
	isByteStream,
	type HttpRequest,
	type HttpResponse,
	type Transport,
} from '../core/api/transport';
import { coreErrorIn } from './errors';

export const ESI_LEAP_API_CREDENTIAL = 'esiLeapApi';

export type SendHttpRequest = (options: IHttpRequestOptions) => Promise<unknown>;

const IGNORE_ALL_BUT_401 = { ignore: true as const, except: [401] };

/** Builds n8n request options from a core request. */
export function toN8nRequestOptions(
	request: HttpRequest,
	extra: Partial<IHttpRequestOptions> = {},
): IHttpRequestOptions {
	const qs: IDataObject = {};
	for (const [key, value] of Object.entries(request.query ?? {})) {
		if (value !== undefined) qs[key] = value;
	}
	return {
		method: request.method,
		url: request.url,
		...(Object.keys(qs).length > 0 ? { qs } : {}),
		...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
		headers: {
			Accept: 'application/json',
			...(request.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
			...request.headers,
		},
		json: true,
		returnFullResponse: true,
		ignoreHttpStatusErrors: true,
		...(request.timeoutMs !== undefined ? { timeout: request.timeoutMs } : {}),
		...(request.responseType === 'stream' ? { encoding: 'stream' as const } : {}),
		...extra,
	};
}

/** A transport over `helpers.httpRequest` (no n8n authentication; used by preAuthentication). */
export function transportOverHttpRequest(
	send: SendHttpRequest,
	extra: Partial<IHttpRequestOptions> = {},
): Transport {
	return async (request) => {
		const outcome = await send(toN8nRequestOptions(request, extra)).catch(responseFromError);
		if (outcome instanceof Error) throw outcome;
		return await fromFullResponse(outcome);
	};
}

/** The transport the ESI Leap nodes hand to createEsiLeapClient. */
export function esiLeapApiTransport(context: IAllExecuteFunctions): Transport {
	const send = async (options: IHttpRequestOptions) =>
		await context.helpers.httpRequestWithAuthentication.call(
			context,
			ESI_LEAP_API_CREDENTIAL,
			options,
		);
	return async (request) => {
		const first = await sendAuthenticated(send, request, IGNORE_ALL_BUT_401);
		// A 401 that came back as a plain response means this n8n ignored the `except` list and
		// never tried a refresh: re-send with status errors on so its refresh path runs. A 401
		// that was thrown has already been through n8n's one refresh.
		if (first.status !== 401 || first.thrown) return first.response;
		return (await sendAuthenticated(send, request, false)).response;
	};
}

async function sendAuthenticated(
	send: SendHttpRequest,
	request: HttpRequest,
	ignoreHttpStatusErrors: IHttpRequestOptions['ignoreHttpStatusErrors'],
): Promise<{ status: number; thrown: boolean; response: HttpResponse }> {
	const outcome = await send(toN8nRequestOptions(request, { ignoreHttpStatusErrors })).then(
		(raw) => ({ raw, thrown: false }),
		(error: unknown) => ({ raw: responseFromError(error), thrown: true }),
	);
	if (outcome.raw instanceof Error) throw outcome.raw;
	const response = await fromFullResponse(outcome.raw);
	return { status: response.status, thrown: outcome.thrown, response };
}

async function fromFullResponse(raw: unknown): Promise<HttpResponse> {
	const full = raw as FullResponse;
	const status = Number(full.statusCode ?? 0);
	const headers = lowerCaseHeaders(full.headers);
	const body = full.body;
	if (!isByteStream(body) || (status >= 200 && status < 300)) return { status, headers, body };
	return { status, headers, body: await readErrorBody(body) };
}

/** Error bodies worth reading are small; a runaway one is cut, not buffered whole. */
const MAX_ERROR_BODY_BYTES = 1 << 20;

/** A streamed non-2xx body, read and parsed as n8n would have without `encoding: 'stream'`. */
async function readErrorBody(stream: AsyncIterable<Uint8Array>): Promise<unknown> {
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of stream) {
		chunks.push(Buffer.from(chunk));
		size += chunk.length;
		if (size >= MAX_ERROR_BODY_BYTES) break;
	}
	const text = Buffer.concat(chunks).toString('utf8');
	if (text === '') return '';
	try {
		return JSON.parse(text) as unknown;
	} catch {
		return text;
	}
}

/** What `returnFullResponse: true` resolves with. */
interface FullResponse {
	statusCode?: number;
	headers?: unknown;
	body?: unknown;
}

interface ResponseCarrier {
	response?: { status?: number; headers?: unknown; data?: unknown };
	cause?: unknown;
}

/**
 * A thrown HTTP status error (axios-shaped, possibly wrapped in NodeApiError's `cause`) still
 * carries ESI's answer: hand it back as a response so the client maps it with ESI's message.
 * Anything else (refused, reset, TLS, timeout) stays an error.
 */
function responseFromError(error: unknown): FullResponse | Error {
	// A failed Keystone login (preAuthentication) stays the typed error, never "no response".
	const coreError = coreErrorIn(error);
	if (coreError) return coreError;
	let current: unknown = error;
	for (let depth = 0; depth < 3 && current; depth += 1) {
		const response = (current as ResponseCarrier).response;
		if (response && typeof response.status === 'number') {
			return {
				statusCode: response.status,
				headers: lowerCaseHeaders(response.headers),
				body: response.data,
			};
		}
		current = (current as ResponseCarrier).cause;
	}
	return error instanceof Error ? error : new Error(String(error));
}

function lowerCaseHeaders(headers: unknown): Record<string, string> {
	const result: Record<string, string> = {};
	if (!headers || typeof headers !== 'object') return result;
	for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
		if (value !== undefined && value !== null) {
			result[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
		}
	}
	return result;
}
