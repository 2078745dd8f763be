/**
 * A scripted Keystone + ESI Leap pair behind one Transport, for the keystone and credential
 * tests. Tokens are numbered (tok-1, tok-2, ...); ESI Leap accepts only those listed in `valid`.
 */
import type { HttpRequest, HttpResponse, Transport } from '../../../nodes/core/api/transport';
import { captureBody } from '../../helpers/captures';

export const KEYSTONE = 'https://keystone.example:5000';
export const LEASE_PUBLIC = 'https://esi.example:7777';

export function catalog() {
	return [
		{
			type: 'identity',
			name: 'keystone',
			endpoints: [
				{ interface: 'public', region: 'RegionOne', region_id: 'RegionOne', url: `${KEYSTONE}/v3` },
			],
		},
		{
			type: 'lease',
			name: 'esi-leap',
			endpoints: [
				{
					interface: 'public',
					region: 'RegionOne',
					region_id: 'RegionOne',
					url: `${LEASE_PUBLIC}/`,
				},
				{
					interface: 'internal',
					region: 'RegionOne',
					region_id: 'RegionOne',
					url: 'http://10.0.0.5:7777/v1',
				},
				{
					interface: 'public',
					region: 'RegionTwo',
					region_id: 'RegionTwo',
					url: 'https://esi2.example:7777',
				},
			],
		},
	];
}

export interface FakeCloud {
	transport: Transport;
	requests: HttpRequest[];
	logins: () => number;
	/** Tokens ESI Leap accepts right now. */
	valid: Set<string>;
	/** What Keystone answers to the next logins (default: a token). */
	keystoneAnswer?: (request: HttpRequest) => HttpResponse | undefined;
}

export function fakeCloud(options: { catalog?: unknown[] } = {}): FakeCloud {
	let issued = 0;
	const cloud: FakeCloud = {
		requests: [],
		logins: () => issued,
		valid: new Set<string>(),
		transport: async (request) => {
			cloud.requests.push(request);
			if (request.method === 'POST' && request.url === `${KEYSTONE}/v3/auth/tokens`) {
				const scripted = cloud.keystoneAnswer?.(request);
				if (scripted) return scripted;
				issued += 1;
				const token = `tok-${issued}`;
				cloud.valid.add(token);
				return {
					status: 201,
					headers: { 'x-subject-token': token, 'content-type': 'application/json' },
					body: {
						token: {
							expires_at: '2026-11-24T18:32:35.000000Z',
							project: { id: 'p1', name: 'esi-lessee' },
							catalog: options.catalog ?? catalog(),
						},
					},
				};
			}
			if (request.url.startsWith(LEASE_PUBLIC)) {
				const token = request.headers?.['X-Auth-Token'];
				if (!token || !cloud.valid.has(token)) {
					return { status: 401, headers: {}, body: captureBody('rest-28-error-401-no-token') };
				}
				return { status: 200, headers: {}, body: captureBody('rest-15-leases-list-lessee') };
			}
			throw new Error(`fake cloud: unexpected ${request.method} ${request.url}`);
		},
	};
	return cloud;
}
