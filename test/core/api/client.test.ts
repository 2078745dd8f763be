import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import {
	checkEventRow,
	createEsiLeapClient,
	isUuidLike,
	type ScannedEventRow,
} from '../../../nodes/core/api/client';
import type { HttpRequest, Transport } from '../../../nodes/core/api/transport';
import { EsiLeapError, type EsiLeapErrorKind } from '../../../nodes/core/errors';
import { FIXTURES_DIR, captureBody, captureTransport, loadCapture } from '../../helpers/captures';
import { edgeCapture, faultstringOf } from '../../contract/edgeCaptures';

function clientFor(routes: Parameters<typeof captureTransport>[0]) {
	const stub = captureTransport(routes);
	return { client: createEsiLeapClient(stub.transport), requests: stub.requests };
}

async function failure(promise: Promise<unknown>): Promise<EsiLeapError> {
	try {
		await promise;
	} catch (error) {
		expect(error).toBeInstanceOf(EsiLeapError);
		return error as EsiLeapError;
	}
	throw new Error('expected the call to fail');
}

const ids = JSON.parse(readFileSync(join(FIXTURES_DIR, 'scenario-ids-run2.json'), 'utf8')) as {
	projects: Record<string, string>;
	offers: Record<string, string>;
	leases: Record<string, string>;
};

describe('root', () => {
	it('reads the unauthenticated version document', async () => {
		const { client } = clientFor(['rest-01-root']);
		const doc = await client.root();
		expect(doc.name).toBe('ESI Leap API');
		expect(doc.default_version.id).toBe('v1');
	});
});

describe('offers', () => {
	it('lists offers with times converted to ISO UTC, open end included', async () => {
		const { client, requests } = clientFor(['rest-07-offers-list-lessee']);
		const offers = await client.listOffers();
		const raw = (
			captureBody('rest-07-offers-list-lessee') as {
				offers: Array<{ uuid: string; start_time: string }>;
			}
		).offers;
		expect(offers.map((offer) => offer.uuid)).toEqual(raw.map((offer) => offer.uuid));
		expect(offers[0].start_time).toBe(`${raw[0].start_time}Z`);
		for (const offer of offers) {
			expect(offer.start_time).toMatch(/Z$/);
			for (const [start, end] of offer.availabilities) {
				expect(Date.parse(start)).toBeLessThan(Date.parse(end));
			}
		}
		expect(requests[0].query).toEqual({});
	});

	it('sends status=any and nothing else', async () => {
		const { client, requests } = clientFor(['rest-49-offers-list-admin-status-any']);
		const offers = await client.listOffers({ status: 'any', projectId: undefined });
		expect(offers.length).toBeGreaterThan(0);
		expect(requests[0].query).toEqual({ status: 'any' });
	});

	it('sends time filters as naive UTC and requires both ends', async () => {
		const { client, requests } = clientFor({
			'GET /v1/offers?available_end_time=2026-11-25T00%3A00%3A00&available_start_time=2026-11-24T22%3A00%3A00':
				{ status: 200, body: { offers: [] } },
		});
		await client.listOffers({
			availableStartTime: '2026-11-25T00:00:00+02:00',
			availableEndTime: new Date('2026-11-25T00:00:00Z'),
		});
		expect(requests).toHaveLength(1);
		const error = await failure(client.listOffers({ startTime: '2026-11-25T00:00:00Z' }));
		expect(error.kind).toBe('invalid_input');
		expect(error.field).toBe('endTime');
		expect(requests).toHaveLength(1);
	});

	it('gets one offer', async () => {
		const { client } = clientFor(['rest-18-offer-show']);
		const offer = await client.getOffer(ids.offers.dummy);
		expect(offer.uuid).toBe(ids.offers.dummy);
		expect(offer.project_id).toBe(ids.projects.owner);
	});

	it('creates an offer with exactly the body ESI was sent in the capture', async () => {
		const capture = loadCapture('rest-05-offer-create-dummy');
		const sent = capture.request.body as Record<string, string>;
		const { client, requests } = clientFor(['rest-05-offer-create-dummy']);
		const offer = await client.createOffer({
			resourceType: sent.resource_type,
			resourceUuid: sent.resource_uuid,
			startTime: `${sent.start_time}Z`,
			endTime: new Date(`${sent.end_time}Z`),
		});
		expect(requests[0].body).toEqual(sent);
		expect(offer.resource_uuid).toBe(sent.resource_uuid);
		expect(offer.end_time).toBe(`${sent.end_time}Z`);
	});

	it('claims by UUID and returns the new lease', async () => {
		const capture = loadCapture('rest-08-offer-claim-dummy');
		const sent = capture.request.body as Record<string, string>;
		const { client, requests } = clientFor(['rest-08-offer-claim-dummy']);
		const lease = await client.claimOffer(ids.offers.dummy, {
			startTime: `${sent.start_time}Z`,
			endTime: `${sent.end_time}Z`,
		});
		expect(requests[0].body).toEqual(sent);
		expect(lease.uuid).toBe(ids.leases.claimed_dummy);
		expect(lease.offer_uuid).toBe(ids.offers.dummy);
		expect(lease.fulfill_time).toBeNull();
	});

	it('refuses to claim by name before sending anything', async () => {
		const { client, requests } = clientFor([]);
		const error = await failure(client.claimOffer('my-offer'));
		expect(error.kind).toBe('invalid_input');
		expect(error.field).toBe('offerId');
		expect(error.message).toContain('UUID');
		expect(requests).toHaveLength(0);
	});

	it('resolves an offer name to its UUID, and fails clearly on 0 or several matches', async () => {
		const offers = (
			captureBody('rest-17-offers-list-admin') as { offers: Array<Record<string, unknown>> }
		).offers;
		const named = [
			{ ...offers[0], name: 'gpu' },
			...offers.slice(1).map((offer) => ({ ...offer, name: 'twin' })),
			{ ...offers[0], uuid: '00000000-0000-0000-0000-000000000000', name: 'twin' },
		];
		const { client, requests } = clientFor({
			'GET /v1/offers': { status: 200, body: { offers: named } },
		});
		expect(await client.resolveOfferUuid('gpu')).toBe(offers[0].uuid);
		expect((await failure(client.resolveOfferUuid('nothing'))).kind).toBe('not_found');
		const ambiguous = await failure(client.resolveOfferUuid('twin'));
		expect(ambiguous.kind).toBe('invalid_input');
		expect(ambiguous.message).toContain('00000000-0000-0000-0000-000000000000');
		const before = requests.length;
		expect(await client.resolveOfferUuid(ids.offers.ironic)).toBe(ids.offers.ironic);
		expect(requests).toHaveLength(before);
	});

	it('deletes an offer: DELETE answers 200 null', async () => {
		const { client } = clientFor({
			[`DELETE /v1/offers/${ids.offers.dummy}`]: { status: 200, body: null },
		});
		expect(await client.deleteOffer(ids.offers.dummy)).toEqual({
			deleted: true,
			id: ids.offers.dummy,
		});
	});
});

