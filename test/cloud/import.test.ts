/**
 * A workflow moves between the full package (n8n-nodes-esi-leap) and the cloud package
 * (n8n-nodes-esi-leap-cloud) by changing only the package prefix of its node types: the same
 * saved parameters mean the same thing to both (n8n's own NodeHelpers.getNodeParameters, as n8n
 * loads and saves a workflow), the credentials exist in both, and the items are the same.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { IDataObject, INode, INodeParameters, INodeTypeDescription } from 'n8n-workflow';
import { NodeHelpers, NodeOperationError } from 'n8n-workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EsiLeapTrigger as CloudTrigger } from '../../cloud/nodes/EsiLeapTrigger/EsiLeapTrigger.node';
import { EsiLeapApi } from '../../credentials/EsiLeapApi.credentials';
import { EsiLease } from '../../nodes/EsiLease/EsiLease.node';
import { EsiLeapTrigger as FullTrigger } from '../../nodes/EsiLeapTrigger/EsiLeapTrigger.node';
import { startEmulator, type Emulator } from '../emulator';
import { createHistoryTrigger, waitFor, type HistoryTrigger } from '../helpers/historyTrigger';

const FULL = 'n8n-nodes-esi-leap';
const CLOUD = 'n8n-nodes-esi-leap-cloud';
const cloudManifest = JSON.parse(
	readFileSync(path.join(__dirname, '../../cloud/package.json'), 'utf8'),
) as { n8n: { nodes: string[]; credentials: string[] } };

/** The cloud package's node descriptions by node name, as n8n registers them. */
const cloudNodes: Record<string, INodeTypeDescription> = {
	esiLeapTrigger: new CloudTrigger().description,
	esiLease: new EsiLease().description,
};
const fullNodes: Record<string, INodeTypeDescription> = {
	esiLeapTrigger: new FullTrigger().description,
	esiLease: new EsiLease().description,
};

/**
 * n8n's reading of parameters: with defaults filled in, as a workflow is loaded (`withDefaults`),
 * or with defaults left out, as the editor saves it. Hidden parameters are dropped either way.
 */
function asN8n(
	description: INodeTypeDescription,
	values: INodeParameters,
	withDefaults: boolean,
): INodeParameters {
	return NodeHelpers.getNodeParameters(
		description.properties,
		values,
		withDefaults,
		false,
		{ typeVersion: 1 },
		description,
	) as INodeParameters;
}
const loaded = (description: INodeTypeDescription, saved: INodeParameters) =>
	asN8n(description, saved, true);
const saved = (description: INodeTypeDescription, values: INodeParameters) =>
	asN8n(description, values, false);

function movable(file: string): INode[] {
	const workflow = JSON.parse(
		readFileSync(path.join(__dirname, '../../examples', file), 'utf8'),
	) as { nodes: INode[] };
	return workflow.nodes.filter((node) => node.type.startsWith(`${FULL}.`));
}

/** Full-package nodes of one type with these saved parameters, using the ESI Leap API login. */
function fullNodesOf(name: string, parameterSets: IDataObject[]): INode[] {
	return parameterSets.map((parameters, index) => ({
		id: `${name}-${index}`,
		name: `${name} ${index}`,
		type: `${FULL}.${name}`,
		typeVersion: 1,
		position: [0, 0],
		credentials: { esiLeapApi: { id: '1', name: 'ESI Leap API' } },
		parameters: parameters as INodeParameters,
	}));
}

const workflows: Array<[string, INode[]]> = [
	[
		'the tenant example (Event History → ESI Lease get)',
		movable('tenant-history-lease-check.json'),
	],
	[
		'Event History with every default, and one with the options set',
		fullNodesOf('esiLeapTrigger', [
			{ mode: 'eventHistory' },
			{
				mode: 'eventHistory',
				pollIntervalSeconds: 60,
				startFrom: 'afterEventId',
				startEventId: 42,
				includeLeaseDetails: true,
				executionPer: 'poll',
				events: ['fulfill.end', 'expire.end'],
				payloadFilters: { filter: [{ path: 'project_id', operator: 'equals', value: 'p1' }] },
				options: { graceSeconds: 30, maxEventsPerPoll: 50, includeRawEnvelope: true },
			},
		]),
	],
	[
		'ESI Lease operations',
		fullNodesOf('esiLease', [
			{ resource: 'lease', operation: 'getAll' },
			{
				resource: 'offer',
				operation: 'claim',
				offerId: { __rl: true, mode: 'id', value: '8c2a6d0e-5b1f-4e0a-9c3d-2f4b6a8e1c0d' },
			},
			{ resource: 'node', operation: 'getAll' },
		]),
	],
];

