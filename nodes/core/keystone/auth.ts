/**
 * Keystone v3 token requests (POST /v3/auth/tokens): the request body for each auth method, and
 * reading the token (`X-Subject-Token` header), its expiry and its catalog from the answer.
 */
import { z } from 'zod';

import { issuePath, parseErrorMessage } from '../api/schemas';
import type { HttpResponse, Transport } from '../api/transport';
import { EsiLeapError } from '../errors';

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
		throw new EsiLeapError(
			kind,
			`Keystone login failed (HTTP ${response.status}): ${keystoneMessage ?? 'no message'}${hint}`,
			{ status: response.status, esiMessage: keystoneMessage },
		);
	}
	const token = response.headers['x-subject-token'];
	if (!token) {
		throw new EsiLeapError(
			'invalid_response',
			'Keystone answered without an X-Subject-Token header',
			{
				field: 'X-Subject-Token',
			},
		);
	}
	const parsed = tokenBodySchema.safeParse(response.body);
	if (!parsed.success) {
		const field = issuePath(parsed.error.issues[0].path) || '(body)';
		throw new EsiLeapError('invalid_response', `Unexpected Keystone token body: ${field}`, {
			field,
		});
	}
	return {
		token,
		expiresAt: parsed.data.token.expires_at,
		catalog: parsed.data.token.catalog ?? [],
		projectId: parsed.data.token.project?.id,
	};
}

/** POST /v3/auth/tokens over a raw transport. */
export async function requestToken(
	transport: Transport,
	authUrl: string,
	auth: KeystoneAuth,
): Promise<KeystoneToken> {
	const url = tokensUrl(authUrl);
	const body = tokenRequestBody(auth);
	const response = await transport({
		method: 'POST',
		url,
		body,
		headers: { Accept: 'application/json' },
	}).catch((cause: unknown) => keystoneUnreachable(url, cause));
	if (response instanceof Error) throw response;
	return parseTokenResponse(response);
}

function keystoneUnreachable(url: string, cause: unknown): EsiLeapError {
	if (cause instanceof EsiLeapError) return cause;
	const reason = cause instanceof Error ? cause.message : String(cause);
	return new EsiLeapError('network', `Cannot reach Keystone at ${url}: ${reason}`, { cause });
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