describe('leases', () => {
	it.each([
		['rest-15-leases-list-lessee', {}],
		['rest-46-leases-list-admin-view-all-status-any', { view: 'all', status: 'any' }],
		['rest-47-leases-list-lessee-status-any', { status: 'any' }],
	] as const)('lists %s', async (name, filters) => {
		const { client } = clientFor([name]);
		const leases = await client.listLeases(filters);
		const raw = (captureBody(name) as { leases: Array<{ uuid: string; end_time: string }> }).leases;
		expect(leases.map((lease) => lease.uuid)).toEqual(raw.map((lease) => lease.uuid));
		expect(leases.map((lease) => lease.end_time)).toEqual(raw.map((lease) => `${lease.end_time}Z`));
	});

	it.each([
		['rest-12-lease-show-active-dummy', 'active'],
		['rest-13-lease-show-active-ironic', 'active'],
		['rest-21-lease-show-wait-fulfill', 'wait fulfill'],
		['rest-23-lease-show-deleted', 'deleted'],
		['rest-26-lease-show-expired', 'expired'],
	])('gets %s', async (name, status) => {
		const uuid = loadCapture(name).request.path.split('/').pop() as string;
		const { client } = clientFor([name]);
		const lease = await client.getLease(uuid);
		expect(lease.uuid).toBe(uuid);
		expect(lease.status).toBe(status);
		if (lease.fulfill_time !== null) expect(lease.fulfill_time).toMatch(/Z$/);
	});

	it.each(['rest-09-lease-create-direct-dummy-short', 'rest-11-lease-create-direct-dummy-future'])(
		'creates %s with the captured body',
		async (name) => {
			const sent = loadCapture(name).request.body as Record<string, string>;
			const { client, requests } = clientFor([name]);
			const lease = await client.createLease({
				resourceType: sent.resource_type,
				resourceUuid: sent.resource_uuid,
				projectId: sent.project_id,
				name: sent.name,
				startTime: `${sent.start_time}Z`,
				endTime: `${sent.end_time}Z`,
				purpose: sent.purpose,
			});
			expect(requests[0].body).toEqual(sent);
			expect(lease.project_id).toBe(sent.project_id);
		},
	);

	it('requires resourceUuid and projectId for a direct lease', async () => {
		const { client, requests } = clientFor([]);
		const error = await failure(client.createLease({ resourceUuid: 'x', projectId: ' ' }));
		expect(error).toMatchObject({ kind: 'invalid_input', field: 'projectId' });
		expect(requests).toHaveLength(0);
	});

	it('PATCHes exactly {end_time} in naive UTC', async () => {
		const uuid = ids.leases.error_demo;
		const { client, requests } = clientFor({
			[`PATCH /v1/leases/${uuid}`]: {
				status: 200,
				body: captureBody('rest-21-lease-show-wait-fulfill'),
			},
		});
		const lease = await client.updateLeaseEndTime(uuid, '2026-11-24T20:32:35.123+01:00');
		expect(requests[0].body).toEqual({ end_time: '2026-11-24T19:32:35' });
		expect(lease.uuid).toBe(uuid);
	});

	it.each([
		'rest-22-lease-delete-by-lessee',
		'rest-24-lease-delete-ironic-by-owner',
		'rest-25-lease-delete-error-demo',
	])('deletes (%s) and copes with the null body', async (name) => {
		const uuid = loadCapture(name).request.path.split('/').pop() as string;
		const { client, requests } = clientFor([name]);
		expect(await client.deleteLease(uuid)).toEqual({ deleted: true, id: uuid });
		expect(requests[0].timeoutMs).toBeGreaterThanOrEqual(60_000);
	});

	it('URL-encodes names used as ids', async () => {
		const { client, requests } = clientFor({
			'GET /v1/leases/a%20b%2Fc': {
				status: 200,
				body: captureBody('rest-12-lease-show-active-dummy'),
			},
		});
		await client.getLease('a b/c');
		expect(requests[0].url).toBe('/v1/leases/a%20b%2Fc');
	});
});

