import type { IAllExecuteFunctions, IHttpRequestOptions } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { createEsiLeapClient } from '../../../nodes/core/api/client';
import {
	esiLeapApiTransport,
	toN8nRequestOptions,
	transportOverHttpRequest,
} from '../../../nodes/shared/transport';
import { captureBody, loadCapture } from '../../helpers/captures';

const node = {
	id: '1',
	name: 'ESI Lease',
	type: 't',
	typeVersion: 1,
	position: [0, 0] as [number, number],
	parameters: {},
};

function axiosError(status: number, data: unknown) {
	return Object.assign(new Error(`Request failed with status code ${status}`), {
		isAxiosError: true,
		response: { status, headers: { 'Content-Type': 'application/json' }, data },
	});
}

/** A context whose httpRequestWithAuthentication answers from a script and records options. */
function scriptedContext(script: Array<(options: IHttpRequestOptions) => unknown>) {
	const calls: IHttpRequestOptions[] = [];
	const context = {
		helpers: {
			httpRequestWithAuthentication: async (name: string, options: IHttpRequestOptions) => {
				expect(name).toBe('esiLeapApi');
				calls.push(options);
				const step = script[calls.length - 1];
				if (!step) throw new Error('unexpected extra request');
				return step(options);
			},
		},
	} as unknown as IAllExecuteFunctions;
	return { context, calls };
}

const unauthorized = captureBody('rest-28-error-401-no-token');

describe('toN8nRequestOptions', () => {
	it('drops undefined query values and asks for the full response', () => {
		expect(
			toN8nRequestOptions({
				method: 'GET',
				url: '/v1/leases',
				query: { status: 'any', view: undefined },
				timeoutMs: 5,
			}),
		).toMatchObject({
			method: 'GET',
			url: '/v1/leases',
			qs: { status: 'any' },
			json: true,
			returnFullResponse: true,
			timeout: 5,
			headers: { Accept: 'application/json' },
		});
		expect(toN8nRequestOptions({ method: 'GET', url: '/' })).not.toHaveProperty('qs');
	});

	// n8n drops an empty object body (convertN8nRequestToAxios sets axios data only for a string
	// or a non-empty object) and ESI then answers 400 Missing argument (capture edge-014).
	it('hands n8n every body as JSON text with its Content-Type, `{}` included', () => {
		for (const body of [{}, { end_time: '2041-03-09T00:00:00' }]) {
			const options = toN8nRequestOptions({ method: 'POST', url: '/v1/offers/x/claim', body });
			expect(options.body).toBe(JSON.stringify(body));
			expect(options.headers).toMatchObject({ 'Content-Type': 'application/json' });
		}
		const get = toN8nRequestOptions({ method: 'GET', url: '/v1/leases' });
		expect(get).not.toHaveProperty('body');
		expect(get.headers).not.toHaveProperty('Content-Type');
	});
});

describe('esiLeapApiTransport', () => {
	it('lets n8n see 401s (for its token refresh) and ignores every other status', async () => {
		const { context, calls } = scriptedContext([
			() => ({
				statusCode: 404,
				headers: {},
				body: captureBody('rest-29-error-404-lease-by-name'),
			}),
		]);
		const client = createEsiLeapClient(esiLeapApiTransport(context));
		await expect(client.getLease('no-such-lease')).rejects.toMatchObject({
			kind: 'not_found',
			esiMessage: 'Lease with name or uuid no-such-lease not found.',
		});
		expect(calls[0].ignoreHttpStatusErrors).toEqual({ ignore: true, except: [401] });
	});

	it('does not re-send a 401 that n8n threw (its one refresh already happened)', async () => {
		const { context, calls } = scriptedContext([
			() => {
				throw new NodeApiError(node, axiosError(401, unauthorized) as never);
			},
		]);
		const client = createEsiLeapClient(esiLeapApiTransport(context));
		await expect(client.listLeases()).rejects.toMatchObject({
			kind: 'unauthorized',
			status: 401,
			esiMessage: 'The request you have made requires authentication.',
		});
		expect(calls).toHaveLength(1);
	});

	it('on an n8n that ignored the except list, re-sends once with status errors on', async () => {
		const { context, calls } = scriptedContext([
			() => ({ statusCode: 401, headers: {}, body: unauthorized }),
			() => ({ statusCode: 200, headers: {}, body: captureBody('rest-15-leases-list-lessee') }),
		]);
		const client = createEsiLeapClient(esiLeapApiTransport(context));
		expect((await client.listLeases()).length).toBeGreaterThan(0);
		expect(calls.map((options) => options.ignoreHttpStatusErrors)).toEqual([
			{ ignore: true, except: [401] },
			false,
		]);
	});

	it('maps a thrown non-HTTP failure to a network error', async () => {
		const { context } = scriptedContext([
			() => {
				throw new NodeApiError(
					node,
					Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) as never,
				);
			},
		]);
		const client = createEsiLeapClient(esiLeapApiTransport(context));
		await expect(client.listEvents()).rejects.toMatchObject({ kind: 'network' });
	});
});

