import { describe, expect, it } from 'vitest';

import {
	describeNetworkFailure,
	KeystoneError,
	parseTokenResponse,
	requestToken,
	tokenRequestBody,
	tokensUrl,
} from '../../../nodes/core/keystone/auth';
import { EsiLeapError } from '../../../nodes/core/errors';
import { KEYSTONE, fakeCloud } from './keystoneFake';

const password = {
	type: 'password' as const,
	username: 'lessee',
	password: 's3cret-pa55',
	userDomainName: 'Default',
	projectName: 'esi-lessee',
	projectDomainName: 'Default',
};

describe('tokensUrl', () => {
	it.each([
		['https://k:5000', 'https://k:5000/v3/auth/tokens'],
		['https://k:5000/', 'https://k:5000/v3/auth/tokens'],
		['https://k/identity/v3', 'https://k/identity/v3/auth/tokens'],
		['https://k/identity/v3/', 'https://k/identity/v3/auth/tokens'],
	])('%s → %s', (input, expected) => {
		expect(tokensUrl(input)).toBe(expected);
	});
});

describe('tokenRequestBody', () => {
	it('builds a project-scoped password request by project name + domain', () => {
		expect(tokenRequestBody(password)).toEqual({
			auth: {
				identity: {
					methods: ['password'],
					password: {
						user: { name: 'lessee', domain: { name: 'Default' }, password: 's3cret-pa55' },
					},
				},
				scope: { project: { name: 'esi-lessee', domain: { name: 'Default' } } },
			},
		});
	});

	it('prefers the project ID, which needs no domain', () => {
		const body = tokenRequestBody({ ...password, projectId: 'abc123', projectDomainName: '' });
		expect((body.auth as { scope: unknown }).scope).toEqual({ project: { id: 'abc123' } });
	});

	it('builds an unscoped application-credential request', () => {
		expect(
			tokenRequestBody({
				type: 'applicationCredential',
				applicationCredentialId: 'ac-id',
				applicationCredentialSecret: 'ac-secret',
			}),
		).toEqual({
			auth: {
				identity: {
					methods: ['application_credential'],
					application_credential: { id: 'ac-id', secret: 'ac-secret' },
				},
			},
		});
	});

	it('names the missing field', () => {
		expect(() => tokenRequestBody({ ...password, projectName: '' })).toThrow(
			/projectName or projectId/,
		);
		try {
			tokenRequestBody({ ...password, password: '' });
			expect.unreachable();
		} catch (error) {
			expect(error).toMatchObject({ kind: 'invalid_input', field: 'password' });
		}
	});
});

describe('parseTokenResponse / requestToken', () => {
	it('reads X-Subject-Token, expiry and catalog', async () => {
		const cloud = fakeCloud();
		const token = await requestToken(cloud.transport, KEYSTONE, password);
		expect(token.token).toBe('tok-1');
		expect(token.expiresAt).toBe('2026-11-24T18:32:35.000000Z');
		expect(token.catalog.map((entry) => entry.type)).toEqual(['identity', 'lease']);
		expect(cloud.requests[0].url).toBe(`${KEYSTONE}/v3/auth/tokens`);
	});

	it("reports Keystone's 401 message without the password", async () => {
		const cloud = fakeCloud();
		cloud.keystoneAnswer = () => ({
			status: 401,
			headers: {},
			body: {
				error: {
					code: 401,
					title: 'Unauthorized',
					message: 'The request you have made requires authentication.',
				},
			},
		});
		const error = (await requestToken(cloud.transport, KEYSTONE, password).catch(
			(e: unknown) => e,
		)) as EsiLeapError;
		expect(error).toBeInstanceOf(EsiLeapError);
		expect(error.kind).toBe('unauthorized');
		expect(error.message).toContain('requires authentication');
		expect(JSON.stringify({ ...error, message: error.message })).not.toContain('s3cret-pa55');
	});

	it('explains a 404 as a wrong auth URL', () => {
		expect(() => parseTokenResponse({ status: 404, headers: {}, body: 'Not Found' })).toThrow(
			/auth URL/,
		);
	});

	it('fails without X-Subject-Token', () => {
		expect(() => parseTokenResponse({ status: 201, headers: {}, body: { token: {} } })).toThrow(
			/X-Subject-Token/,
		);
	});

	it('wraps an unreachable Keystone as a network error', async () => {
		const error = await requestToken(
			async () => {
				throw new Error('connect ECONNREFUSED');
			},
			KEYSTONE,
			password,
		).catch((e: unknown) => e);
		expect(error).toMatchObject({ kind: 'network' });
	});
});

