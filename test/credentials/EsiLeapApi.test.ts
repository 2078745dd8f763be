import { randomUUID } from 'node:crypto';

import type { IAllExecuteFunctions, ICredentialDataDecryptedObject, INode } from 'n8n-workflow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { EsiLeapApi } from '../../credentials/EsiLeapApi.credentials';
import { createEsiLeapClient } from '../../nodes/core/api/client';
import { EsiLeapError } from '../../nodes/core/errors';
import { CredentialLoginError } from '../../nodes/shared/errors';
import { esiLeapApiTransport } from '../../nodes/shared/transport';
import { captureBody } from '../helpers/captures';
import { startHttpStub, type HttpStub, type StubRequest } from '../helpers/httpStub';
import { passwordLoginCredential } from '../helpers/esiLeapApiCredential';
import { createN8nHttp, type N8nHttp } from '../helpers/n8nHttp';

// Random per run: the tests assert these never show up anywhere.
const PASSWORD = `pw-${randomUUID()}`;
const APP_SECRET = `ac-${randomUUID()}`;

const node: INode = {
	id: 'n1',
	name: 'ESI Lease',
	type: 'n8n-nodes-esi-leap.esiLease',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};

/**
 * One stub plays Keystone (under /identity) and ESI Leap (under /leap). ESI Leap accepts only
 * the newest token Keystone issued, so "expiring" a token is: issue a newer one elsewhere.
 */
interface Cloud {
	stub: HttpStub;
	tokensIssued: number;
	acceptedToken?: string;
	keystoneAnswer?: (request: StubRequest) => { status: number; body: unknown } | undefined;
	catalog?: (base: string) => unknown[];
	/** ESI Leap refuses every token, even fresh ones. */
	refuseAll?: boolean;
}

async function startCloud(): Promise<Cloud> {
	const cloud = { tokensIssued: 0 } as Cloud;
	cloud.stub = await startHttpStub((request, base) => {
		if (request.method === 'POST' && request.url === '/identity/v3/auth/tokens') {
			const scripted = cloud.keystoneAnswer?.(request);
			if (scripted) return scripted;
			cloud.tokensIssued += 1;
			cloud.acceptedToken = `token-${cloud.tokensIssued}`;
			return {
				status: 201,
				headers: { 'X-Subject-Token': cloud.acceptedToken },
				body: {
					token: {
						expires_at: '2026-11-24T18:32:35.000000Z',
						catalog: cloud.catalog?.(base) ?? [
							{
								type: 'lease',
								name: 'esi-leap',
								endpoints: [
									{ interface: 'public', region: 'RegionOne', url: `${base}/leap` },
									{ interface: 'internal', region: 'RegionOne', url: `${base}/internal-leap/v1` },
								],
							},
						],
					},
				},
			};
		}
		const path = request.url.replace(/^\/(leap|internal-leap|override)/, '');
		if (path === request.url) return { status: 404, body: 'no such service' };
		if (cloud.refuseAll || request.headers['x-auth-token'] !== cloud.acceptedToken) {
			return { status: 401, body: captureBody('rest-28-error-401-no-token') };
		}
		if (path.startsWith('/v1/events')) return { status: 200, body: { events: [] } };
		if (path === '/v1/leases')
			return { status: 200, body: captureBody('rest-15-leases-list-lessee') };
		if (path === '/v1/leases/no-such-lease') {
			return { status: 404, body: captureBody('rest-29-error-404-lease-by-name') };
		}
		return { status: 405, body: '<html>405 Method Not Allowed</html>' };
	});
	return cloud;
}

function passwordCredential(cloud: Cloud, extra: ICredentialDataDecryptedObject = {}) {
	return {
		...passwordLoginCredential({
			authUrl: `${cloud.stub.url}/identity/v3/`,
			username: 'lessee',
			password: PASSWORD,
			userDomainName: 'Default',
			projectName: 'esi-lessee',
			region: 'RegionOne',
		}),
		...extra,
	};
}

function contextFor(http: N8nHttp): IAllExecuteFunctions {
	return {
		helpers: {
			httpRequestWithAuthentication: async (name: string, options: never) =>
				await http.httpRequestWithAuthentication(name, options, node),
		},
	} as unknown as IAllExecuteFunctions;
}

const credentialType = new EsiLeapApi();

async function preAuthenticate(http: N8nHttp, data: ICredentialDataDecryptedObject) {
	return await credentialType.preAuthentication.call(
		{ helpers: { httpRequest: http.httpRequest } },
		data,
	);
}

