import { NodeApiError } from 'n8n-workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EsiLease } from '../../../nodes/EsiLease/EsiLease.node';
import { searchLeases, searchNodes, searchOffers } from '../../../nodes/shared/listSearch';
import type { Emulator } from '../../emulator';
import { createLoadOptionsContext } from '../../helpers/executeContext';
import { signedInHttp, type EmulatorRole } from '../../helpers/esiLeapApiCredential';
import type { N8nHttp } from '../../helpers/n8nHttp';
import { locator, sessionFor, startQuietEmulator } from './support';

let emulator: Emulator;
const https: N8nHttp[] = [];

function loadOptionsAs(role: EmulatorRole) {
	const { http } = signedInHttp(emulator, role);
	https.push(http);
	return createLoadOptionsContext(new EsiLease(), { resource: 'offer', operation: 'claim' }, http);
}

beforeAll(async () => {
	emulator = await startQuietEmulator();
});

afterAll(async () => {
	await Promise.all(https.map(async (http) => await http.close()));
	await emulator.stop();
});

describe('list search', () => {
	it('lists available offers by name with a distinguishing detail, filtered by name or UUID', async () => {
		const owner = sessionFor(emulator, 'owner');
		const uuids: string[] = [];
		for (const name of ['search-alpha', 'search-beta']) {
			const [item] = await owner.run({
				resource: 'offer',
				operation: 'create',
				resourceType: 'dummy_node',
				resourceUuid: locator('id', emulator.control.addDummyNode()),
				additionalFields: { name },
			});
			uuids.push(item.json.uuid as string);
		}
		await owner.close();

		const context = loadOptionsAs('lessee');
		const all = await searchOffers.call(context);
		expect(all.results.map((result) => result.value)).toEqual(expect.arrayContaining(uuids));
		const alpha = await searchOffers.call(context, 'ALPHA');
		expect(alpha.results).toEqual([
			{ name: expect.stringMatching(/^search-alpha \(dummy-node-/), value: uuids[0] },
		]);
		const byUuid = await searchOffers.call(context, uuids[1].slice(0, 8));
		expect(byUuid.results.map((result) => result.value)).toEqual([uuids[1]]);
	});

	it('lists the caller’s live leases', async () => {
		const owner = sessionFor(emulator, 'owner');
		const [lease] = await owner.run({
			resource: 'lease',
			operation: 'create',
			resourceType: 'dummy_node',
			resourceUuid: locator('id', emulator.control.addDummyNode()),
			projectId: 'esi-lessee',
			additionalFields: { name: 'search-lease' },
		});
		await owner.close();
		const found = await searchLeases.call(loadOptionsAs('lessee'), 'search-lease');
		expect(found.results).toEqual([
			{ name: expect.stringMatching(/^search-lease \(created, /), value: lease.json.uuid },
		]);
	});

	it('lists Ironic nodes for an admin and reports a refusal as an n8n error', async () => {
		const nodes = await searchNodes.call(loadOptionsAs('admin'));
		expect(nodes.results.map((result) => result.name.split(' ')[0]).sort()).toEqual([
			'fake-node-1',
			'fake-node-2',
		]);
		const error = await searchNodes.call(loadOptionsAs('lessee')).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(NodeApiError);
	});
});