describe('nodes', () => {
	it("keeps maintenance as ESI's string and tolerates missing offer/lease keys", async () => {
		const { client } = clientFor(['rest-04-nodes-initial']);
		const nodes = await client.listNodes();
		expect(nodes.map((node) => node.name)).toEqual(['fake-node-1', 'fake-node-2']);
		expect(nodes[0].maintenance).toBe('False');
		expect(nodes[0].lease_uuid).toBeUndefined();
	});

	it('reads offer_uuid/lease_uuid when present', async () => {
		const { client } = clientFor(['rest-19-nodes-with-leases']);
		const nodes = await client.listNodes();
		const busy = nodes.find((node) => node.lease_uuid !== undefined);
		expect(busy?.lease_uuid).toBe(ids.leases.ironic);
	});
});

describe('events', () => {
	it('lists every event sorted by id, with ISO UTC times', async () => {
		const raw = (captureBody('rest-40-events-all-admin') as { events: Array<{ id: number }> })
			.events;
		const shuffled = [...raw].reverse();
		const { client } = clientFor({ 'GET /v1/events': { status: 200, body: { events: shuffled } } });
		const events = await client.listEvents();
		expect(events.map((event) => event.id)).toEqual(
			raw.map((event) => event.id).sort((a, b) => a - b),
		);
		expect(events[0].event_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
	});

	it('sends last_event_id and returns only newer events', async () => {
		const { client, requests } = clientFor(['rest-41-events-since-last-event-id']);
		const events = await client.listEvents({ lastEventId: 19 });
		expect(requests[0].query).toEqual({ last_event_id: '19' });
		expect(events.every((event) => event.id > 19)).toBe(true);
	});

	it('returns [] when nothing is newer', async () => {
		const { client } = clientFor(['rest-42-events-since-last-id-none-newer']);
		expect(await client.listEvents({ lastEventId: 36 })).toEqual([]);
	});

	it('maps filters to ESI names', async () => {
		const { client } = clientFor([
			'rest-44-events-filter-event-type',
			'rest-45-events-filter-resource',
		]);
		const byType = await client.listEvents({ eventType: 'esi_leap.lease.fulfill.end' });
		expect(byType.every((event) => event.event_type === 'esi_leap.lease.fulfill.end')).toBe(true);
		const byResource = await client.listEvents({
			resourceType: 'dummy_node',
			resourceUuid: 'a704a3e4-4222-4767-96b1-b9c44bba0759',
		});
		expect(byResource.length).toBeGreaterThan(0);
	});

	it('rejects a bad lastEventId before sending', async () => {
		const { client } = clientFor([]);
		expect(await failure(client.listEvents({ lastEventId: -1 }))).toMatchObject({
			kind: 'invalid_input',
			field: 'lastEventId',
		});
	});
});

describe('console tokens', () => {
	it('creates with token_ttl as a string and deletes', async () => {
		const { client, requests } = clientFor({
			'POST /v1/console_auth_tokens': {
				status: 201,
				body: { node_uuid: 'n1', token: 't', access_url: 'ws://0.0.0.0:6083/?token=t' },
			},
			'DELETE /v1/console_auth_tokens/fake-node-1': { status: 200, body: null },
		});
		const token = await client.createConsoleToken({
			nodeUuidOrName: 'fake-node-1',
			tokenTtlSeconds: 600,
		});
		expect(requests[0].body).toEqual({ node_uuid_or_name: 'fake-node-1', token_ttl: '600' });
		expect(token.access_url).toContain('token=t');
		expect(await client.deleteConsoleToken('fake-node-1')).toEqual({
			deleted: true,
			id: 'fake-node-1',
		});
	});
});

describe('errors from the captured responses', () => {
	const cases: Array<
		[string, (client: ReturnType<typeof createEsiLeapClient>) => Promise<unknown>, EsiLeapErrorKind]
	> = [
		['rest-28-error-401-no-token', (c) => c.listLeases(), 'unauthorized'],
		['rest-29-error-404-lease-by-name', (c) => c.getLease('no-such-lease'), 'not_found'],
		['rest-30-error-404-offer-by-name', (c) => c.getOffer('no-such-offer'), 'not_found'],
		[
			'rest-31-error-500-unknown-lease-uuid',
			(c) => c.getLease('b32423aa-0624-488e-a151-430815863af0'),
			'not_found',
		],
		[
			'rest-32-error-500-unknown-offer-uuid',
			(c) => c.getOffer('5543df73-e50a-434b-b953-06009fdb2b51'),
			'not_found',
		],
		[
			'rest-33-error-403-lessee-create-offer',
			(c) => c.createOffer({ resourceUuid: 'x' }),
			'forbidden',
		],
		['rest-34-error-403-lessee-delete-offer', (c) => c.deleteOffer(ids.offers.dummy), 'forbidden'],
		[
			'rest-35-error-403-lessee-update-lease',
			(c) => c.updateLeaseEndTime(ids.leases.error_demo, '2026-11-24T18:32:35Z'),
			'forbidden',
		],
		[
			'rest-36-error-400-bad-datetime',
			(c) => c.createLease({ resourceUuid: 'x', projectId: 'p' }),
			'bad_request',
		],
		[
			'rest-37-error-400-unknown-attribute',
			(c) => c.createLease({ resourceUuid: 'x', projectId: 'p' }),
			'bad_request',
		],
		[
			'rest-38-error-500-invalid-time-range',
			(c) => c.createLease({ resourceUuid: 'x', projectId: 'p' }),
			'bad_request',
		],
		[
			'rest-39-error-500-offer-time-conflict',
			(c) => c.createOffer({ resourceUuid: 'x' }),
			'conflict',
		],
		['rest-20-nodes-as-lessee', (c) => c.listNodes(), 'forbidden'],
	];

	it.each(cases)('%s → %s', async (name, run, kind) => {
		const capture = loadCapture(name);
		const { client } = clientFor(['rest-01-root', name]);
		const error = await failure(run(client));
		const body = JSON.parse(capture.response.body_text) as {
			faultstring?: string;
			error?: { message: string };
		};
		const esiMessage = body.faultstring ?? body.error?.message;
		expect(error.kind).toBe(kind);
		expect(error.status).toBe(capture.response.status);
		expect(error.esiMessage).toBe(esiMessage);
		expect(error.message).toContain(esiMessage as string);
		expect(error.retryable).toBe(false);
	});

	it('maps an HTML 405 and a 503 without an ESI message', async () => {
		const { client } = clientFor({
			'GET /v1/events': { status: 405, body: '<html><body>405 Method Not Allowed</body></html>' },
			'GET /v1/nodes': { status: 503, body: 'Service Unavailable' },
		});
		const notAllowed = await failure(client.listEvents());
		expect(notAllowed).toMatchObject({ kind: 'bad_request', status: 405, esiMessage: undefined });
		const unavailable = await failure(client.listNodes());
		expect(unavailable).toMatchObject({ kind: 'server', status: 503, retryable: true });
	});

	it('turns a transport failure into a retryable network error', async () => {
		const client = createEsiLeapClient(async () => {
			throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7777'), {
				code: 'ECONNREFUSED',
			});
		});
		const error = await failure(client.listEvents());
		expect(error).toMatchObject({ kind: 'network', retryable: true });
		expect(error.message).toContain('ECONNREFUSED');
	});

	it('names the field when a response does not match the schema', async () => {
		const leases = (
			captureBody('rest-15-leases-list-lessee') as { leases: Array<Record<string, unknown>> }
		).leases;
		const broken = leases.map((lease, index) =>
			index === 1 ? { ...lease, start_time: 'yesterday' } : lease,
		);
		const { client } = clientFor({
			'GET /v1/leases': { status: 200, body: { leases: broken } },
			'GET /v1/leases/x': { status: 200, body: { ...leases[0], uuid: 42 } },
		});
		expect(await failure(client.listLeases())).toMatchObject({
			kind: 'invalid_response',
			field: 'leases[1].start_time',
		});
		expect(await failure(client.getLease('x'))).toMatchObject({
			kind: 'invalid_response',
			field: 'uuid',
		});
	});

	it('passes unknown fields through', async () => {
		const lease = captureBody('rest-12-lease-show-active-dummy') as Record<string, unknown>;
		const { client } = clientFor({
			'GET /v1/leases/x': { status: 200, body: { ...lease, shiny: 1 } },
		});
		expect(await client.getLease('x')).toHaveProperty('shiny', 1);
	});
});

