import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';

import { NodeApiError } from 'n8n-workflow';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { EsiLeapApi } from '../../credentials/EsiLeapApi.credentials';
import { startEmulator, type Emulator } from '../emulator';
import { testCredential } from '../helpers/credentialTester';
import { credentialFor } from '../helpers/esiLeapApiCredential';
import { createHistoryTrigger, type HistoryTrigger } from '../helpers/historyTrigger';
import { locator, sessionFor, type Session } from '../nodes/EsiLease/support';

/**
 * A failed Keystone login must say so where the user looks: the credential test (n8n's own
 * tester logic, test/helpers/credentialTester.ts), the ESI Lease node's error and the trigger's
 * activation error. Everything runs against the emulator's Keystone through the real
 * credential and n8n's request helpers (test/helpers/n8nHttp.ts).
 */

const KEYSTONE_401 =
	'Keystone login failed (HTTP 401): The request you have made requires authentication.';
// Random per run, like the other credential tests' secrets.
const WRONG_PASSWORD = `wrong-${randomUUID()}`;

let emulator: Emulator;
const sessions: Session[] = [];
const triggers: HistoryTrigger[] = [];

beforeAll(async () => {
	emulator = await startEmulator({ tickIntervalMs: 0 });
});

afterAll(async () => {
	await emulator.stop();
});