describe('EsiLeapApi credential', () => {
	let cloud: Cloud;
	let http: N8nHttp;
	let data: ICredentialDataDecryptedObject;

	beforeEach(async () => {
		cloud = await startCloud();
		data = passwordCredential(cloud);
		http = createN8nHttp({ esiLeapApi: { type: credentialType, data } });
	});

	afterEach(async () => {
		await http.close();
		await cloud.stub.close();
	});

	it('declares the hidden expirable token n8n needs to call preAuthentication', () => {
		const token = credentialType.properties.find((property) => property.name === 'token');
		expect(token).toMatchObject({
			type: 'hidden',
			typeOptions: { expirable: true, password: true },
		});
		const secrets = ['password', 'applicationCredentialSecret'];
		for (const name of secrets) {
			const field = credentialType.properties.find((property) => property.name === name);
			expect(field?.typeOptions?.password).toBe(true);
		}
		expect(credentialType.properties.find((p) => p.name === 'allowSelfSigned')?.default).toBe(
			false,
		);
	});

	it('exchanges a password for a token and picks the public RegionOne endpoint', async () => {
		const output = await preAuthenticate(http, data);
		expect(output).toEqual({ token: 'token-1', leaseEndpoint: `${cloud.stub.url}/leap` });
		expect(cloud.stub.requests[0].body).toEqual({
			auth: {
				identity: {
					methods: ['password'],
					password: { user: { name: 'lessee', domain: { name: 'Default' }, password: PASSWORD } },
				},
				scope: { project: { name: 'esi-lessee', domain: { name: 'Default' } } },
			},
		});
	});

	it('exchanges an application credential', async () => {
		const appData = passwordCredential(cloud, {
			authType: 'applicationCredential',
			applicationCredentialId: 'ac-1',
			applicationCredentialSecret: APP_SECRET,
		});
		expect(await preAuthenticate(http, appData)).toMatchObject({ token: 'token-1' });
		expect(cloud.stub.requests[0].body).toEqual({
			auth: {
				identity: {
					methods: ['application_credential'],
					application_credential: { id: 'ac-1', secret: APP_SECRET },
				},
			},
		});
	});

	it('selects by interface (and strips the catalog /v1)', async () => {
		const output = await preAuthenticate(
			http,
			passwordCredential(cloud, { interface: 'internal' }),
		);
		expect(output.leaseEndpoint).toBe(`${cloud.stub.url}/internal-leap`);
	});

	it('says what the catalog has when no lease endpoint matches', async () => {
		const error = await preAuthenticate(
			http,
			passwordCredential(cloud, { region: 'RegionTwo' }),
		).catch((e: unknown) => e);
		// n8n shows this error's own text; the typed error rides along for the nodes.
		expect(error).toBeInstanceOf(CredentialLoginError);
		expect((error as Error).cause).toBeInstanceOf(EsiLeapError);
		expect((error as Error).message).toContain('region "RegionTwo"');
		expect((error as Error).message).toContain('lease [public@RegionOne, internal@RegionOne]');
	});

	it('uses the override even when the catalog has no lease service', async () => {
		cloud.catalog = () => [];
		const output = await preAuthenticate(
			http,
			passwordCredential(cloud, { endpointOverride: `${cloud.stub.url}/override/v1` }),
		);
		expect(output.leaseEndpoint).toBe(`${cloud.stub.url}/override`);
	});

	it("reports Keystone's refusal without any secret", async () => {
		cloud.keystoneAnswer = () => ({
			status: 401,
			body: {
				error: {
					code: 401,
					title: 'Unauthorized',
					message: 'The request you have made requires authentication.',
				},
			},
		});
		for (const attempt of [
			data,
			passwordCredential(cloud, {
				authType: 'applicationCredential',
				applicationCredentialId: 'ac-1',
				applicationCredentialSecret: APP_SECRET,
			}),
		]) {
			const error = (await preAuthenticate(http, attempt).catch((e: unknown) => e)) as Error;
			expect(error.cause).toMatchObject({ kind: 'unauthorized', status: 401 });
			expect(error.message).toBe(
				'Keystone login failed (HTTP 401): The request you have made requires authentication.',
			);
			// Nothing n8n's NodeApiError would take for a status and swap for its generic text.
			expect(Object.keys(error)).not.toEqual(expect.arrayContaining(['status']));
			const visible = `${error.message} ${error.stack ?? ''} ${JSON.stringify(error)}`;
			expect(visible).not.toContain(PASSWORD);
			expect(visible).not.toContain(APP_SECRET);
		}
	});

	it('authenticate adds the token, the discovered base URL and TLS options', async () => {
		const options = await credentialType.authenticate(
			{
				...data,
				token: 'tok',
				leaseEndpoint: 'https://leap:7777',
				caCertificate: '-----BEGIN CERTIFICATE----- QUJD -----END CERTIFICATE-----',
			},
			{ url: '/v1/leases', headers: { Accept: 'application/json' } },
		);
		expect(options).toMatchObject({
			url: '/v1/leases',
			baseURL: 'https://leap:7777',
			headers: { Accept: 'application/json', 'X-Auth-Token': 'tok' },
			agentOptions: { ca: '-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n' },
		});
		expect(options.skipSslCertificateValidation).toBeUndefined();
		const insecure = await credentialType.authenticate(
			{ ...data, token: 'tok', leaseEndpoint: 'https://leap:7777', allowSelfSigned: true },
			{ url: '/x', baseURL: 'https://explicit' },
		);
		expect(insecure).toMatchObject({
			baseURL: 'https://explicit',
			skipSslCertificateValidation: true,
		});
	});

	it("authenticate applies the credential's Timeout (Seconds), deletes at least 120 s", async () => {
		const base = { ...data, token: 'tok', leaseEndpoint: 'https://leap:7777' };
		const get = await credentialType.authenticate(base, { url: '/v1/leases', timeout: 30_000 });
		expect(get.timeout).toBe(30_000);
		const custom = { ...base, timeoutSeconds: 5 };
		expect(
			(await credentialType.authenticate(custom, { url: '/x', timeout: 30_000 })).timeout,
		).toBe(5_000);
		const remove = await credentialType.authenticate(custom, { url: '/x', method: 'DELETE' });
		expect(remove.timeout).toBe(120_000);
		const long = { ...base, timeoutSeconds: 300 };
		expect((await credentialType.authenticate(long, { url: '/x', method: 'DELETE' })).timeout).toBe(
			300_000,
		);
	});

	it('its test request succeeds only after a real login against ESI Leap', async () => {
		const test = credentialType.test.request;
		const response = (await http.httpRequestWithAuthentication(
			'esiLeapApi',
			{ method: test.method, url: test.url as string, qs: test.qs, json: true },
			node,
		)) as { events: unknown[] };
		expect(response.events).toEqual([]);
		const esiCall = cloud.stub.requests.at(-1);
		expect(esiCall?.url).toBe('/leap/v1/events?last_event_id=2147483647');
		expect(esiCall?.headers['x-auth-token']).toBe('token-1');
	});

	it('through the node transport: logs in once, refreshes exactly once on a 401, keeps ESI errors', async () => {
		const client = createEsiLeapClient(esiLeapApiTransport(contextFor(http)));
		expect((await client.listLeases()).length).toBeGreaterThan(0);
		await client.listLeases();
		expect(http.preAuthenticationCalls.esiLeapApi).toBe(1);

		cloud.acceptedToken = 'rotated-elsewhere'; // the stored token is no longer valid
		const refreshed = await client.listLeases().catch((e: unknown) => e);
		// The stored token is refused; n8n re-runs preAuthentication exactly once and re-sends.
		expect(http.preAuthenticationCalls.esiLeapApi).toBe(2);
		expect(refreshed).toBeInstanceOf(Array);

		const notFound = (await client
			.getLease('no-such-lease')
			.catch((e: unknown) => e)) as EsiLeapError;
		expect(notFound).toMatchObject({ kind: 'not_found', status: 404 });
		expect(notFound.esiMessage).toBe('Lease with name or uuid no-such-lease not found.');
		expect(http.preAuthenticationCalls.esiLeapApi).toBe(2);
	});

	it("gives up after one refresh when ESI keeps refusing, with ESI's 401 message", async () => {
		const client = createEsiLeapClient(esiLeapApiTransport(contextFor(http)));
		await client.listLeases();
		cloud.refuseAll = true;
		const error = (await client.listLeases().catch((e: unknown) => e)) as EsiLeapError;
		expect(error).toBeInstanceOf(EsiLeapError);
		expect(error).toMatchObject({ kind: 'unauthorized', status: 401 });
		expect(error.esiMessage).toBe('The request you have made requires authentication.');
		expect(http.preAuthenticationCalls.esiLeapApi).toBe(2);
	});
});