describe('isUuidLike', () => {
	it('follows oslo: 32 hex digits, dashes optional', () => {
		expect(isUuidLike('6221af70-3e41-43fa-9a35-bb8ee204b90e')).toBe(true);
		expect(isUuidLike('6221af703e4143fa9a35bb8ee204b90e')).toBe(true);
		expect(isUuidLike('fake-node-1')).toBe(false);
	});
});

/** Serves one body as a byte stream in 5-byte chunks (2xx), or parsed (other statuses). */
function streamingClient(status: number, text: string) {
	const requests: HttpRequest[] = [];
	let closed = false;
	const transport: Transport = async (request) => {
		requests.push(request);
		if (status < 200 || status >= 300) {
			return { status, headers: {}, body: JSON.parse(text) as unknown };
		}
		const bytes = new TextEncoder().encode(text);
		async function* body() {
			try {
				for (let offset = 0; offset < bytes.length; offset += 5) {
					yield bytes.subarray(offset, offset + 5);
				}
			} finally {
				closed = true;
			}
		}
		return { status, headers: {}, body: body() };
	};
	return { client: createEsiLeapClient(transport), requests, closed: () => closed };
}

describe('scanEvents', () => {
	const captured = loadCapture('rest-40-events-all-admin').response.body_text;

	it('streams every row in ESI’s order, asks for a stream, and checks kept rows like listEvents', async () => {
		const { client, requests } = streamingClient(200, captured);
		const seen: ScannedEventRow[] = [];
		const summary = await client.scanEvents({ lastEventId: 3 }, (row) => seen.push(row));
		const raw = (JSON.parse(captured) as { events: Array<{ id: number }> }).events;
		expect(requests[0]).toMatchObject({
			method: 'GET',
			url: '/v1/events',
			query: { last_event_id: '3' },
			responseType: 'stream',
		});
		expect(seen.map((row) => row.id)).toEqual(raw.map((event) => event.id));
		expect(seen.map((row) => row.value)).toEqual(raw);
		expect(summary).toEqual({
			count: raw.length,
			newestId: Math.max(...raw.map((event) => event.id)),
		});
		const listed = await clientFor({
			'GET /v1/events': { status: 200, body: JSON.parse(captured) },
		}).client.listEvents();
		expect(seen.map(checkEventRow).sort((a, b) => a.id - b.id)).toEqual(listed);
	});

	it('with `wants`, visits only the rows it admits, yet counts every row and sees every id', async () => {
		const rows = Array.from({ length: 3000 }, (_, index) => ({
			id: 3000 - index,
			event_type: 'esi_leap.lease.fulfill.end',
			nested: { id: 1 },
		}));
		const { client } = streamingClient(200, JSON.stringify({ events: rows }));
		const asked: number[] = [];
		const seen: number[] = [];
		const summary = await client.scanEvents(
			{},
			(row) => seen.push(row.id),
			(id) => {
				asked.push(id);
				return id <= 10;
			},
		);
		expect(asked).toEqual(rows.map((row) => row.id));
		expect(seen).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
		expect(summary).toEqual({ count: 3000, newestId: 3000 });
	});

	it('reads a parsed body the same way when the transport cannot stream', async () => {
		const { client } = clientFor({ 'GET /v1/events': { status: 200, body: JSON.parse(captured) } });
		const ids: number[] = [];
		const summary = await client.scanEvents({}, (row) => ids.push(row.id));
		expect(ids.length).toBe(summary.count);
		expect(summary.count).toBeGreaterThan(0);
		const empty = await clientFor(['rest-42-events-since-last-id-none-newer']).client.scanEvents(
			{ lastEventId: 36 },
			() => undefined,
		);
		expect(empty).toEqual({ count: 0, newestId: undefined });
	});

	it('fails as invalid_response on malformed JSON, a row without an integer id, or a bad field', async () => {
		const truncated = streamingClient(200, captured.slice(0, 500));
		expect(await failure(truncated.client.scanEvents({}, () => undefined))).toMatchObject({
			kind: 'invalid_response',
			field: '(body)',
			message: expect.stringMatching(/GET \/v1\/events: \(body\): the document ends early/),
		});

		const badElement = streamingClient(200, '{"events": [{"id": 1}, {"id": 2,}]}');
		expect(await failure(badElement.client.scanEvents({}, () => undefined))).toMatchObject({
			kind: 'invalid_response',
			field: 'events[1]',
		});
		expect(badElement.closed()).toBe(true);

		const badId = streamingClient(200, '{"events": [{"id": 1}, {"id": "2"}]}');
		expect(await failure(badId.client.scanEvents({}, () => undefined))).toMatchObject({
			kind: 'invalid_response',
			field: 'events[1].id',
		});

		const rows: ScannedEventRow[] = [];
		const badTime = JSON.parse(captured) as { events: Array<Record<string, unknown>> };
		badTime.events[2].event_time = 'yesterday';
		await streamingClient(200, JSON.stringify(badTime)).client.scanEvents({}, (row) =>
			rows.push(row),
		);
		expect(() => checkEventRow(rows[2])).toThrow(
			expect.objectContaining({ kind: 'invalid_response', field: 'events[2].event_time' }),
		);
	});

	it('turns an error status into ESI’s own message, as every other call does', async () => {
		const forbidden = loadCapture('rest-28-error-401-no-token').response.body_text;
		const { client } = streamingClient(401, forbidden);
		expect(await failure(client.scanEvents({}, () => undefined))).toMatchObject({
			kind: 'unauthorized',
			esiMessage: 'The request you have made requires authentication.',
		});
	});

	it('maps a stream that breaks off to a retryable network error', async () => {
		const transport: Transport = async () => ({
			status: 200,
			headers: {},
			body: (async function* () {
				yield new TextEncoder().encode('{"events": [{"id": 1}');
				throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
			})(),
		});
		const error = await failure(createEsiLeapClient(transport).scanEvents({}, () => undefined));
		expect(error).toMatchObject({ kind: 'network', retryable: true });
		expect(error.message).toMatch(/broke off: socket hang up \(ECONNRESET\)/);
	});
});

