import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { locator, sessionFor, useEmulatorSessions } from './support';

const env = useEmulatorSessions();

async function newOffer(name: string): Promise<string> {
	const [item] = await env.owner.run({
		resource: 'offer',
		operation: 'create',
		resourceType: 'dummy_node',
		resourceUuid: locator('id', env.emulator.control.addDummyNode()),
		additionalFields: { name },
	});
	return item.json.uuid as string;
}

const getOfferFromItem = {
	resource: 'offer',
	operation: 'get',
	offerId: locator('id', '={{ $json.offer }}'),
};

describe('per-item execution', () => {
	it('runs once per input item with one token exchange, pairing every output', async () => {
		const uuids = [await newOffer('exec-1'), await newOffer('exec-2')];
		const session = sessionFor(env.emulator, 'lessee');
		const items = await session.run(getOfferFromItem, {
			items: uuids.map((offer) => ({ json: { offer } })),
		});
		expect(items.map((item) => item.json.uuid)).toEqual(uuids);
		expect(items.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(session.http.preAuthenticationCalls.esiLeapApi).toBe(1);
		await session.close();
	});

	it('with continueOnFail, turns bad items into error items and keeps going', async () => {
		const good = await newOffer('exec-3');
		const items = await env.owner.run(getOfferFromItem, {
			continueOnFail: true,
			items: [
				{ json: { offer: good } },
				{ json: { offer: 'not-a-uuid' } },
				{ json: { offer: '6f1d3d2e-0c56-4c7e-a0c0-3f1e2d4c5b6a' } },
				{ json: { offer: good } },
			],
		});
		expect(items.map((item) => item.pairedItem)).toEqual([
			{ item: 0 },
			{ item: 1 },
			{ item: 2 },
			{ item: 3 },
		]);
		expect(items[0].json.uuid).toBe(good);
		expect(items[1].json.error).toContain('not a UUID');
		expect(items[2].json.error).toBe('Offer 6f1d3d2e… not found, or not visible to this project');
		expect(items[2].json.description).toContain("'NoneType' object has no attribute");
		expect(items[3].json.uuid).toBe(good);
	});

	it('without continueOnFail, stops at the first bad item and says which', async () => {
		const good = await newOffer('exec-4');
		const error = await env.owner.fail(getOfferFromItem, {
			items: [{ json: { offer: good } }, { json: { offer: 'bad id' } }],
		});
		expect(error).toBeInstanceOf(NodeOperationError);
		expect((error as NodeOperationError).context.itemIndex).toBe(1);
	});

	it('an API failure carries the item index too', async () => {
		const error = await env.owner.fail(getOfferFromItem, {
			items: [{ json: { offer: '6f1d3d2e-0c56-4c7e-a0c0-3f1e2d4c5b6a' } }],
		});
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as NodeApiError).context.itemIndex).toBe(0);
	});
});

describe('authentication', () => {
	it('re-authenticates once when Keystone revoked the token mid-run, and succeeds', async () => {
		const uuid = await newOffer('exec-auth');
		const session = sessionFor(env.emulator, 'lessee');
		await session.run({ resource: 'offer', operation: 'get', offerId: locator('id', uuid) });
		const firstToken = session.credential.token;
		expect(session.http.preAuthenticationCalls.esiLeapApi).toBe(1);

		env.emulator.control.revokeAllTokens();
		const [item] = await session.run({
			resource: 'offer',
			operation: 'get',
			offerId: locator('id', uuid),
		});
		expect(item.json.uuid).toBe(uuid);
		expect(session.http.preAuthenticationCalls.esiLeapApi).toBe(2);
		expect(session.credential.token).not.toBe(firstToken);
		const statuses = session.esiRequests().map((request) => request.status);
		expect(statuses.slice(-2)).toEqual([401, 200]);
		await session.close();
	});

	it('never puts the password or the token into an error', async () => {
		const session = sessionFor(env.emulator, 'lessee');
		const error = await session.fail({
			resource: 'lease',
			operation: 'updateEndTime',
			leaseId: locator('id', '6f1d3d2e-0c56-4c7e-a0c0-3f1e2d4c5b6a'),
			endTime: '2030-01-01T00:00:00Z',
		});
		const text = JSON.stringify({
			message: error.message,
			description: (error as NodeApiError).description,
		});
		expect(text).not.toContain(session.credential.password as string);
		expect(text).not.toContain(session.credential.token as string);
		await session.close();
	});
});
