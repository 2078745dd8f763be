/**
 * A faithful stand-in for n8n's request helpers, so node tests exercise the real credential's
 * token exchange instead of a mock. It follows n8n 2.41:
 * - `httpRequest` (n8n-core OutboundHttp over axios): baseURL + url, `qs`, JSON bodies, returns the
 *   body or `{ body, headers, statusCode, statusMessage }`, and throws an axios-shaped error on
 *   non-2xx unless `ignoreHttpStatusErrors`; with `encoding: 'stream'` (axios `responseType:
 *   'stream'`) the body — also an error's `response.data` — is a Node Readable, unread;
 * - `httpRequestWithAuthentication` (n8n-core request-helpers/authentication.ts): runs the
 *   credential type's `preAuthentication` when its hidden expirable field is empty (CredentialsHelper
 *   in n8n-cli), persists the returned fields, calls `authenticate`, sends; on a thrown 401 it
 *   re-runs `preAuthentication` once and retries; every failure becomes a NodeApiError.
 */
import type {
	ICredentialDataDecryptedObject,
	ICredentialType,
	IDataObject,
	IHttpRequestOptions,
	INode,
} from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Agent, fetch } from 'undici';

export interface StoredCredential {
	type: ICredentialType;
	/** Mutable: fields returned by preAuthentication are written back, as n8n persists them. */
	data: ICredentialDataDecryptedObject;
}

export interface RequestLogEntry {
	method: string;
	url: string;
	headers: Record<string, string>;
	body?: unknown;
	status?: number;
}

export interface N8nHttp {
	httpRequest(options: IHttpRequestOptions): Promise<unknown>;
	httpRequestWithAuthentication(
		credentialName: string,
		options: IHttpRequestOptions,
		node: INode,
	): Promise<unknown>;
	/** How often each credential's preAuthentication ran (token exchanges). */
	preAuthenticationCalls: Record<string, number>;
	/** Every request sent, newest last (secrets included: assert on it, never print it). */
	requests: RequestLogEntry[];
	close(): Promise<void>;
}

interface AxiosShapedError extends Error {
	isAxiosError: true;
	response: { status: number; statusText: string; headers: Record<string, string>; data: unknown };
}

