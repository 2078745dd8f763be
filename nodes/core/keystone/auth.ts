/**
 * Keystone v3 token requests (POST /v3/auth/tokens): the request body for each auth method, and
 * reading the token (`X-Subject-Token` header), its expiry and its catalog from the answer.
 */
import { z } from 'zod';

import { issuePath, parseErrorMessage } from '../api/schemas';
import type { HttpResponse, Transport } from '../api/transport';
import {
	EsiLeapError,
	isTimeout,
	type EsiLeapErrorDetails,
	type EsiLeapErrorKind,
} from '../errors';

/** How long a login may take unless the caller says otherwise. */
export const DEFAULT_KEYSTONE_TIMEOUT_MS = 30_000;

/**
 * A failure of the Keystone login itself (refused, unreachable, timed out, odd answer), so that
 * nobody reports it as an ESI Leap failure. `headline` says what happened in a few words; the
 * message carries Keystone's own text and the URL.
 */
export class KeystoneError extends EsiLeapError {
	readonly headline: string;

	constructor(
		kind: EsiLeapErrorKind,
		headline: string,
		message: string,
		details: EsiLeapErrorDetails = {},
	) {
		super(kind, message, details);
		this.name = 'KeystoneError';
		this.headline = headline;
	}
}

export interface PasswordAuth {
	type: 'password';
	username: string;
	password: string;
	userDomainName: string;
	/** One of projectId / projectName is needed; the ID wins when both are set. */
	projectId?: string;
	projectName?: string;
	projectDomainName?: string;
}

export interface ApplicationCredentialAuth {
	type: 'applicationCredential';
	applicationCredentialId: string;
	applicationCredentialSecret: string;
}

export type KeystoneAuth = PasswordAuth | ApplicationCredentialAuth;

const endpointSchema = z
	.object({
		interface: z.string(),
		url: z.string(),
		region: z.string().nullish(),
		region_id: z.string().nullish(),
	})
	.passthrough();

const catalogEntrySchema = z
	.object({ type: z.string(), name: z.string().optional(), endpoints: z.array(endpointSchema) })
	.passthrough();

const tokenBodySchema = z
	.object({
		token: z
			.object({
				expires_at: z.string().optional(),
				catalog: z.array(catalogEntrySchema).optional(),
				project: z.object({ id: z.string(), name: z.string().optional() }).passthrough().optional(),
			})
			.passthrough(),
	})
	.passthrough();

export type CatalogEndpoint = z.output<typeof endpointSchema>;
export type CatalogEntry = z.output<typeof catalogEntrySchema>;

export interface KeystoneToken {
	/** The token itself: a secret. Never log it. */
	token: string;
	expiresAt?: string;
	catalog: CatalogEntry[];
	projectId?: string;
}

/** `https://keystone:5000`, `.../v3` or `.../v3/` → `.../v3/auth/tokens`. */
export function tokensUrl(authUrl: string): string {
	const base = requireText(authUrl, 'authUrl').replace(/\/+$/, '');
	return `${/\/v3$/.test(base) ? base : `${base}/v3`}/auth/tokens`;
}

export function tokenRequestBody(auth: KeystoneAuth): Record<string, unknown> {
	if (auth.type === 'applicationCredential') {
		// An application credential is scoped to its project already; a scope would be an error.
		return {
			auth: {
				identity: {
					methods: ['application_credential'],
					application_credential: {
						id: requireText(auth.applicationCredentialId, 'applicationCredentialId'),
						secret: requireSecret(auth.applicationCredentialSecret, 'applicationCredentialSecret'),
					},
				},
			},
		};
	}
	const projectId = auth.projectId?.trim();
	const projectName = auth.projectName?.trim();
	if (!projectId && !projectName) {
		throw new EsiLeapError('invalid_input', 'projectName or projectId is required', {
			field: 'projectName',
		});
	}
	const project = projectId
		? { id: projectId }
		: {
				name: projectName,
				domain: { name: requireText(auth.projectDomainName ?? '', 'projectDomainName') },
			};
	return {
		auth: {
			identity: {
				methods: ['password'],
				password: {
					user: {
						name: requireText(auth.username, 'username'),
						domain: { name: requireText(auth.userDomainName, 'userDomainName') },
						password: requireSecret(auth.password, 'password'),
					},
				},
			},
			scope: { project },
		},
	};
}