describe('Keystone failures', () => {
	it('bounds the login with a timeout (30 s unless told)', async () => {
		const cloud = fakeCloud();
		await requestToken(cloud.transport, KEYSTONE, password);
		await requestToken(cloud.transport, KEYSTONE, password, { timeoutMs: 1_500 });
		expect(cloud.requests.map((request) => request.timeoutMs)).toEqual([30_000, 1_500]);
	});

	it('tells a timeout from an unreachable Keystone, naming the URL', async () => {
		const timedOut = Object.assign(new Error('timeout of 1500ms exceeded'), {
			code: 'ECONNABORTED',
		});
		const error = (await requestToken(
			async () => {
				throw timedOut;
			},
			KEYSTONE,
			password,
			{ timeoutMs: 1_500 },
		).catch((e: unknown) => e)) as KeystoneError;
		expect(error).toBeInstanceOf(KeystoneError);
		expect(error).toMatchObject({ kind: 'network', headline: 'Keystone did not answer in time' });
		expect(error.message).toBe(
			`Keystone did not answer the login at ${KEYSTONE}/v3/auth/tokens within 1.5 s`,
		);
	});

	it('headlines a refusal as Keystone refusing the login', () => {
		try {
			parseTokenResponse({ status: 401, headers: {}, body: { error: { message: 'No.' } } });
			expect.unreachable();
		} catch (error) {
			expect(error).toMatchObject({
				kind: 'unauthorized',
				status: 401,
				headline: 'Keystone refused the login',
				message: 'Keystone login failed (HTTP 401): No.',
			});
		}
	});

	it.each([
		// axios (n8n): the code on the error
		[Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5000'), { code: 'ECONNREFUSED' })],
		// undici fetch: "fetch failed" with the code on its cause
		[
			new TypeError('fetch failed', {
				cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
			}),
		],
	])('words a network code so n8n cannot swap the text for its own (%#)', (cause) => {
		expect(describeNetworkFailure(cause)).toBe(
			'the connection was refused (nothing listens on that port?)',
		);
	});

	it('keeps an unknown reason, with any known code in it worded', () => {
		expect(describeNetworkFailure(new Error('socket hang up'))).toBe('socket hang up');
		expect(describeNetworkFailure(new Error('getaddrinfo ENOTFOUND keystone.example'))).toBe(
			'the host name was not found',
		);
	});

	it.each([
		// Node 24 through axios (n8n): the server sent only its own certificate
		[
			Object.assign(
				new Error(
					'unable to verify the first certificate; if the root CA is installed locally, try running Node.js with --use-system-ca',
				),
				{ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
			),
			'unable to verify the first certificate',
		],
		// the chain included a CA nobody trusts; undici puts it on the cause
		[
			new TypeError('fetch failed', {
				cause: Object.assign(new Error('self-signed certificate in certificate chain'), {
					code: 'SELF_SIGNED_CERT_IN_CHAIN',
				}),
			}),
			'self-signed certificate in certificate chain',
		],
		// the text alone, no code
		[new Error('unable to get local issuer certificate'), 'unable to get local issuer certificate'],
	])('says an untrusted certificate is one and which field fixes it (%#)', (cause, reason) => {
		expect(describeNetworkFailure(cause)).toBe(
			`the server's TLS certificate is not trusted (${reason}): set Custom CA Certificate to the certificate of the CA that signed it`,
		);
	});

	it('says a certificate for another host name is one', () => {
		const cause = Object.assign(
			new Error(
				"Hostname/IP does not match certificate's altnames: IP: 10.0.0.9 is not in the cert's list: 127.0.0.1",
			),
			{ code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
		);
		expect(describeNetworkFailure(cause)).toBe(
			"the server's TLS certificate is not for this host name (Hostname/IP does not match certificate's altnames: IP: 10.0.0.9 is not in the cert's list: 127.0.0.1): use a host name the certificate names in the URL",
		);
	});
});
