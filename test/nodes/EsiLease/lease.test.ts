import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { daysFromNow, locator, useEmulatorSessions } from './support';

const env = useEmulatorSessions();

/** The owner leases a fresh dummy node directly to esi-lessee. */
async function createLease(name: string) {
	const [item] = await env.owner.run({
		resource: 'lease',
		operation: 'create',
		resourceType: 'dummy_node',
		resourceUuid: locator('id', env.emulator.control.addDummyNode()),
		projectId: 'esi-lessee',
		additionalFields: { name },
	});
	return item.json as { uuid: string; name: string; [key: string]: unknown };
}

describe('lease: create', () => {
	it('creates a direct lease as owner with every field, times sent as naive UTC', async () => {
		const resourceUuid = env.emulator.control.addDummyNode();
		const [item] = await env.owner.run({
			resource: 'lease',
			operation: 'create',
			resourceType: 'dummy_node',
			resourceUuid: locator('id', resourceUuid),
			projectId: 'esi-lessee',
			additionalFields: {
				name: 'lease-create-1',
				startTime: '2027-01-02T00:00:00-05:00',
				endTime: '2027-01-05T00:00:00-05:00',
				purpose: 'benchmarking',
				properties: '{"ticket": "OPS-1"}',
			},
		});
		expect(item.json).toMatchObject({
			name: 'lease-create-1',
			resource_uuid: resourceUuid,
			project: 'esi-lessee',
			owner: 'esi-owner',
			purpose: 'benchmarking',
			properties: { ticket: 'OPS-1' },
			offer_uuid: null,
			start_time: '2027-01-02T05:00:00Z',
			end_time: '2027-01-05T05:00:00Z',
		});
		expect(env.owner.esiRequests().at(-1)?.body).toEqual({
			resource_uuid: resourceUuid,
			project_id: 'esi-lessee',
			resource_type: 'dummy_node',
			name: 'lease-create-1',
			start_time: '2027-01-02T05:00:00',
			end_time: '2027-01-05T05:00:00',
			properties: { ticket: 'OPS-1' },
			purpose: 'benchmarking',
		});
		const stored = env.emulator.db.leases.find((lease) => lease.uuid === item.json.uuid);
		expect(stored?.endTime).toBe('2027-01-05T05:00:00.000000');
	});

	it('refuses a lessee, naming the roles lease create needs', async () => {
		const error = await env.lessee.fail({
			resource: 'lease',
			operation: 'create',
			resourceType: 'dummy_node',
			resourceUuid: locator('id', env.emulator.control.addDummyNode()),
			projectId: 'esi-lessee',
		});
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as NodeApiError).httpCode).toBe('403');
		expect((error as NodeApiError).description).toContain(
			'the admin or owner role (esi_leap:lease:create)',
		);
	});

	it('requires the lessee project before any request', async () => {
		const before = env.owner.esiRequests().length;
		const error = await env.owner.fail({
			resource: 'lease',
			operation: 'create',
			resourceType: 'dummy_node',
			resourceUuid: locator('id', env.emulator.control.addDummyNode()),
			projectId: '  ',
		});
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toContain('projectId');
		expect(env.owner.esiRequests()).toHaveLength(before);
	});
});

describe('lease: get', () => {
	it('gets a lease by UUID or name, as its owner and as its lessee', async () => {
		const lease = await createLease('lease-get-1');
		for (const session of [env.owner, env.lessee]) {
			for (const value of [locator('id', lease.uuid), locator('name', 'lease-get-1')]) {
				const [item] = await session.run({ resource: 'lease', operation: 'get', leaseId: value });
				expect(item.json).toMatchObject({ uuid: lease.uuid, name: 'lease-get-1' });
			}
		}
	});

	it("reports ESI's 404 for an unknown name and maps the 500 for an unknown UUID", async () => {
		const byName = await env.lessee.fail({
			resource: 'lease',
			operation: 'get',
			leaseId: locator('name', 'no-such-lease'),
		});
		expect(byName.message).toBe('Lease with name or uuid no-such-lease not found.');
		expect((byName as NodeApiError).httpCode).toBe('404');
		// A real 404 is not ESI's unknown-UUID 500: no note claiming it is.
		expect((byName as NodeApiError).description).not.toContain('unknown UUIDs');

		const byUuid = await env.lessee.fail({
			resource: 'lease',
			operation: 'get',
			leaseId: locator('id', '0b6a3c58-4dc6-4a4f-9a56-0b0e2b7f7d11'),
		});
		expect(byUuid).toBeInstanceOf(NodeApiError);
		// edge-194: ESI's 500 text goes to the description; the headline says what happened.
		expect(byUuid.message).toBe('Lease 0b6a3c58… not found, or not visible to this project');
		expect((byUuid as NodeApiError).httpCode).toBe('500');
		const description = (byUuid as NodeApiError).description ?? '';
		expect(description).toContain("'NoneType' object has no attribute 'owner_id'");
		expect(description).toContain(
			'ESI reports unknown UUIDs as a server error; this is that case.',
		);
		expect(description).toContain('/v1/leases/0b6a3c58-4dc6-4a4f-9a56-0b0e2b7f7d11');
	});

	it("passes ESI's 400 message on", async () => {
		env.emulator.control.failNextRequests(1, { status: 400, pathPrefix: '/v1/leases' });
		const error = await env.lessee.fail({
			resource: 'lease',
			operation: 'get',
			leaseId: locator('name', 'lease-get-1'),
		});
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as NodeApiError).httpCode).toBe('400');
		expect((error as NodeApiError).description).toContain('rejected the request');
	});
});