describe('transportOverHttpRequest', () => {
	it('merges extra options (TLS) into every request and lower-cases headers', async () => {
		const seen: IHttpRequestOptions[] = [];
		const transport = transportOverHttpRequest(
			async (options) => {
				seen.push(options);
				return { statusCode: 201, headers: { 'X-Subject-Token': 't' }, body: {} };
			},
			{ skipSslCertificateValidation: true },
		);
		const response = await transport({
			method: 'POST',
			url: 'https://k/v3/auth/tokens',
			body: { a: 1 },
		});
		expect(response).toEqual({ status: 201, headers: { 'x-subject-token': 't' }, body: {} });
		expect(seen[0]).toMatchObject({
			skipSslCertificateValidation: true,
			body: '{"a":1}',
			headers: { 'Content-Type': 'application/json' },
		});
	});
});

describe('esiLeapApiTransport, streamed answers (encoding: stream, as axios hands them over)', () => {
	const eventsText = loadCapture('rest-40-events-all-admin').response.body_text;
	const readable = (text: string) => Readable.from([Buffer.from(text)]);
	const unauthorizedText = loadCapture('rest-28-error-401-no-token').response.body_text;

	it('asks n8n for a stream and hands a 2xx stream to the client unread', async () => {
		const { context, calls } = scriptedContext([
			() => ({ statusCode: 200, headers: {}, body: readable(eventsText) }),
		]);
		const client = createEsiLeapClient(esiLeapApiTransport(context));
		const ids: number[] = [];
		const summary = await client.scanEvents({}, (row) => ids.push(row.id));
		expect(calls[0]).toMatchObject({ encoding: 'stream', url: '/v1/events' });
		expect(ids).toEqual(
			(JSON.parse(eventsText) as { events: Array<{ id: number }> }).events.map((event) => event.id),
		);
		expect(summary.count).toBe(ids.length);
		expect(toN8nRequestOptions({ method: 'GET', url: '/v1/leases' })).not.toHaveProperty(
			'encoding',
		);
	});

	it('reads a returned error stream for ESI’s message', async () => {
		const { context } = scriptedContext([
			() => ({
				statusCode: 500,
				headers: {},
				body: readable(JSON.stringify({ faultstring: 'Boom from ESI', debuginfo: null })),
			}),
		]);
		const client = createEsiLeapClient(esiLeapApiTransport(context));
		await expect(client.scanEvents({}, () => undefined)).rejects.toMatchObject({
			kind: 'server',
			status: 500,
			esiMessage: 'Boom from ESI',
		});
	});

	it('reads the stream inside a thrown 401 (after n8n’s refresh) for ESI’s message', async () => {
		const { context, calls } = scriptedContext([
			() => {
				throw new NodeApiError(node, axiosError(401, readable(unauthorizedText)) as never);
			},
		]);
		const client = createEsiLeapClient(esiLeapApiTransport(context));
		await expect(client.scanEvents({}, () => undefined)).rejects.toMatchObject({
			kind: 'unauthorized',
			esiMessage: 'The request you have made requires authentication.',
		});
		expect(calls).toHaveLength(1);
	});

	it('on an n8n that ignored the except list, reads the 401 stream and re-sends, streaming again', async () => {
		const { context, calls } = scriptedContext([
			() => ({ statusCode: 401, headers: {}, body: readable(unauthorizedText) }),
			() => ({ statusCode: 200, headers: {}, body: readable(eventsText) }),
		]);
		const client = createEsiLeapClient(esiLeapApiTransport(context));
		const summary = await client.scanEvents({}, () => undefined);
		expect(summary.count).toBeGreaterThan(0);
		expect(calls.map((options) => [options.encoding, options.ignoreHttpStatusErrors])).toEqual([
			['stream', { ignore: true, except: [401] }],
			['stream', false],
		]);
	});
});