/** A stub answering `METHOD path` as the real ESI Leap did in edge capture `number`. */
function edgeRoute(number: number) {
	const capture = edgeCapture(number);
	return {
		[`${capture.request.method} ${capture.request.path}`]: {
			status: capture.response.status as number,
			body: JSON.parse(capture.response.body_text) as unknown,
			headers: capture.response.headers,
		},
	};
}

describe('request bodies: every POST and PATCH carries a JSON object', () => {
	// edge-014/015: no body (or an empty one) is 400 Missing argument "new_lease"; edge-016: {} is 201.
	it('claims with nothing set send {} (not "no body")', async () => {
		const offer = '5cb0ba7b-31fd-4a52-8e24-c638b13bd7cd';
		const { client, requests } = clientFor(edgeRoute(16));
		const lease = await client.claimOffer(offer);
		expect(lease.offer_uuid).toBe(offer);
		expect(requests[0].body).toEqual({});
		await client.claimOffer(offer, {}).catch(() => undefined);
		expect(requests[1].body).toEqual({});
	});

	it('sends an object body on every POST/PATCH whatever is left empty, and none on GET/DELETE', async () => {
		const requests: HttpRequest[] = [];
		const client = createEsiLeapClient(async (request) => {
			requests.push(request);
			return { status: 599, headers: {}, body: '' };
		});
		const uuid = '3f0c7a52-5d0e-4b8e-9a51-0c0ffee00001';
		await Promise.allSettled([
			client.createOffer({ resourceUuid: uuid }),
			client.claimOffer(uuid, { name: undefined, startTime: '', endTime: undefined }),
			client.createLease({ resourceUuid: uuid, projectId: 'p' }),
			client.updateLeaseEndTime(uuid, '2041-03-09T00:00:00Z'),
			client.createConsoleToken({ nodeUuidOrName: 'n' }),
			client.getLease(uuid),
			client.deleteLease(uuid),
			client.listLeases(),
		]);
		expect(requests).toHaveLength(8);
		for (const request of requests) {
			if (request.method === 'POST' || request.method === 'PATCH') {
				expect(request.body, `${request.method} ${request.url}`).toBeTypeOf('object');
				expect(Array.isArray(request.body)).toBe(false);
				expect(request.body).not.toBeNull();
			} else {
				expect(request.body, `${request.method} ${request.url}`).toBeUndefined();
			}
		}
	});
});

