/**
 * A Keystone session for code that runs outside n8n (tests, tools, benchmarks, emulator
 * clients): it logs in lazily, caches the token, finds ESI Leap's endpoint, and re-logs in once
 * when ESI Leap answers 401 (expired or revoked token). Inside n8n the credential's
 * preAuthentication does the same job.
 */
import type { HttpRequest, HttpResponse, Transport } from '../api/transport';
import { requestToken, type KeystoneAuth, type KeystoneToken } from './auth';
import { resolveLeaseEndpoint, type EndpointInterface } from './catalog';

export interface KeystoneSessionOptions {
	authUrl: string;
	auth: KeystoneAuth;
	/** Sends absolute URLs (Keystone and ESI Leap). */
	transport: Transport;
	interface?: EndpointInterface;
	region?: string;
	/** ESI Leap root URL to use instead of the catalog's. */
	endpointOverride?: string;
	/** How long the login may take (default DEFAULT_KEYSTONE_TIMEOUT_MS). */
	loginTimeoutMs?: number;
}

export interface KeystoneSession {
	/** Resolves `/v1/...` against ESI Leap's endpoint and adds X-Auth-Token; for createEsiLeapClient. */
	readonly authenticatedTransport: Transport;
	/** The current login, logging in first if needed. */
	login(): Promise<{ token: KeystoneToken; leaseEndpoint: string }>;
	/** Forget the cached token; the next request logs in again. */
	invalidate(): void;
}

export function createKeystoneSession(options: KeystoneSessionOptions): KeystoneSession {
	let current: Promise<{ token: KeystoneToken; leaseEndpoint: string }> | undefined;

	async function freshLogin() {
		const token = await requestToken(options.transport, options.authUrl, options.auth, {
			timeoutMs: options.loginTimeoutMs,
		});
		const leaseEndpoint = resolveLeaseEndpoint(
			token.catalog,
			{ interface: options.interface ?? 'public', region: options.region },
			options.endpointOverride,
		);
		return { token, leaseEndpoint };
	}

	function login() {
		// One login in flight at a time, shared by concurrent requests.
		current ??= freshLogin().catch((error: unknown) => {
			current = undefined;
			throw error;
		});
		return current;
	}

	async function send(request: HttpRequest): Promise<HttpResponse> {
		const session = await login();
		return await options.transport({
			...request,
			url: absoluteUrl(session.leaseEndpoint, request.url),
			headers: { ...request.headers, 'X-Auth-Token': session.token.token },
		});
	}

	const authenticatedTransport: Transport = async (request) => {
		const used = current;
		const response = await send(request);
		if (response.status !== 401) return response;
		// Another request may already have replaced the token we used; only then is it fresh.
		if (current === used || used === undefined) current = undefined;
		return await send(request);
	};

	return {
		authenticatedTransport,
		login,
		invalidate: () => {
			current = undefined;
		},
	};
}

export function absoluteUrl(base: string, url: string): string {
	if (/^[a-z][a-z\d+.-]*:\/\//i.test(url)) return url;
	return `${base.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}`;
}
