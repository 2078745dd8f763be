/**
 * The request bodies the nodes hand n8n, sent through n8n's REAL outbound HTTP code (the n8n
 * installs the e2e tests use: 2.41.1's @n8n/backend-network httpRequest, 1.x's n8n-core
 * httpRequest) to the emulator, which answers a POST without a body as ESI does (edge-014: 400
 * Missing argument "new_lease").
 *
 * n8n drops an empty object body (convertN8nRequestToAxios sets axios `data` only for a string
 * or a non-empty object), so `body: {}` leaves n8n without a body: issue 11's claim with no
 * Additional Fields. toN8nRequestOptions hands n8n JSON text and its Content-Type instead.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import type { IHttpRequestOptions } from 'n8n-workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { toN8nRequestOptions } from '../../nodes/shared/transport';
import { startEmulator, type Emulator } from '../emulator';
import { installPaths } from './n8n-install';

type HttpRequest = (options: IHttpRequestOptions) => Promise<unknown>;

/**
 * The n8n this e2e run targets: E2E_N8N_BIN (npm run test:e2e:1x sets it to the 1.x install), or
 * the pinned 2.x one. An e2e test, not a unit test: on a fresh machine only the e2e global
 * setup has installed n8n.
 */
const N8N_BIN = process.env.E2E_N8N_BIN ?? installPaths().n8nBin;
const N8N_MODULES = join(dirname(N8N_BIN), '..', '..');

/** n8n's own httpRequest: 2.x keeps it in @n8n/backend-network, 1.x in n8n-core. */
function realHttpRequest(): HttpRequest {
	const candidates = [
		join(N8N_MODULES, '@n8n', 'backend-network', 'dist', 'http', 'axios', 'request.js'),
		join(
			N8N_MODULES,
			'n8n-core',
			'dist',
			'execution-engine',
			'node-execution-context',
			'utils',
			'request-helper-functions.js',
		),
	];
	const file = candidates.find((candidate) => existsSync(candidate));
	if (!file) {
		throw new Error(
			`No n8n request code under ${N8N_MODULES} (looked for ${candidates.join(', ')}): run \`npx tsx test/e2e/n8n-install.ts\``,
		);
	}
	const loaded = createRequire(file)(file) as { httpRequest?: HttpRequest };
	if (typeof loaded.httpRequest !== 'function') throw new Error(`${file} has no httpRequest`);
	return loaded.httpRequest;
}

let emulator: Emulator;

beforeAll(async () => {
	emulator = await startEmulator({ tickIntervalMs: 0 });
});

afterAll(async () => {
	await emulator?.stop();
});

/** An offer on a fresh dummy node, open now: a claim with every default fits it. */
async function freshOffer(): Promise<string> {
	const response = await fetch(`${emulator.leaseUrl}/v1/offers`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', 'X-Auth-Token': emulator.tokenFor('owner') },
		body: JSON.stringify({
			resource_type: 'dummy_node',
			resource_uuid: emulator.control.addDummyNode(),
		}),
	});
	expect(response.status).toBe(201);
	return ((await response.json()) as { uuid: string }).uuid;
}

function claimOptions(offer: string, options: IHttpRequestOptions): IHttpRequestOptions {
	return {
		...options,
		url: `${emulator.leaseUrl}/v1/offers/${offer}/claim`,
		headers: { ...options.headers, 'X-Auth-Token': emulator.tokenFor('lessee') },
	};
}

describe(`n8n's own request code (${N8N_MODULES})`, () => {
	it('sends the claim with nothing set as {} with Content-Type application/json: ESI creates the lease', async () => {
		const httpRequest = realHttpRequest();
		const offer = await freshOffer();
		const options = toN8nRequestOptions({ method: 'POST', url: '/claim', body: {} });
		const response = (await httpRequest(claimOptions(offer, options))) as {
			statusCode: number;
			body: { offer_uuid?: string; faultstring?: string };
		};
		expect(response.body.faultstring).toBeUndefined();
		expect(response.statusCode).toBe(201);
		expect(response.body.offer_uuid).toBe(offer);
	});

	it('drops a `body: {}` object (the cause of issue 11): ESI answers 400 Missing argument', async () => {
		const httpRequest = realHttpRequest();
		const offer = await freshOffer();
		const objectBody: IHttpRequestOptions = {
			method: 'POST',
			url: '/claim',
			body: {},
			json: true,
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
		};
		const response = (await httpRequest(claimOptions(offer, objectBody))) as {
			statusCode: number;
			body: { faultstring?: string };
		};
		expect(response.statusCode).toBe(400);
		expect(response.body.faultstring).toBe('Missing argument: "new_lease"');
	});
});