describe('a workflow moves between the packages by its node type prefix alone', () => {
	for (const [what, nodes] of workflows) {
		it(`${what}: full → cloud → full keeps every parameter and credential`, () => {
			expect(nodes.length).toBeGreaterThan(0);
			for (const node of nodes) {
				const name = node.type.slice(`${FULL}.`.length);
				const moved = { ...node, type: `${CLOUD}.${name}` };
				const cloud = cloudNodes[moved.type.slice(`${CLOUD}.`.length)];
				expect(cloud, `${CLOUD} has ${name}`).toBeDefined();
				const inFull = loaded(fullNodes[name], node.parameters);
				const inCloud = loaded(cloud, moved.parameters);
				expect(inCloud).toEqual(inFull);
				// The cloud editor reports nothing wrong with the moved node...
				expect(NodeHelpers.getNodeParametersIssues(cloud.properties, moved, cloud)).toBeNull();
				// ...and what it saves means the same to the full package.
				expect(loaded(fullNodes[name], saved(cloud, inCloud))).toEqual(inFull);
				for (const type of Object.keys(node.credentials ?? {})) {
					expect(cloud.credentials?.map((credential) => credential.name)).toContain(type);
				}
			}
		});
	}

	it('the cloud package registers the same credential type, with the same fields', () => {
		expect(cloudManifest.n8n.credentials).toEqual(['dist/credentials/EsiLeapApi.credentials.js']);
		const credential = new EsiLeapApi();
		expect(credential.name).toBe('esiLeapApi');
		expect(cloudNodes.esiLeapTrigger.credentials?.map((entry) => entry.name)).toEqual([
			'esiLeapApi',
		]);
	});

	it('a Message Bus workflow opened in the cloud package fails at activation, naming Mode and the full package', async () => {
		const trigger = createHistoryTrigger({
			emulator,
			parameters: {},
			nodeType: CloudTrigger,
		});
		// createHistoryTrigger sets Event History; a saved Message Bus node leaves the default out.
		delete trigger.fake.context.getNode().parameters.mode;
		const error = await trigger.activate().catch((caught: unknown) => caught);
		await trigger.http.close();
		expect(error).toBeInstanceOf(NodeOperationError);
		expect((error as Error).message).toBe(
			'Mode: Message Bus is only in the full package n8n-nodes-esi-leap',
		);
	});
});

let emulator: Emulator;
const running: HistoryTrigger[] = [];

beforeAll(async () => {
	emulator = await startEmulator({ tickIntervalMs: 0 });
});

afterAll(async () => {
	await Promise.all(running.map(async (trigger) => await trigger.close()));
	await emulator.stop();
});

describe('the same items from both packages', () => {
	it('Event History emits the same items through the full and the cloud trigger', async () => {
		const parameters: IDataObject = {
			pollIntervalSeconds: 0.05,
			startFrom: 'beginning',
			includeLeaseDetails: true,
			events: ['fulfill.end', 'delete.end'],
		};
		const lifecycle = await emulator.control.runLifecycle();
		expect(lifecycle).toBeDefined();
		const [full, cloud] = [FullTrigger, CloudTrigger].map((nodeType) =>
			createHistoryTrigger({ emulator, parameters, nodeType }),
		);
		running.push(full, cloud);
		await full.activate();
		await cloud.activate();
		await waitFor(
			() => full.emittedIds().length >= 2 && cloud.emittedIds().length >= 2,
			'two events from each trigger',
		);
		const items = (trigger: HistoryTrigger) =>
			trigger.fake.emissions.flatMap((emission) => emission.items.map((item) => item.json));
		expect(items(cloud)).toEqual(items(full));
		expect(items(full).map((item) => item.event_type)).toEqual(
			expect.arrayContaining(['esi_leap.lease.fulfill.end', 'esi_leap.lease.delete.end']),
		);
	});
});