/** Reads a Keystone answer; failures carry Keystone's own message, never the request body. */
export function parseTokenResponse(response: HttpResponse): KeystoneToken {
	if (response.status !== 201 && response.status !== 200) {
		const keystoneMessage = parseErrorMessage(response.body);
		const kind =
			response.status === 401
				? 'unauthorized'
				: response.status === 403
					? 'forbidden'
					: response.status === 404
						? 'config'
						: response.status >= 500
							? 'server'
							: 'bad_request';
		const hint =
			response.status === 404
				? ' (is the Keystone auth URL right? It should end in :5000 or /v3)'
				: '';
		throw new KeystoneError(
			kind,
			LOGIN_HEADLINES[kind] ?? 'Keystone login failed',
			`Keystone login failed (HTTP ${response.status}): ${keystoneMessage ?? 'no message'}${hint}`,
			{ status: response.status, esiMessage: keystoneMessage },
		);
	}
	const token = response.headers['x-subject-token'];
	if (!token) {
		throw new KeystoneError(
			'invalid_response',
			UNEXPECTED_ANSWER,
			'Keystone answered without an X-Subject-Token header',
			{ field: 'X-Subject-Token' },
		);
	}
	const parsed = tokenBodySchema.safeParse(response.body);
	if (!parsed.success) {
		const field = issuePath(parsed.error.issues[0].path) || '(body)';
		throw new KeystoneError(
			'invalid_response',
			UNEXPECTED_ANSWER,
			`Unexpected Keystone token body: ${field}`,
			{ field },
		);
	}
	return {
		token,
		expiresAt: parsed.data.token.expires_at,
		catalog: parsed.data.token.catalog ?? [],
		projectId: parsed.data.token.project?.id,
	};
}

const LOGIN_HEADLINES: Partial<Record<EsiLeapErrorKind, string>> = {
	unauthorized: 'Keystone refused the login',
	forbidden: 'Keystone refused the login',
	config: 'Keystone has no token service at this URL',
	server: 'Keystone failed while logging in',
	bad_request: 'Keystone rejected the login request',
};
const UNEXPECTED_ANSWER = 'Keystone answered the login in an unexpected way';

/** POST /v3/auth/tokens over a raw transport; gives up after `timeoutMs`. */
export async function requestToken(
	transport: Transport,
	authUrl: string,
	auth: KeystoneAuth,
	options: { timeoutMs?: number } = {},
): Promise<KeystoneToken> {
	const url = tokensUrl(authUrl);
	const body = tokenRequestBody(auth);
	const timeoutMs = options.timeoutMs ?? DEFAULT_KEYSTONE_TIMEOUT_MS;
	const response = await transport({
		method: 'POST',
		url,
		body,
		headers: { Accept: 'application/json' },
		timeoutMs,
	}).catch((cause: unknown) => keystoneUnreachable(url, cause, timeoutMs));
	if (response instanceof Error) throw response;
	return parseTokenResponse(response);
}

/**
 * Node's network error codes in words. n8n replaces any error text that contains one of these
 * codes by its own generic sentence ("The service refused the connection - perhaps it is
 * offline", n8n-workflow NodeError COMMON_ERRORS), so the code must not be in the text.
 */