describe('lease: get many', () => {
	it('lists the caller’s leases, one item each, with Limit applied', async () => {
		const first = await createLease('lease-many-1');
		const second = await createLease('lease-many-2');
		const all = await env.lessee.run({ resource: 'lease', operation: 'getAll', returnAll: true });
		expect(all.map((item) => item.json.uuid)).toEqual(
			expect.arrayContaining([first.uuid, second.uuid]),
		);
		const limited = await env.lessee.run({ resource: 'lease', operation: 'getAll', limit: 1 });
		expect(limited).toHaveLength(1);
		expect(limited[0].pairedItem).toEqual({ item: 0 });
	});

	it('sends every filter the way ESI expects (view=all, status with a space, naive UTC window)', async () => {
		await env.admin.run({
			resource: 'lease',
			operation: 'getAll',
			returnAll: true,
			filters: {
				viewAll: true,
				status: 'wait fulfill',
				ownerId: 'esi-owner',
				projectId: 'esi-lessee',
				startTime: '2027-01-01T01:00:00+01:00',
				endTime: '2027-02-01T00:00:00Z',
				resourceType: 'dummy_node',
				resourceClass: 'dummy',
			},
		});
		const url = new URL(env.admin.esiRequests().at(-1)!.url);
		expect(Object.fromEntries(url.searchParams)).toEqual({
			view: 'all',
			status: 'wait fulfill',
			owner_id: 'esi-owner',
			project_id: 'esi-lessee',
			start_time: '2027-01-01T00:00:00',
			end_time: '2027-02-01T00:00:00',
			resource_type: 'dummy_node',
			resource_class: 'dummy',
		});
	});

	it('lets an admin see every project with All Projects, and tells a lessee it needs admin', async () => {
		const lease = await createLease('lease-many-3');
		const all = await env.admin.run({
			resource: 'lease',
			operation: 'getAll',
			returnAll: true,
			filters: { viewAll: true, status: 'any' },
		});
		expect(all.map((item) => item.json.uuid)).toContain(lease.uuid);

		const error = await env.lessee.fail({
			resource: 'lease',
			operation: 'getAll',
			filters: { viewAll: true },
		});
		expect((error as NodeApiError).httpCode).toBe('403');
		expect((error as NodeApiError).description).toContain('the admin role for other projects');
	});

	it('rejects an inverted window before any request', async () => {
		const before = env.lessee.esiRequests().length;
		const error = await env.lessee.fail({
			resource: 'lease',
			operation: 'getAll',
			filters: { startTime: daysFromNow(2), endTime: daysFromNow(1) },
		});
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toContain('endTime');
		expect(env.lessee.esiRequests()).toHaveLength(before);
	});
});

describe('lease: update end time', () => {
	it('lets an admin move the end, sending exactly {"end_time": "YYYY-MM-DDTHH:MM:SS"}', async () => {
		const lease = await createLease('lease-update-1');
		const [item] = await env.admin.run({
			resource: 'lease',
			operation: 'updateEndTime',
			leaseId: locator('name', 'lease-update-1'),
			endTime: '2030-06-01T12:00:00.250+02:00',
		});
		expect(env.admin.esiRequests().at(-1)?.body).toEqual({ end_time: '2030-06-01T10:00:00' });
		expect(item.json).toMatchObject({ uuid: lease.uuid, end_time: '2030-06-01T10:00:00Z' });
	});

	it('refuses the lessee, saying only admins may', async () => {
		const lease = await createLease('lease-update-2');
		const error = await env.lessee.fail({
			resource: 'lease',
			operation: 'updateEndTime',
			leaseId: locator('id', lease.uuid),
			endTime: daysFromNow(3),
		});
		expect((error as NodeApiError).httpCode).toBe('403');
		expect((error as NodeApiError).description).toContain('the admin role (esi_leap:lease:update)');
	});

	it('requires an end time', async () => {
		const error = await env.admin.fail({
			resource: 'lease',
			operation: 'updateEndTime',
			leaseId: locator('name', 'lease-update-2'),
		});
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toContain('endTime');
	});
});

describe('lease: delete', () => {
	it('lets the lessee cancel by UUID and the owner by name; says what was deleted', async () => {
		const first = await createLease('lease-delete-1');
		const [byUuid] = await env.lessee.run({
			resource: 'lease',
			operation: 'delete',
			leaseId: locator('list', first.uuid),
		});
		expect(byUuid.json).toEqual({ deleted: true, resource: 'lease', uuid: first.uuid });
		expect(env.emulator.db.leases.find((lease) => lease.uuid === first.uuid)?.status).toBe(
			'deleted',
		);

		const second = await createLease('lease-delete-2');
		const [byName] = await env.owner.run({
			resource: 'lease',
			operation: 'delete',
			leaseId: locator('name', 'lease-delete-2'),
		});
		expect(byName.json).toEqual({ deleted: true, resource: 'lease', name: 'lease-delete-2' });
		expect(env.emulator.db.leases.find((lease) => lease.uuid === second.uuid)?.status).toBe(
			'deleted',
		);
	});

	it('answers a second delete with the 404 ESI gives', async () => {
		const lease = await createLease('lease-delete-3');
		await env.lessee.run({
			resource: 'lease',
			operation: 'delete',
			leaseId: locator('id', lease.uuid),
		});
		const error = await env.lessee.fail({
			resource: 'lease',
			operation: 'delete',
			leaseId: locator('id', lease.uuid),
		});
		expect((error as NodeApiError).httpCode).toBe('404');
	});
});
