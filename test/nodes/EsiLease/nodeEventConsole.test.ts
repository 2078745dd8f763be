import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { locator, useEmulatorSessions } from './support';

const env = useEmulatorSessions();

describe('node: get many', () => {
	it('returns one item per Ironic node, as ESI sends it', async () => {
		const items = await env.admin.run({ resource: 'node', operation: 'getAll', returnAll: true });
		expect(items.map((item) => item.json.name).sort()).toEqual(['fake-node-1', 'fake-node-2']);
		expect(items[0].json).toHaveProperty('maintenance');
		expect(items[0].json).toHaveProperty('future_offers');
		expect(items.every((item) => (item.pairedItem as { item: number }).item === 0)).toBe(true);
	});

	it('sends the owner, lessee and resource class filters', async () => {
		const items = await env.admin.run({
			resource: 'node',
			operation: 'getAll',
			limit: 1,
			filters: { owner: 'esi-owner', resourceClass: 'fc430' },
		});
		expect(items.length).toBeLessThanOrEqual(1);
		const url = new URL(env.admin.esiRequests().at(-1)!.url);
		expect(Object.fromEntries(url.searchParams)).toEqual({
			owner: 'esi-owner',
			resource_class: 'fc430',
		});
	});

	it("turns Ironic's refusal (an ESI 500 wrapping a 403) into a permission error", async () => {
		const error = await env.lessee.fail({ resource: 'node', operation: 'getAll' });
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toContain('baremetal:node:list');
		expect((error as NodeApiError).description).toContain("Ironic's permission");
	});
});

describe('event: get many', () => {
	it('returns events in id order after a cursor, limited, with filters', async () => {
		const lifecycle = await env.emulator.control.runLifecycle({ ending: 'delete' });
		const firstId = lifecycle.events[0].id;
		const all = await env.admin.run({
			resource: 'event',
			operation: 'getAll',
			returnAll: true,
			filters: { lastEventId: firstId - 1 },
		});
		const ids = all.map((item) => item.json.id as number);
		expect(ids).toEqual([...ids].sort((a, b) => a - b));
		expect(ids).toEqual(lifecycle.events.map((event) => event.id));
		expect(all[0].json).toMatchObject({ object_uuid: lifecycle.leaseUuid, object_type: 'lease' });

		const limited = await env.admin.run({
			resource: 'event',
			operation: 'getAll',
			limit: 2,
			filters: { lastEventId: firstId - 1 },
		});
		expect(limited.map((item) => item.json.id)).toEqual(ids.slice(0, 2));

		const fulfilled = await env.admin.run({
			resource: 'event',
			operation: 'getAll',
			returnAll: true,
			filters: { eventType: 'esi_leap.lease.fulfill.end', resourceType: 'dummy_node' },
		});
		expect(fulfilled.map((item) => item.json.object_uuid)).toContain(lifecycle.leaseUuid);
		expect(fulfilled.every((item) => item.json.event_type === 'esi_leap.lease.fulfill.end')).toBe(
			true,
		);
		const url = new URL(env.admin.esiRequests().at(-1)!.url);
		expect(Object.fromEntries(url.searchParams)).toEqual({
			event_type: 'esi_leap.lease.fulfill.end',
			resource_type: 'dummy_node',
		});
	});

	it('sends After Time as naive UTC', async () => {
		await env.lessee.run(
			{
				resource: 'event',
				operation: 'getAll',
				filters: { lastEventTime: '2026-11-24T12:00:00' },
			},
			{ timezone: 'America/New_York' },
		);
		const url = new URL(env.lessee.esiRequests().at(-1)!.url);
		expect(url.searchParams.get('last_event_time')).toBe('2026-11-24T17:00:00');
	});

	it('rejects a negative or fractional cursor before any request', async () => {
		const before = env.admin.esiRequests().length;
		const error = await env.admin.fail({
			resource: 'event',
			operation: 'getAll',
			filters: { lastEventId: 1.5 },
		});
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toContain('lastEventId');
		expect(env.admin.esiRequests()).toHaveLength(before);
	});
});

describe('console token', () => {
	it('creates a token for an Ironic node by name and deletes the node’s tokens', async () => {
		const [created] = await env.admin.run({
			resource: 'consoleToken',
			operation: 'create',
			nodeId: locator('name', 'fake-node-1'),
			additionalFields: { tokenTtlSeconds: 120 },
		});
		expect(created.json).toMatchObject({ access_url: expect.stringContaining('token=') });
		expect(env.admin.esiRequests().at(-1)?.body).toEqual({
			node_uuid_or_name: 'fake-node-1',
			token_ttl: '120',
		});
		expect(env.emulator.db.consoleTokens).toHaveLength(1);

		const [deleted] = await env.admin.run({
			resource: 'consoleToken',
			operation: 'delete',
			nodeId: locator('name', 'fake-node-1'),
		});
		expect(deleted.json).toEqual({ deleted: true, resource: 'consoleToken', node: 'fake-node-1' });
		expect(env.emulator.db.consoleTokens).toHaveLength(0);
	});

	it("maps Ironic's not-found (an ESI 500 with HTTP 404) to not found", async () => {
		const error = await env.lessee.fail({
			resource: 'consoleToken',
			operation: 'create',
			nodeId: locator('id', 'no-such-node'),
		});
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as NodeApiError).description).toContain('no such object');
	});
});