const NETWORK_CODE_WORDS: Record<string, string> = {
	ECONNREFUSED: 'the connection was refused (nothing listens on that port?)',
	ECONNRESET: 'the connection was reset',
	ENOTFOUND: 'the host name was not found',
	EAI_AGAIN: 'the host name could not be resolved (DNS)',
	EHOSTUNREACH: 'the host is unreachable',
	ENETUNREACH: 'the network is unreachable',
	ETIMEDOUT: 'the connection timed out',
	ECONNABORTED: 'the connection was aborted',
	EADDRNOTAVAIL: 'the address is not available',
	EPIPE: 'the connection was closed while sending',
};

function keystoneUnreachable(url: string, cause: unknown, timeoutMs: number): EsiLeapError {
	if (cause instanceof EsiLeapError) return cause;
	if (isTimeout(cause)) {
		return new KeystoneError(
			'network',
			'Keystone did not answer in time',
			`Keystone did not answer the login at ${url} within ${timeoutMs / 1000} s`,
			{ cause },
		);
	}
	return new KeystoneError(
		'network',
		'Cannot reach Keystone',
		`Cannot reach Keystone at ${url}: ${describeNetworkFailure(cause)}`,
		{ cause },
	);
}

/** Node's codes (OpenSSL's verify errors) for a server certificate the client does not trust. */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
	'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
	'SELF_SIGNED_CERT_IN_CHAIN',
	'DEPTH_ZERO_SELF_SIGNED_CERT',
	'UNABLE_TO_GET_ISSUER_CERT',
	'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
	'CERT_UNTRUSTED',
	'CERT_SIGNATURE_FAILURE',
]);
const UNTRUSTED_CERTIFICATE_TEXT =
	/unable to verify the first certificate|self[- ]signed certificate|unable to get (local )?issuer certificate/i;

/**
 * A certificate the client refused, in words that say what to change in the credential. Node's
 * own text ends in advice for a Node command line ("; if the root CA is installed locally, try
 * running Node.js with --use-system-ca"), which an n8n user cannot follow: it is cut off.
 */
function describeTlsFailure(code: string | undefined, text: string): string | undefined {
	const reason = text.split(';')[0].trim();
	if (
		code === 'ERR_TLS_CERT_ALTNAME_INVALID' ||
		/does not match certificate's altnames/i.test(text)
	)
		return `the server's TLS certificate is not for this host name (${reason}): use a host name the certificate names in the URL`;
	if ((code && UNTRUSTED_CERTIFICATE_CODES.has(code)) || UNTRUSTED_CERTIFICATE_TEXT.test(text))
		return `the server's TLS certificate is not trusted (${reason}): set Custom CA Certificate to the certificate of the CA that signed it`;
	return undefined;
}

/** The reason in words: a known code (also inside undici's "fetch failed" cause), else the text. */
export function describeNetworkFailure(cause: unknown): string {
	let current: unknown = cause;
	for (let depth = 0; depth < 4 && current; depth += 1) {
		const code = (current as { code?: unknown }).code;
		if (typeof code === 'string' && NETWORK_CODE_WORDS[code]) return NETWORK_CODE_WORDS[code];
		const text = current instanceof Error ? current.message : '';
		const tls = describeTlsFailure(typeof code === 'string' ? code : undefined, text);
		if (tls) return tls;
		current = (current as { cause?: unknown }).cause;
	}
	const text = cause instanceof Error ? cause.message : String(cause);
	const named = /\b(E[A-Z_]{3,})\b/.exec(text)?.[1];
	return named && NETWORK_CODE_WORDS[named] ? NETWORK_CODE_WORDS[named] : text;
}

function requireText(value: string, field: string): string {
	const text = typeof value === 'string' ? value.trim() : '';
	if (!text) throw new EsiLeapError('invalid_input', `${field} is required`, { field });
	return text;
}

// Secrets are sent exactly as typed (no trimming), only checked for presence.
function requireSecret(value: string, field: string): string {
	if (typeof value !== 'string' || value === '') {
		throw new EsiLeapError('invalid_input', `${field} is required`, { field });
	}
	return value;
}
