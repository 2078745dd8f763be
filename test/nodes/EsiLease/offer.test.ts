import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { daysFromNow, locator, useEmulatorSessions } from './support';

const env = useEmulatorSessions();

/** The owner offers a fresh dummy node; returns the offer record. */
async function createOffer(name: string, extra: Record<string, unknown> = {}) {
	const [item] = await env.owner.run({
		resource: 'offer',
		operation: 'create',
		resourceType: 'dummy_node',
		resourceUuid: locator('id', env.emulator.control.addDummyNode()),
		additionalFields: { name, ...extra },
	});
	return item.json as { uuid: string; name: string; [key: string]: unknown };
}

describe('offer: create', () => {
	it("creates an offer as owner and returns ESI's record, with times sent as naive UTC", async () => {
		const resourceUuid = env.emulator.control.addDummyNode();
		const items = await env.owner.run({
			resource: 'offer',
			operation: 'create',
			resourceType: 'dummy_node',
			resourceUuid: locator('id', resourceUuid),
			additionalFields: {
				name: 'offer-create-1',
				startTime: '2027-01-02T00:00:00+02:00',
				endTime: '2027-01-09T00:00:00Z',
				properties: '{"ticket": "OPS-42"}',
			},
		});
		expect(items).toHaveLength(1);
		expect(items[0].pairedItem).toEqual({ item: 0 });
		expect(items[0].json).toMatchObject({
			name: 'offer-create-1',
			resource_type: 'dummy_node',
			resource_uuid: resourceUuid,
			project: 'esi-owner',
			status: 'available',
			properties: { ticket: 'OPS-42' },
			start_time: '2027-01-01T22:00:00Z',
		});
		const sent = env.owner.esiRequests().at(-1);
		expect(sent?.body).toMatchObject({
			start_time: '2027-01-01T22:00:00',
			end_time: '2027-01-09T00:00:00',
		});
		const stored = env.emulator.db.offers.find((offer) => offer.uuid === items[0].json.uuid);
		expect(stored?.startTime).toBe('2027-01-01T22:00:00.000000');
	});

	it('reads a picker value without offset in the workflow time zone', async () => {
		const items = await env.owner.run(
			{
				resource: 'offer',
				operation: 'create',
				resourceType: 'dummy_node',
				resourceUuid: locator('id', env.emulator.control.addDummyNode()),
				additionalFields: { startTime: '2027-07-01T09:30:00', endTime: '2027-07-02T09:30:00' },
			},
			{ timezone: 'Europe/Berlin' },
		);
		// Berlin is UTC+2 in July.
		expect(env.owner.esiRequests().at(-1)?.body).toMatchObject({
			start_time: '2027-07-01T07:30:00',
			end_time: '2027-07-02T07:30:00',
		});
		expect(items[0].json.start_time).toBe('2027-07-01T07:30:00Z');
	});

	it('refuses a lessee with a 403 that names the roles offer create needs', async () => {
		const error = await env.lessee.fail({
			resource: 'offer',
			operation: 'create',
			resourceType: 'dummy_node',
			resourceUuid: locator('id', env.emulator.control.addDummyNode()),
		});
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as NodeApiError).httpCode).toBe('403');
		expect(error.message).toContain('Access was denied');
		expect((error as NodeApiError).description).toContain(
			'the admin or owner role (esi_leap:offer:create)',
		);
	});

	it.each([
		[{ properties: '{"ticket": ' }, 'properties', 'not valid JSON'],
		[{ properties: '[1, 2]' }, 'properties', 'JSON object'],
		[
			{ startTime: '2027-02-02T00:00:00Z', endTime: '2027-02-01T00:00:00Z' },
			'endTime',
			'must be after startTime',
		],
		[{ startTime: 'next tuesday' }, 'startTime', 'not a date-time'],
		[{ name: 'x'.repeat(36) }, 'name', 'at most 35'],
	])('stops before any request on bad input %j', async (additionalFields, field, text) => {
		const before = env.owner.esiRequests().length;
		const error = await env.owner.fail({
			resource: 'offer',
			operation: 'create',
			resourceType: 'dummy_node',
			resourceUuid: locator('id', env.emulator.control.addDummyNode()),
			additionalFields,
		});
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toContain(field);
		expect(error.message).toContain(text);
		expect((error as NodeOperationError).description).toBe(`Check the "${field}" field.`);
		expect(env.owner.esiRequests()).toHaveLength(before);
	});
});