export function createN8nHttp(credentials: Record<string, StoredCredential>): N8nHttp {
	const agents = new Map<string, Agent>();
	const preAuthenticationCalls: Record<string, number> = {};
	const requests: RequestLogEntry[] = [];

	function agentFor(options: IHttpRequestOptions): Agent {
		const ca = options.agentOptions?.ca;
		const rejectUnauthorized = !options.skipSslCertificateValidation;
		const key = `${rejectUnauthorized}:${typeof ca === 'string' ? ca : ''}`;
		let agent = agents.get(key);
		if (!agent) {
			agent = new Agent({ connect: { rejectUnauthorized, ...(ca ? { ca: ca as string } : {}) } });
			agents.set(key, agent);
		}
		return agent;
	}

	async function httpRequest(options: IHttpRequestOptions): Promise<unknown> {
		const url = new URL(combineUrl(options.baseURL, options.url));
		for (const [key, value] of Object.entries(options.qs ?? {})) {
			if (value !== undefined && value !== null) url.searchParams.append(key, String(value));
		}
		const headers: Record<string, string> = {};
		for (const [key, value] of Object.entries(options.headers ?? {})) {
			if (value !== undefined) headers[key.toLowerCase()] = String(value);
		}
		// As n8n 2.41 (@n8n/backend-network dist/http/axios/request.js convertN8nRequestToAxios):
		// axios gets `data` only for a string or a non-empty object, so `{}` sends no body and no
		// Content-Type; axios then types an object as JSON and leaves a string untyped.
		let body: string | undefined;
		const sent = options.body as unknown;
		if (options.method !== 'GET' && typeof sent === 'string' && sent !== '') {
			body = sent;
		} else if (
			options.method !== 'GET' &&
			typeof sent === 'object' &&
			sent !== null &&
			Object.keys(sent).length > 0
		) {
			body = JSON.stringify(sent);
			headers['content-type'] ??= 'application/json';
		}
		const entry: RequestLogEntry = {
			method: options.method ?? 'GET',
			url: url.toString(),
			headers,
			body: options.body,
		};
		requests.push(entry);
		const response = await fetch(url, {
			method: options.method ?? 'GET',
			headers,
			body,
			dispatcher: agentFor(options),
			signal: options.timeout ? AbortSignal.timeout(options.timeout) : undefined,
		});
		entry.status = response.status;
		const responseHeaders: Record<string, string> = {};
		response.headers.forEach((value, key) => (responseHeaders[key] = value));
		const data =
			options.encoding === 'stream'
				? response.body
					? quietAfterTimeout(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>))
					: Readable.from([])
				: parseBody(await response.text(), responseHeaders['content-type']);
		if (
			(response.status < 200 || response.status >= 300) &&
			!ignoresStatus(options, response.status)
		) {
			const error = new Error(
				`Request failed with status code ${response.status}`,
			) as AxiosShapedError;
			error.isAxiosError = true;
			error.response = {
				status: response.status,
				statusText: response.statusText,
				headers: responseHeaders,
				data,
			};
			throw error;
		}
		if (options.returnFullResponse) {
			return {
				body: data,
				headers: responseHeaders,
				statusCode: response.status,
				statusMessage: response.statusText,
			};
		}
		return data;
	}

	async function preAuthenticate(name: string, expired: boolean): Promise<void> {
		const stored = credentials[name];
		const expirable = stored.type.properties.find(
			(property) => property.type === 'hidden' && property.typeOptions?.expirable === true,
		);
		if (!expirable || typeof stored.type.preAuthentication !== 'function') return;
		if (
			stored.data[expirable.name] !== '' &&
			stored.data[expirable.name] !== undefined &&
			!expired
		) {
			return;
		}
		preAuthenticationCalls[name] = (preAuthenticationCalls[name] ?? 0) + 1;
		const output: IDataObject = await stored.type.preAuthentication.call(
			{ helpers: { httpRequest } },
			stored.data,
		);
		if (output[expirable.name] === undefined) return;
		Object.assign(stored.data, output);
	}

	async function authenticate(
		name: string,
		options: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		const { type, data } = credentials[name];
		if (typeof type.authenticate === 'function') {
			return await type.authenticate(data, { ...options, headers: { ...(options.headers ?? {}) } });
		}
		throw new Error(`Fake n8n supports only function-valued authenticate (credential ${name})`);
	}

	async function httpRequestWithAuthentication(
		name: string,
		options: IHttpRequestOptions,
		node: INode,
	): Promise<unknown> {
		if (!credentials[name]) throw new Error(`No credential "${name}" in the fake n8n`);
		try {
			await preAuthenticate(name, false);
			return await httpRequest(await authenticate(name, options));
		} catch (error) {
			if ((error as Partial<AxiosShapedError>).response?.status === 401) {
				try {
					await preAuthenticate(name, true);
					return await httpRequest(await authenticate(name, options));
				} catch (retryError) {
					throw new NodeApiError(node, retryError as never);
				}
			}
			throw new NodeApiError(node, error as never);
		}
	}

	return {
		httpRequest,
		httpRequestWithAuthentication,
		preAuthenticationCalls,
		requests,
		async close() {
			await Promise.all([...agents.values()].map((agent) => agent.close()));
			agents.clear();
		},
	};
}

/** n8n 2.x turns `{ ignore: true, except: [...] }` into axios's validateStatus. */
function ignoresStatus(options: IHttpRequestOptions, status: number): boolean {
	const setting = options.ignoreHttpStatusErrors;
	if (typeof setting === 'object' && setting !== null) return !setting.except.includes(status);
	return setting === true;
}

/** axios semantics: a relative url is appended to baseURL (keeping its path), an absolute one wins. */
function combineUrl(baseURL: string | undefined, url: string): string {
	if (!baseURL || /^[a-z][a-z\d+.-]*:\/\//i.test(url)) return url;
	return `${baseURL.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}`;
}

function parseBody(text: string, contentType: string | undefined): unknown {
	if (text === '') return '';
	if (contentType?.includes('json') || /^[[{"]|^null$|^-?\d/.test(text.trim())) {
		try {
			return JSON.parse(text);
		} catch {
			return text;
		}
	}
	return text;
}

/**
 * The request's AbortSignal.timeout also fires after a streamed body was read, and the stream
 * then emits that TimeoutError with nobody listening any more, which would end the process
 * (a long benchmark run). The reader's own listeners still get every error.
 */
function quietAfterTimeout(stream: Readable): Readable {
	stream.on('error', () => undefined);
	return stream;
}
