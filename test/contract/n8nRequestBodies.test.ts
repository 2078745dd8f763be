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
import { join } from 'node:path';

import type { IHttpRequestOptions } from 'n8n-workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { toN8nRequestOptions } from '../../nodes/shared/transport';
import { startEmulator, type Emulator } from '../emulator';
import { cacheDir, installPaths, N8N_1X, N8N_2X, type N8nPin } from '../e2e/n8n-install';

type HttpRequest = (options: IHttpRequestOptions) => Promise<unknown>;

/** n8n's own httpRequest from an installed n8n; fails (never skips) when it is not installed. */
function realHttpRequest(pin: N8nPin): HttpRequest {
	const modules = join(installPaths(cacheDir(), pin).n8nDir, 'node_modules');
	const file =
		pin === N8N_2X
			? join(modules, '@n8n', 'backend-network', 'dist', 'http', 'axios', 'request.js')
			: join(
					modules,
					'n8n-core',
					'dist',
					'execution-engine',
					'node-execution-context',
					'utils',
					'request-helper-functions.js',
				);
	if (!existsSync(file)) {
		throw new Error(
			`n8n ${pin.n8n} is not installed (${file} is missing): run \`npx tsx test/e2e/n8n-install.ts\``,
		);
	}
	const loaded = createRequire(file)(file) as { httpRequest: HttpRequest };
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

describe.each([
	['2.41.1', N8N_2X],
	[N8N_1X.n8n, N8N_1X],
])("n8n %s's own request code", (_version, pin) => {
	it('sends the claim with nothing set as {} with Content-Type application/json: ESI creates the lease', async () => {
		const httpRequest = realHttpRequest(pin);
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
		const httpRequest = realHttpRequest(pin);
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
