import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from './index';

let emulator: Emulator;

interface TokenBody {
	token: {
		project: { id: string; name: string };
		catalog: Array<{
			type: string;
			name: string;
			endpoints: Array<{ interface: string; url: string }>;
		}>;
	};
}

beforeAll(async () => {
	emulator = await startEmulator({ tickIntervalMs: 0 });
});
afterAll(async () => {
	await emulator.stop();
});

/** POST /v3/auth/tokens with the given `auth` object. */
async function requestToken(auth: Record<string, unknown>) {
	return await fetch(`${emulator.keystoneUrl}/auth/tokens`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ auth }),
	});
}

async function passwordToken(role: 'admin' | 'owner' | 'lessee') {
	const user = emulator.users[role];
	const response = await requestToken({
		identity: {
			methods: ['password'],
			password: {
				user: {
					name: user.name,
					domain: { name: 'Default' },
					password: user.password,
				},
			},
		},
		scope: {
			project: { name: user.projectName, domain: { name: 'Default' } },
		},
	});
	return {
		response,
		body: (await response.json()) as TokenBody,
		token: response.headers.get('x-subject-token') ?? '',
	};
}

async function esi(token: string, method: string, path: string, body?: unknown) {
	const response = await fetch(emulator.leaseUrl + path, {
		method,
		headers: { 'x-auth-token': token, 'content-type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	return {
		status: response.status,
		text: await response.text(),
		headers: response.headers,
	};
}

describe('keystone', () => {
	it('issues a project-scoped token with the lease service in the catalog', async () => {
		const { response, body, token } = await passwordToken('owner');
		expect(response.status).toBe(201);
		expect(token).toMatch(/^gAAAAA/);
		expect(body.token.project.name).toBe('esi-owner');
		const lease = body.token.catalog.find((service) => service.type === 'lease');
		expect(lease?.name).toBe('esi-leap');
		expect(lease?.endpoints.map((endpoint) => endpoint.interface).sort()).toEqual([
			'admin',
			'internal',
			'public',
		]);
		expect(lease?.endpoints[0].url).toBe(emulator.leaseUrl);
	});

	it('authenticates an application credential by id and secret', async () => {
		const user = emulator.users.lessee;
		const response = await requestToken({
			identity: {
				methods: ['application_credential'],
				application_credential: {
					id: user.applicationCredentialId,
					secret: user.applicationCredentialSecret,
				},
			},
		});
		expect(response.status).toBe(201);
		expect(((await response.json()) as TokenBody).token.project.id).toBe(user.projectId);
	});

	it('rejects a wrong password with 401', async () => {
		const response = await requestToken({
			identity: {
				methods: ['password'],
				password: { user: { id: emulator.users.admin.id, password: 'nope' } },
			},
		});
		expect(response.status).toBe(401);
	});

	it('revoked and expired tokens are refused by ESI with the middleware 401', async () => {
		const { token } = await passwordToken('admin');
		expect((await esi(token, 'GET', '/v1/events')).status).toBe(200);
		emulator.control.revokeAllTokens();
		const refused = await esi(token, 'GET', '/v1/events');
		expect(refused.status).toBe(401);
		expect(refused.headers.get('www-authenticate')).toBe(`Keystone uri="${emulator.keystoneUrl}"`);
		const fresh = emulator.tokenFor('admin');
		emulator.control.expireAllTokens();
		expect((await esi(fresh, 'GET', '/v1/events')).status).toBe(401);
	});

	it('logs Keystone logins, and runs an after-request action once the request is answered', async () => {
		const before = emulator.control.keystoneLog.length;
		const { token } = await passwordToken('lessee');
		await requestToken({ identity: { methods: ['password'], password: { user: { name: 'x' } } } });
		expect(emulator.control.keystoneLog.slice(before)).toEqual([
			{ method: 'POST', path: '/v3/auth/tokens', status: 201 },
			{ method: 'POST', path: '/v3/auth/tokens', status: 401 },
		]);
		emulator.control.afterNextRequest('/v1/events', () => emulator.control.revokeAllTokens());
		expect((await esi(token, 'GET', '/v1/leases')).status).toBe(200);
		expect((await esi(token, 'GET', '/v1/events')).status).toBe(200);
		expect((await esi(token, 'GET', '/v1/events')).status).toBe(401);
	});
});

describe('ESI Leap API and manager', () => {
	it('runs offer → claim → fulfil → delete with four events', async () => {
		const result = await emulator.control.runLifecycle({ ending: 'delete' });
		expect(result.events.map((event) => event.eventType)).toEqual([
			'esi_leap.lease.fulfill.start',
			'esi_leap.lease.fulfill.end',
			'esi_leap.lease.delete.start',
			'esi_leap.lease.delete.end',
		]);
		const lease = await esi(emulator.tokenFor('lessee'), 'GET', `/v1/leases/${result.leaseUuid}`);
		expect(JSON.parse(lease.text).status).toBe('deleted');
	});

	it('repeats fulfill.start + fulfill.error while a node is broken, then fulfils', async () => {
		const node = emulator.control.addDummyNode();
		emulator.control.breakNode(node);
		const owner = emulator.tokenFor('owner');
		emulator.control.fixNode(node);
		const created = await esi(owner, 'POST', '/v1/leases', {
			resource_type: 'dummy_node',
			resource_uuid: node,
			project_id: emulator.users.lessee.projectId,
		});
		expect(created.status).toBe(201);
		const uuid = JSON.parse(created.text).uuid;
		emulator.control.breakNode(node);
		await emulator.control.tick();
		await emulator.control.tick();
		emulator.control.fixNode(node);
		await emulator.control.tick();
		const types = emulator.db.events
			.filter((event) => event.objectUuid === uuid)
			.map((event) => event.eventType);
		expect(types).toEqual([
			'esi_leap.lease.fulfill.start',
			'esi_leap.lease.fulfill.error',
			'esi_leap.lease.fulfill.start',
			'esi_leap.lease.fulfill.error',
			'esi_leap.lease.fulfill.start',
			'esi_leap.lease.fulfill.end',
		]);
	});

	it('hides held events until released, so a smaller id appears after a larger one', async () => {
		const admin = emulator.tokenFor('admin');
		emulator.control.holdNextEvents(1);
		const held = emulator.control.seedEvents(1);
		const visible = emulator.control.seedEvents(1);
		const before = JSON.parse(
			(await esi(admin, 'GET', `/v1/events?last_event_id=${held.firstId - 1}`)).text,
		);
		expect(before.events.map((event: { id: number }) => event.id)).toEqual([visible.firstId]);
		expect(emulator.control.releaseHeldEvents()).toEqual([held.firstId]);
		const after = JSON.parse(
			(await esi(admin, 'GET', `/v1/events?last_event_id=${held.firstId - 1}`)).text,
		);
		expect(after.events.map((event: { id: number }) => event.id)).toEqual([
			held.firstId,
			visible.firstId,
		]);
	});

	it('fails the next requests with the injected status, then recovers', async () => {
		const admin = emulator.tokenFor('admin');
		emulator.control.failNextRequests(2, {
			status: 503,
			pathPrefix: '/v1/events',
		});
		expect((await esi(admin, 'GET', '/v1/events')).status).toBe(503);
		expect((await esi(admin, 'GET', '/v1/leases')).status).toBe(200);
		expect((await esi(admin, 'GET', '/v1/events')).status).toBe(503);
		expect((await esi(admin, 'GET', '/v1/events')).status).toBe(200);
	});
});