describe('offer: get', () => {
	it('gets an offer by UUID, by name and from the list', async () => {
		const offer = await createOffer('offer-get-1');
		for (const value of [
			locator('id', offer.uuid),
			locator('name', 'offer-get-1'),
			locator('list', offer.uuid),
		]) {
			const [item] = await env.lessee.run({ resource: 'offer', operation: 'get', offerId: value });
			expect(item.json).toMatchObject({ uuid: offer.uuid, name: 'offer-get-1' });
		}
	});

	it("reports an unknown name with ESI's 404 message", async () => {
		const error = await env.lessee.fail({
			resource: 'offer',
			operation: 'get',
			offerId: locator('name', 'no-such-offer'),
		});
		expect(error).toBeInstanceOf(NodeApiError);
		expect(error.message).toBe('Offer with name or uuid no-such-offer not found.');
		expect((error as NodeApiError).httpCode).toBe('404');
	});

	it("maps ESI's 500 for an unknown UUID to not found", async () => {
		const error = await env.lessee.fail({
			resource: 'offer',
			operation: 'get',
			offerId: locator('id', 'b32423aa-0624-488e-a151-430815863af0'),
		});
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as NodeApiError).httpCode).toBe('500');
		expect((error as NodeApiError).description).toContain('no such object');
	});

	it('rejects a malformed UUID before any request', async () => {
		const before = env.lessee.esiRequests().length;
		const error = await env.lessee.fail({
			resource: 'offer',
			operation: 'get',
			offerId: locator('id', 'not-a-uuid'),
		});
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toContain('offerId');
		expect(error.message).toContain('not a UUID');
		expect(env.lessee.esiRequests()).toHaveLength(before);
	});
});

describe('offer: get many', () => {
	it('returns one item per offer, limited or all, with filters sent as ESI expects', async () => {
		await createOffer('offer-many-1');
		await createOffer('offer-many-2');
		const all = await env.lessee.run({ resource: 'offer', operation: 'getAll', returnAll: true });
		expect(all.length).toBeGreaterThanOrEqual(2);
		expect(
			all.every((item) => item.pairedItem && (item.pairedItem as { item: number }).item === 0),
		).toBe(true);
		expect(all.map((item) => item.json.name)).toEqual(
			expect.arrayContaining(['offer-many-1', 'offer-many-2']),
		);

		const limited = await env.lessee.run({ resource: 'offer', operation: 'getAll', limit: 1 });
		expect(limited).toHaveLength(1);

		await env.lessee.run({
			resource: 'offer',
			operation: 'getAll',
			returnAll: true,
			filters: {
				status: 'any',
				projectId: 'esi-owner',
				resourceType: 'dummy_node',
				availableStartTime: '2027-03-01T00:00:00Z',
				availableEndTime: '2027-03-02T00:00:00Z',
			},
		});
		const url = new URL(env.lessee.esiRequests().at(-1)!.url);
		expect(Object.fromEntries(url.searchParams)).toEqual({
			status: 'any',
			project_id: 'esi-owner',
			resource_type: 'dummy_node',
			available_start_time: '2027-03-01T00:00:00',
			available_end_time: '2027-03-02T00:00:00',
		});
	});

	it('needs both ends of a time window before sending anything', async () => {
		const before = env.lessee.esiRequests().length;
		const error = await env.lessee.fail({
			resource: 'offer',
			operation: 'getAll',
			filters: { startTime: '2027-03-01T00:00:00Z' },
		});
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toContain('endTime');
		expect(env.lessee.esiRequests()).toHaveLength(before);
	});
});