describe('not found: the headline names the object, only the 500 case says ESI calls it a server error', () => {
	const random = '3f0c7a52-5d0e-4b8e-9a51-0c0ffee00001';
	const cases: Array<
		[number, (client: ReturnType<typeof createEsiLeapClient>) => Promise<unknown>, string]
	> = [
		[194, (c) => c.getLease(random), 'Lease 3f0c7a52… not found, or not visible to this project'],
		[
			198,
			(c) => c.deleteLease(random),
			'Lease 3f0c7a52… not found, or not visible to this project',
		],
		[
			200,
			(c) => c.updateLeaseEndTime(random, '2041-01-01T00:00:00Z'),
			'Lease 3f0c7a52… not found, or not visible to this project',
		],
		[202, (c) => c.getOffer(random), 'Offer 3f0c7a52… not found, or not visible to this project'],
		[
			204,
			(c) => c.deleteOffer(random),
			'Offer 3f0c7a52… not found, or not visible to this project',
		],
		[206, (c) => c.claimOffer(random), 'Offer 3f0c7a52… not found, or not visible to this project'],
	];

	it.each(cases)('edge-%s (ESI 500) → %s', async (number, run, summary) => {
		const { client } = clientFor(edgeRoute(number));
		const error = await failure(run(client));
		expect(error).toMatchObject({
			kind: 'not_found',
			status: 500,
			summary,
			unknownUuidAsServerError: true,
			retryable: false,
		});
		expect(error.esiMessage).toBe(faultstringOf(edgeCapture(number)));
	});

	it.each([
		[196, (c: ReturnType<typeof createEsiLeapClient>) => c.getLease('cap-no-such-name')],
		[199, (c: ReturnType<typeof createEsiLeapClient>) => c.deleteLease('cap-no-such-name')],
		[203, (c: ReturnType<typeof createEsiLeapClient>) => c.getOffer('cap-no-such-name')],
	])('edge-%s (a real 404) keeps ESI’s own headline and is not flagged', async (number, run) => {
		const { client } = clientFor(edgeRoute(number));
		const error = await failure(run(client));
		expect(error).toMatchObject({
			kind: 'not_found',
			status: 404,
			unknownUuidAsServerError: false,
		});
		expect(error.summary).toBeUndefined();
		expect(error.esiMessage).toBe(faultstringOf(edgeCapture(number)));
	});

	it('the node’s own name look-up is not flagged either', async () => {
		const { client } = clientFor({ 'GET /v1/offers': { status: 200, body: { offers: [] } } });
		const error = await failure(client.resolveOfferUuid('nothing'));
		expect(error).toMatchObject({ kind: 'not_found', unknownUuidAsServerError: false });
	});
});
