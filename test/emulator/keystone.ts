/**
 * Keystone v3, as much as ESI Leap clients observe: password and application-credential
 * authentication, project scope, X-Subject-Token, the catalog with the `lease` service, token
 * expiry and revocation.
 */
import { randomBytes } from 'node:crypto';
import { json, type Reply } from './http';
import type { Database, Project, User } from './model';

export interface Token {
	value: string;
	user: User;
	project: Project | undefined;
	methods: string[];
	issuedAt: number;
	expiresAt: number;
	revoked: boolean;
	viaApplicationCredential: boolean;
}

export interface TokenStore {
	tokens: Map<string, Token>;
	lifetimeSeconds: number;
	/**
	 * How many coming logins (POST /v3/auth/tokens) are read and never answered. Keystone
	 * hangs were not captured; this copies the failure mode the real ESI Leap API showed
	 * (edge-086, edge README section 8), so that the login's own timeout can be tested.
	 */
	hangingLogins?: number;
}

export interface KeystoneEndpoints {
	keystoneRoot: string;
	leaseRoot: () => string;
}

const UNAUTHORIZED_MESSAGE = 'The request you have made requires authentication.';
const UNAUTHORIZED = {
	error: { code: 401, message: UNAUTHORIZED_MESSAGE, title: 'Unauthorized' },
};
/** keystonemiddleware orders the keys differently from Keystone itself. */
const MIDDLEWARE_UNAUTHORIZED = {
	error: { code: 401, title: 'Unauthorized', message: UNAUTHORIZED_MESSAGE },
};

function keystoneError(code: number, title: string, message: string): Reply {
	return json(code, { error: { code, message, title } });
}

/** The 401 keystonemiddleware answers in front of ESI Leap. */
export function middlewareUnauthorized(keystoneRoot: string): Reply {
	return json(401, MIDDLEWARE_UNAUTHORIZED, {
		'WWW-Authenticate': `Keystone uri="${keystoneRoot}/v3"`,
	});
}

