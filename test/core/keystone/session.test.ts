import { describe, expect, it } from 'vitest';

import { createEsiLeapClient } from '../../../nodes/core/api/client';
import { createKeystoneSession } from '../../../nodes/core/keystone/session';
import { KEYSTONE, LEASE_PUBLIC, fakeCloud } from './keystoneFake';

const auth = {
	type: 'applicationCredential' as const,
	applicationCredentialId: 'ac',
	applicationCredentialSecret: 'ac-secret',
};

function sessionFor(cloud: ReturnType<typeof fakeCloud>) {
	return createKeystoneSession({
		authUrl: KEYSTONE,
		auth,
		transport: cloud.transport,
		interface: 'public',
		region: 'RegionOne',
	});
}

describe('KeystoneSession', () => {
	it('logs in lazily once, then reuses the token', async () => {
		const cloud = fakeCloud();
		const session = sessionFor(cloud);
		expect(cloud.logins()).toBe(0);
		const client = createEsiLeapClient(session.authenticatedTransport);
		await Promise.all([client.listLeases(), client.listLeases()]);
		await client.listLeases();
		expect(cloud.logins()).toBe(1);
		const esiCalls = cloud.requests.filter((request) => request.url.startsWith(LEASE_PUBLIC));
		expect(esiCalls.map((request) => request.url)).toEqual([
			`${LEASE_PUBLIC}/v1/leases`,
			`${LEASE_PUBLIC}/v1/leases`,
			`${LEASE_PUBLIC}/v1/leases`,
		]);
		expect(esiCalls[0].headers?.['X-Auth-Token']).toBe('tok-1');
	});

	it('re-authenticates exactly once on a 401 and retries', async () => {
		const cloud = fakeCloud();
		const client = createEsiLeapClient(sessionFor(cloud).authenticatedTransport);
		await client.listLeases();
		cloud.valid.clear(); // the token expired
		const leases = await client.listLeases();
		expect(leases.length).toBeGreaterThan(0);
		expect(cloud.logins()).toBe(2);
		expect(cloud.requests.at(-1)?.headers?.['X-Auth-Token']).toBe('tok-2');
	});

	it('gives up after one re-authentication when ESI keeps answering 401', async () => {
		const cloud = fakeCloud();
		const client = createEsiLeapClient(sessionFor(cloud).authenticatedTransport);
		cloud.valid.add = () => cloud.valid; // ESI never accepts any token
		const error = await client.listLeases().catch((e: unknown) => e);
		expect(error).toMatchObject({ kind: 'unauthorized', status: 401 });
		expect(cloud.logins()).toBe(2);
		expect(cloud.requests.filter((request) => request.url.startsWith(LEASE_PUBLIC))).toHaveLength(
			2,
		);
	});

	it('uses the endpoint override and still logs in to Keystone', async () => {
		const cloud = fakeCloud({ catalog: [] });
		const session = createKeystoneSession({
			authUrl: KEYSTONE,
			auth,
			transport: cloud.transport,
			endpointOverride: `${LEASE_PUBLIC}/v1`,
		});
		expect((await session.login()).leaseEndpoint).toBe(LEASE_PUBLIC);
		await createEsiLeapClient(session.authenticatedTransport).listLeases();
		expect(cloud.logins()).toBe(1);
	});

	it('does not cache a failed login', async () => {
		const cloud = fakeCloud({ catalog: [] });
		const session = sessionFor(cloud);
		await expect(session.login()).rejects.toMatchObject({ kind: 'config' });
		await expect(session.login()).rejects.toMatchObject({ kind: 'config' });
		expect(cloud.logins()).toBe(2);
	});
});
