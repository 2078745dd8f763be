/**
 * The full package (n8n-nodes-esi-leap) and the cloud package (n8n-nodes-esi-leap-cloud, built
 * here by cloud/build.ts) installed side by side in one real n8n: both load, each with its own
 * trigger description, and both work with ONE "ESI Leap API" credential, whose type esiLeapApi
 * both packages register from the same source file. A workflow made for the full package runs in
 * the cloud package with only the node type prefix changed: Event History trigger → ESI Lease
 * "lease get", one execution per fulfill.end and delete.end of a lease lifecycle in each.
 */
import type amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildCloudPackage } from '../../cloud/build';
import type { Emulator } from '../emulator';
import { API_CREDENTIAL, historyTrigger, LEASE_TYPE, TRIGGER_TYPE } from './demo/workflows';
import { linearWorkflow, nodeOutput, startN8n, type N8nInstance, type Workflow } from './harness';
import { connectBroker } from './rabbitmq';
import {
	createEsiCredentials,
	startScenarioEmulator,
	stopEsiLeapScenario,
	successfulPolls,
	waitUntil,
} from './scenarios';

const FULL = 'n8n-nodes-esi-leap';
const CLOUD = 'n8n-nodes-esi-leap-cloud';

/** Event History trigger (5 s, the product floor) → ESI Lease "lease get" of the event's lease. */
function historyToLeaseGet(name: string): Workflow {
	const trigger = historyTrigger({ pollIntervalSeconds: 5 });
	return linearWorkflow(name, [
		{ ...trigger, name: 'Lease event' },
		{
			name: 'Get lease',
			type: LEASE_TYPE,
			credentials: { esiLeapApi: { name: API_CREDENTIAL } },
			parameters: {
				resource: 'lease',
				operation: 'get',
				leaseId: { __rl: true, mode: 'id', value: '={{ $json.lease_uuid }}' },
			},
		},
	]);
}

/** The same workflow for the other package: only the package prefix of the node types changes. */
function moved(workflow: Workflow, name: string): Workflow {
	const text = JSON.stringify({ ...workflow, name });
	return JSON.parse(text.replaceAll(`"${FULL}.`, `"${CLOUD}.`)) as Workflow;
}

describe('the full and the cloud package side by side in a real n8n', () => {
	let n8n: N8nInstance;
	let broker: amqp.ChannelModel;
	let emulator: Emulator;

	beforeAll(async () => {
		const fullTarball = process.env.E2E_PACKAGE_TARBALL;
		if (!fullTarball) throw new Error('E2E_PACKAGE_TARBALL is unset: run through npm run test:e2e');
		const cloud = buildCloudPackage();
		broker = await connectBroker();
		emulator = await startScenarioEmulator(broker);
		n8n = await startN8n({ name: 'cloud-side-by-side', packages: [fullTarball, cloud.tarball] });
		await createEsiCredentials(n8n, emulator);
	});

	afterAll(async () => {
		await stopEsiLeapScenario({ broker, emulator, n8n }, []);
	});

	it('loads both packages, each node with its own description, and one esiLeapApi type', async () => {
		const fullTrigger = await n8n.nodeType(TRIGGER_TYPE);
		const cloudTrigger = await n8n.nodeType(`${CLOUD}.esiLeapTrigger`);
		expect(await n8n.nodeType(LEASE_TYPE)).toBeDefined();
		expect(await n8n.nodeType(`${CLOUD}.esiLease`)).toBeDefined();
		const names = (description: typeof fullTrigger) =>
			((description?.properties ?? []) as Array<{ name: string }>).map((property) => property.name);
		// The full trigger has the Message Bus parameters; the cloud one has the notice instead.
		expect(names(fullTrigger)).toContain('queueSource');
		expect(names(fullTrigger)).not.toContain('messageBusNotice');
		expect(names(cloudTrigger)).toContain('messageBusNotice');
		expect(names(cloudTrigger)).not.toContain('queueSource');
		expect(names(cloudTrigger)).toEqual(
			expect.arrayContaining(['mode', 'pollIntervalSeconds', 'startFrom', 'events']),
		);
		expect(await n8n.hasCredentialType('esiLeapApi')).toBe(true);
		expect(await n8n.hasCredentialType('esiLeapMessageBusApi')).toBe(true);
	});

	it('both triggers and both ESI Lease nodes work with the one ESI Leap API credential', async () => {
		const full = historyToLeaseGet('side by side: full package');
		const cloud = moved(full, 'side by side: cloud package');
		expect(cloud.nodes.map((node) => node.type)).toEqual([
			`${CLOUD}.esiLeapTrigger`,
			`${CLOUD}.esiLease`,
		]);
		const ids = [await n8n.createWorkflow(full), await n8n.createWorkflow(cloud)];
		const before = successfulPolls(emulator);
		for (const id of ids) await n8n.activateWorkflow(id);
		// "Start From: Now" takes its position at each trigger's first poll.
		await waitUntil(
			() => successfulPolls(emulator) >= before + 2,
			`the first poll of both triggers (log ${n8n.logFile})`,
		);

		const { leaseUuid } = await emulator.control.runLifecycle({ ending: 'delete' });
		for (const id of ids) {
			const executions = await n8n.waitForExecutions(id, { count: 2, timeoutMs: 45_000 });
			expect(executions.map((execution) => execution.status)).toEqual(['success', 'success']);
			const events = executions.map((execution) => {
				const [event] = nodeOutput(execution, 'Lease event');
				const [lease] = nodeOutput(execution, 'Get lease');
				expect(event).toMatchObject({ source: 'history', lease_uuid: leaseUuid });
				expect(lease).toMatchObject({ uuid: leaseUuid });
				return event.event;
			});
			expect(events.sort()).toEqual(['delete.end', 'fulfill.end']);
		}
		// The same items from both packages (the event ids too: one ESI Leap event history).
		const items = async (id: string) =>
			(await n8n.executions(id))
				.map((execution) => nodeOutput(execution, 'Lease event')[0])
				.sort((a, b) => Number(a.event_id) - Number(b.event_id));
		expect(await items(ids[1])).toEqual(await items(ids[0]));
		for (const id of ids) await n8n.deactivateWorkflow(id);
	});
});