describe('offer: claim', () => {
	it('claims by a unique name: resolves the UUID and returns the new lease', async () => {
		const offer = await createOffer('offer-claim-1');
		const [item] = await env.lessee.run({
			resource: 'offer',
			operation: 'claim',
			offerId: locator('name', 'offer-claim-1'),
			additionalFields: { name: 'claimed-1', purpose: 'n8n test', properties: { ticket: 'T-1' } },
		});
		expect(item.json).toMatchObject({
			name: 'claimed-1',
			offer_uuid: offer.uuid,
			project: 'esi-lessee',
			owner: 'esi-owner',
			purpose: 'n8n test',
			properties: { ticket: 'T-1' },
			status: 'created',
		});
		const claimRequest = env.lessee.esiRequests().at(-1)!;
		expect(claimRequest.url).toBe(`${env.emulator.leaseUrl}/v1/offers/${offer.uuid}/claim`);
	});

	// Issue 11: n8n dropped the empty body and ESI answered 400 Missing argument "new_lease".
	it('claims with no Additional Fields: sends {} and gets ESI’s defaults (start now, 7 days)', async () => {
		const offer = await createOffer('offer-claim-defaults');
		const before = Date.now();
		const [item] = await env.lessee.run({
			resource: 'offer',
			operation: 'claim',
			offerId: locator('id', offer.uuid),
		});
		const sent = env.lessee.esiRequests().at(-1)!;
		expect(sent.method).toBe('POST');
		expect(sent.body).toEqual({});
		expect(sent.headers['content-type']).toBe('application/json');
		expect(item.json).toMatchObject({ offer_uuid: offer.uuid, status: 'created' });
		const start = Date.parse(item.json.start_time as string);
		const end = Date.parse(item.json.end_time as string);
		expect(start).toBeGreaterThanOrEqual(before - 1000);
		expect(start).toBeLessThanOrEqual(Date.now() + 1000);
		// edge-016/053: start + 7 days, unless the offer ends earlier (this one is open-ended).
		expect(end - start).toBe(7 * 86_400_000);
	});

	it('claims by UUID with a time window', async () => {
		const offer = await createOffer('offer-claim-2');
		const start = daysFromNow(1);
		const end = daysFromNow(2);
		const [item] = await env.lessee.run({
			resource: 'offer',
			operation: 'claim',
			offerId: locator('list', offer.uuid),
			additionalFields: { startTime: start, endTime: end },
		});
		expect(item.json.start_time).toBe(start.replace('.000Z', 'Z'));
		expect(item.json.end_time).toBe(end.replace('.000Z', 'Z'));
	});

	it('says when a name is unknown or ambiguous, before claiming anything', async () => {
		const unknown = await env.lessee.fail({
			resource: 'offer',
			operation: 'claim',
			offerId: locator('name', 'no-such-offer'),
		});
		expect(unknown).toBeInstanceOf(NodeApiError);
		expect(unknown.message).toContain('No offer named "no-such-offer"');
		// The node's own look-up: not ESI's unknown-UUID 500, so no note saying it is.
		expect((unknown as NodeApiError).description).not.toContain('unknown UUIDs');

		const first = await createOffer('offer-twin');
		const second = await createOffer('offer-twin');
		const ambiguous = await env.lessee.fail({
			resource: 'offer',
			operation: 'claim',
			offerId: locator('name', 'offer-twin'),
		});
		expect(ambiguous).toBeInstanceOf(NodeOperationError);
		expect(ambiguous.message).toContain('2 offers are named "offer-twin"');
		expect(ambiguous.message).toContain(first.uuid);
		expect(ambiguous.message).toContain(second.uuid);
		expect(
			env.lessee
				.esiRequests()
				.some((request) => request.url.endsWith('/claim') && request.url.includes(first.uuid)),
		).toBe(false);
	});
});

describe('offer: delete', () => {
	it('deletes and says what was deleted; a second delete is a 404', async () => {
		const offer = await createOffer('offer-delete-1');
		const [item] = await env.owner.run({
			resource: 'offer',
			operation: 'delete',
			offerId: locator('id', offer.uuid),
		});
		expect(item.json).toEqual({ deleted: true, resource: 'offer', uuid: offer.uuid });
		expect(env.emulator.db.offers.find((stored) => stored.uuid === offer.uuid)?.status).toBe(
			'deleted',
		);

		const again = await env.owner.fail({
			resource: 'offer',
			operation: 'delete',
			offerId: locator('id', offer.uuid),
		});
		expect(again).toBeInstanceOf(NodeApiError);
		expect((again as NodeApiError).httpCode).toBe('404');
	});

	it('deletes by name', async () => {
		await createOffer('offer-delete-2');
		const [item] = await env.admin.run({
			resource: 'offer',
			operation: 'delete',
			offerId: locator('name', 'offer-delete-2'),
		});
		expect(item.json).toEqual({ deleted: true, resource: 'offer', name: 'offer-delete-2' });
	});

	it('refuses a project that did not create the offer, naming who may', async () => {
		const offer = await createOffer('offer-delete-3');
		const error = await env.lessee.fail({
			resource: 'offer',
			operation: 'delete',
			offerId: locator('id', offer.uuid),
		});
		expect(error).toBeInstanceOf(NodeApiError);
		expect((error as NodeApiError).httpCode).toBe('403');
		expect((error as NodeApiError).description).toContain('the project that created the offer');
	});
});