afterEach(async () => {
	await Promise.all(sessions.splice(0).map(async (session) => await session.close()));
	await Promise.all(triggers.splice(0).map(async (trigger) => await trigger.close()));
	emulator.control.clearFailures();
	for (const user of emulator.db.users)
		user.password = emulator.users[user.name as 'admin'].password;
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as { port: number };
	await new Promise((resolve) => server.close(resolve));
	return port;
}

function secretsOf(role: 'admin' | 'lessee') {
	return [emulator.users[role].password, WRONG_PASSWORD];
}

describe('credential test', () => {
	const type = new EsiLeapApi();

	it('passes with the right password', async () => {
		expect(await testCredential('esiLeapApi', type, credentialFor(emulator, 'lessee'))).toEqual({
			status: 'OK',
			message: 'Connection successful!',
		});
	});

	it("shows Keystone's refusal of a wrong password, not n8n's generic text", async () => {
		const result = await testCredential('esiLeapApi', type, {
			...credentialFor(emulator, 'lessee'),
			password: WRONG_PASSWORD,
		});
		expect(result).toEqual({ status: 'Error', message: KEYSTONE_401 });
	});

	it('names the Keystone URL when its port is closed', async () => {
		const port = await closedPort();
		const result = await testCredential('esiLeapApi', type, {
			...credentialFor(emulator, 'lessee'),
			authUrl: `http://127.0.0.1:${port}/v3`,
		});
		expect(result).toEqual({
			status: 'Error',
			message: `Cannot reach Keystone at http://127.0.0.1:${port}/v3/auth/tokens: the connection was refused (nothing listens on that port?)`,
		});
	});

	it('gives up on a Keystone that never answers after Timeout (Seconds)', async () => {
		// Over the emulator's HTTP control, as the e2e test and the demo use it.
		const control = await fetch(`${emulator.leaseUrl}/_emulator/hang-logins`, {
			method: 'POST',
			body: JSON.stringify({ count: 1 }),
		});
		expect(control.status).toBe(200);
		const started = Date.now();
		const result = await testCredential('esiLeapApi', type, {
			...credentialFor(emulator, 'lessee'),
			timeoutSeconds: 1,
		});
		expect(result).toEqual({
			status: 'Error',
			message: `Keystone did not answer the login at ${emulator.keystoneUrl}/auth/tokens within 1 s`,
		});
		expect(Date.now() - started).toBeLessThan(10_000);
	});

	it('rejects a timeout that is not a positive number, naming the field', async () => {
		const result = await testCredential('esiLeapApi', type, {
			...credentialFor(emulator, 'lessee'),
			timeoutSeconds: -1,
		});
		expect(result.status).toBe('Error');
		expect(result.message).toContain('Timeout (Seconds)');
	});
});

describe('ESI Lease node', () => {
	function lessee(): Session {
		const session = sessionFor(emulator, 'lessee');
		sessions.push(session);
		return session;
	}

	it('headlines a wrong password as Keystone refusing the login, with its text below', async () => {
		const session = lessee();
		session.credential.password = WRONG_PASSWORD;
		const error = await session.fail({ resource: 'lease', operation: 'getAll' });
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toBe('Keystone refused the login');
		const { description } = error as NodeApiError;
		expect(description).toContain(KEYSTONE_401);
		expect(description).not.toMatch(/No response from ESI Leap|Authorization failed/);
		expect(session.esiRequests()).toHaveLength(0);
		const visible = `${error.message} ${description} ${JSON.stringify(error)}`;
		for (const secret of secretsOf('lessee')) expect(visible).not.toContain(secret);
	});

	it('says Keystone is unreachable, naming its URL, when its port is closed', async () => {
		const session = lessee();
		const port = await closedPort();
		session.credential.authUrl = `http://127.0.0.1:${port}`;
		const error = (await session.fail({
			resource: 'lease',
			operation: 'getAll',
		})) as NodeApiError;
		expect(error.message).toBe('Cannot reach Keystone');
		expect(error.description).toContain(
			`Cannot reach Keystone at http://127.0.0.1:${port}/v3/auth/tokens: the connection was refused`,
		);
	});

	it('fails in bounded time when Keystone never answers the login', async () => {
		const session = lessee();
		session.credential.timeoutSeconds = 1;
		emulator.control.hangNextLogins(1);
		const error = (await session.fail({ resource: 'lease', operation: 'getAll' })) as NodeApiError;
		expect(error.message).toBe('Keystone did not answer in time');
		expect(error.description).toContain(`login at ${emulator.keystoneUrl}/auth/tokens within 1 s`);
	});

	it('says the refresh failed at Keystone when the password changed after the first login', async () => {
		const session = lessee();
		await session.run({ resource: 'lease', operation: 'getAll' });
		// The password changes in Keystone, and the cached token stops working.
		emulator.db.users.find((user) => user.name === 'lessee')!.password = 'changed-in-keystone';
		emulator.control.revokeAllTokens();
		const error = (await session.fail({ resource: 'lease', operation: 'getAll' })) as NodeApiError;
		expect(error.message).toBe('Keystone refused the login');
		expect(error.description).toContain(KEYSTONE_401);
	});

	it('names the request and warns that a timed-out POST may have created its object', async () => {
		const session = lessee();
		session.credential.timeoutSeconds = 1;
		const offer = emulator.db.offers.find((candidate) => candidate.status === 'available');
		const offerUuid =
			offer?.uuid ??
			(
				(await sessionFor(emulator, 'owner').run({
					resource: 'offer',
					operation: 'create',
					resourceType: 'dummy_node',
					resourceUuid: locator('id', emulator.control.addDummyNode()),
				})) as Array<{ json: { uuid: string } }>
			)[0].json.uuid;
		const control = await fetch(`${emulator.leaseUrl}/_emulator/hang-next`, {
			method: 'POST',
			body: JSON.stringify({ count: 1, pathPrefix: '/v1/offers/' }),
		});
		expect(control.status).toBe(200);
		const error = (await session.fail({
			resource: 'offer',
			operation: 'claim',
			offerId: locator('id', offerUuid),
		})) as NodeApiError;
		expect(error.message).toBe(
			`ESI Leap did not answer POST /v1/offers/${offerUuid}/claim before the request timeout. It may still have taken effect (a timed-out POST may have created its object): look before retrying.`,
		);
		expect(error.description).toContain('Timeout (Seconds)');
	});
});

describe('ESI Leap Trigger activation (Event History)', () => {
	it('fails with Keystone refusing the login, not "No response from ESI Leap"', async () => {
		const trigger = createHistoryTrigger({
			emulator,
			role: 'admin',
			parameters: { pollIntervalSeconds: 30 },
		});
		triggers.push(trigger);
		emulator.db.users.find((user) => user.name === 'admin')!.password = 'changed-in-keystone';
		const error = (await trigger.activate().catch((caught: unknown) => caught)) as NodeApiError;
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toBe('Keystone refused the login');
		expect(error.description).toContain(KEYSTONE_401);
		expect(trigger.fake.allText()).not.toContain(emulator.users.admin.password);
	});

	it('fails in bounded time when ESI Leap never answers the first poll', async () => {
		const trigger = createHistoryTrigger({
			emulator,
			role: 'admin',
			parameters: { pollIntervalSeconds: 30, startFrom: 'now' },
		});
		triggers.push(trigger);
		trigger.credential.timeoutSeconds = 1;
		emulator.control.hangNextRequests(1, { pathPrefix: '/v1/events' });
		const error = (await trigger.activate().catch((caught: unknown) => caught)) as NodeApiError;
		expect(error.message).toBe(
			'ESI Leap did not answer GET /v1/events before the request timeout.',
		);
	});
});