/** Keystone's own time format: microseconds and a `Z`. */
function keystoneTime(millis: number): string {
	return new Date(millis).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function fernetLikeToken(): string {
	return 'gAAAAA' + randomBytes(135).toString('base64url');
}

export function findValidToken(store: TokenStore, value: string | undefined): Token | undefined {
	if (!value) return undefined;
	const token = store.tokens.get(value);
	if (!token || token.revoked || token.expiresAt <= Date.now()) return undefined;
	return token;
}

const domainRef = { id: 'default', name: 'Default' };

function matchesDomain(domain: unknown): boolean {
	if (!domain || typeof domain !== 'object') return false;
	const { id, name } = domain as { id?: unknown; name?: unknown };
	return id === 'default' || name === 'Default' || name === 'default';
}

/** Keystone's lookup by `{ id }`, or by `{ name, domain }` in the Default domain. */
function findByIdOrName<T extends { id: string; name: string }>(
	items: T[],
	spec: Record<string, unknown> | undefined,
): T | undefined {
	if (!spec) return undefined;
	if (typeof spec.id === 'string') return items.find((item) => item.id === spec.id);
	if (typeof spec.name === 'string' && matchesDomain(spec.domain)) {
		return items.find((item) => item.name === spec.name);
	}
	return undefined;
}

function findUser(db: Database, spec: Record<string, unknown> | undefined): User | undefined {
	return findByIdOrName(db.users, spec);
}

function findProject(db: Database, spec: Record<string, unknown> | undefined): Project | undefined {
	return findByIdOrName(db.projects, spec);
}

export function catalog(endpoints: KeystoneEndpoints) {
	const entry = (id: string, interfaceName: string, url: string) => ({
		id,
		interface: interfaceName,
		region_id: 'RegionOne',
		url,
		region: 'RegionOne',
	});
	// One service with its public, internal and admin endpoints (ids in that order).
	const service = (
		id: string,
		type: string,
		name: string,
		url: string,
		endpointIds: [string, string, string],
	) => ({
		endpoints: (['public', 'internal', 'admin'] as const).map((interfaceName, index) =>
			entry(endpointIds[index], interfaceName, url),
		),
		id,
		type,
		name,
	});
	return [
		service('c4e1b7d0a9f84c2e8d6b5a4f3e2d1c0b', 'lease', 'esi-leap', endpoints.leaseRoot(), [
			'6f1d2c1e9b1a4d5c8e7f6a5b4c3d2e1f',
			'7a2e3d2f0c2b4e6d9f8a7b6c5d4e3f20',
			'8b3f4e3a1d3c4f7e0a9b8c7d6e5f4a31',
		]),
		service(
			'f0e1d2c3b4a5469788796a5b4c3d2e1f',
			'identity',
			'keystone',
			`${endpoints.keystoneRoot}/v3`,
			[
				'9c4a5f4b2e4d4a8f1b0c9d8e7f6a5b42',
				'ad5b6a5c3f5e4b9a2c1d0e9f8a7b6c53',
				'be6c7b6d4a6f4cab3d2e1f0a9b8c7d64',
			],
		),
	];
}

function tokenBody(token: Token, endpoints: KeystoneEndpoints) {
	const body: Record<string, unknown> = {
		methods: token.methods,
		user: {
			domain: domainRef,
			id: token.user.id,
			name: token.user.name,
			password_expires_at: null,
		},
		audit_ids: [randomBytes(16).toString('base64url').slice(0, 22)],
		expires_at: keystoneTime(token.expiresAt),
		issued_at: keystoneTime(token.issuedAt),
	};
	if (token.project) {
		body.project = {
			domain: domainRef,
			id: token.project.id,
			name: token.project.name,
		};
		body.is_domain = false;
		body.roles = token.user.roles.map((role) => ({
			id: roleId(role),
			name: role,
		}));
		body.catalog = catalog(endpoints);
	}
	if (token.viaApplicationCredential) {
		const credential = token.user.applicationCredential;
		body.application_credential = {
			id: credential.id,
			name: credential.name,
			restricted: true,
		};
	}
	return { token: body };
}

function roleId(role: string): string {
	return Buffer.from(role.padEnd(16, '-')).toString('hex').slice(0, 32);
}

type Json = Record<string, unknown>;

/** Walks a parsed JSON body; undefined as soon as a level is missing or not an object. */
function dig(value: unknown, ...path: string[]): unknown {
	let current = value;
	for (const key of path) {
		if (!current || typeof current !== 'object') return undefined;
		current = (current as Json)[key];
	}
	return current;
}

function authenticate(
	db: Database,
	auth: unknown,
): { user: User; project: Project | undefined; method: string } | Reply {
	const methods = dig(auth, 'identity', 'methods');
	if (!Array.isArray(methods) || methods.length === 0) {
		return keystoneError(
			400,
			'Bad Request',
			"Invalid input for field 'identity': 'methods' is a required property",
		);
	}
	const method = String(methods[0]);
	if (method === 'password') {
		const userSpec = dig(auth, 'identity', 'password', 'user') as Json | undefined;
		const user = findUser(db, userSpec);
		if (!user || userSpec?.password !== user.password) return json(401, UNAUTHORIZED);
		const scope = dig(auth, 'scope');
		if (!scope) return { user, project: undefined, method };
		const project = findProject(db, dig(scope, 'project') as Json | undefined);
		// Role assignments exist only on the user's own project.
		if (!project || project.id !== user.project.id) return json(401, UNAUTHORIZED);
		return { user, project, method };
	}
	if (method === 'application_credential') {
		const spec = (dig(auth, 'identity', 'application_credential') ?? {}) as Json;
		const user = db.users.find((candidate) =>
			typeof spec.id === 'string'
				? candidate.applicationCredential.id === spec.id
				: candidate.applicationCredential.name === spec.name &&
					findUser(db, spec.user as Json | undefined) === candidate,
		);
		if (!user || spec.secret !== user.applicationCredential.secret) return json(401, UNAUTHORIZED);
		return { user, project: user.project, method };
	}
	return json(401, UNAUTHORIZED);
}

export function issueToken(
	store: TokenStore,
	user: User,
	project: Project | undefined,
	method: string,
): Token {
	const issuedAt = Date.now();
	const token: Token = {
		value: fernetLikeToken(),
		user,
		project,
		methods: [method],
		issuedAt,
		expiresAt: issuedAt + store.lifetimeSeconds * 1000,
		revoked: false,
		viaApplicationCredential: method === 'application_credential',
	};
	store.tokens.set(token.value, token);
	return token;
}

export function handleKeystone(
	db: Database,
	store: TokenStore,
	endpoints: KeystoneEndpoints,
	method: string,
	path: string,
	headers: Record<string, string | string[] | undefined>,
	rawBody: string,
): Reply | Promise<Reply> {
	const route = path.replace(/\/+$/, '') || '/';
	if (route === '/v3/auth/tokens' && method === 'POST') {
		if ((store.hangingLogins ?? 0) > 0) {
			store.hangingLogins = (store.hangingLogins ?? 0) - 1;
			return new Promise<Reply>(() => undefined);
		}
		let parsed: unknown;
		try {
			parsed = JSON.parse(rawBody);
		} catch {
			return keystoneError(400, 'Bad Request', 'Malformed request body.');
		}
		const result = authenticate(db, dig(parsed, 'auth'));
		if ('status' in result) return result;
		const token = issueToken(store, result.user, result.project, result.method);
		return json(201, tokenBody(token, endpoints), {
			'X-Subject-Token': token.value,
		});
	}
	const callerToken = findValidToken(store, headers['x-auth-token'] as string | undefined);
	if (route === '/v3/auth/tokens' && method === 'GET') {
		const subject = findValidToken(store, headers['x-subject-token'] as string | undefined);
		if (!callerToken)
			return json(401, UNAUTHORIZED, {
				'WWW-Authenticate': `Keystone uri="${endpoints.keystoneRoot}/v3"`,
			});
		if (!subject) return keystoneError(404, 'Not Found', 'Could not find token.');
		return json(200, tokenBody(subject, endpoints), {
			'X-Subject-Token': subject.value,
		});
	}
	if (route === '/v3/auth/catalog' && method === 'GET') {
		if (!callerToken)
			return json(401, UNAUTHORIZED, {
				'WWW-Authenticate': `Keystone uri="${endpoints.keystoneRoot}/v3"`,
			});
		return json(200, {
			catalog: callerToken.project ? catalog(endpoints) : [],
			links: {
				self: `${endpoints.keystoneRoot}/v3/auth/catalog`,
				previous: null,
				next: null,
			},
		});
	}
	if ((route === '/v3' || route === '/') && method === 'GET') {
		const version = {
			id: 'v3.14',
			status: 'stable',
			updated: '2020-04-07T00:00:00Z',
			links: [{ rel: 'self', href: `${endpoints.keystoneRoot}/v3/` }],
			'media-types': [
				{
					base: 'application/json',
					type: 'application/vnd.openstack.identity-v3+json',
				},
			],
		};
		return route === '/v3'
			? json(200, { version })
			: json(300, { versions: { values: [version] } });
	}
	return keystoneError(404, 'Not Found', 'The resource could not be found.');
}
