/**
 * The package in a real n8n (regular mode) against the ESI Leap emulator and the local RabbitMQ:
 * both trigger modes react once per lifecycle event, the action node claims and reads a lease
 * under `n8n execute`, and both credentials test OK (and fail with a wrong password).
 */
import type amqp from 'amqplib';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator';
import {
	API_CREDENTIAL,
	apiCredentialData,
	busCredentialData,
	busTrigger,
	LEASE_TYPE,
	leaseEventsWorkflow,
} from './demo/workflows';
import { linearWorkflow, nodeOutput, type N8nInstance } from './harness';
import { AMQP_URL, uniqueName, waitForConsumer } from './rabbitmq';
import {
	activateHistoryWorkflow,
	expectOneExecutionPerLifecycleEvent,
	messageCount,
	startEsiLeapScenario,
	stopEsiLeapScenario,
	successfulPolls,
	waitUntil,
} from './scenarios';

describe('ESI Leap nodes in a real n8n (regular mode)', () => {
	let n8n: N8nInstance;
	let broker: amqp.ChannelModel;
	let emulator: Emulator;
	const queue = uniqueName('esi-leap-e2e-bus');

	beforeAll(async () => {
		({ broker, emulator, n8n } = await startEsiLeapScenario({ name: 'esi-leap' }));
	});

	afterAll(async () => {
		await stopEsiLeapScenario({ broker, emulator, n8n }, [queue, `${queue}.dead`]);
	});

	/** Waits for `count` more successful polls of the events API (each 5 s apart at the floor). */
	async function morePolls(count: number) {
		const target = successfulPolls(emulator) + count;
		await waitUntil(() => successfulPolls(emulator) >= target, `${count} more polls`, 30_000);
	}

	it('message bus: one execution per fulfill.end and delete.end, acked', async () => {
		const trigger = busTrigger({ exchange: emulator.exchange, queueName: queue });
		const id = await n8n.createWorkflow(leaseEventsWorkflow('e2e: bus lifecycle', trigger));
		await n8n.activateWorkflow(id);
		await waitForConsumer(broker, queue);

		const { leaseUuid, events } = await emulator.control.runLifecycle({ ending: 'delete' });
		// The lifecycle also published fulfill.start and delete.start: filtered out, not executed.
		expect(events.map((row) => row.eventType)).toEqual(
			expect.arrayContaining(['esi_leap.lease.fulfill.start', 'esi_leap.lease.delete.start']),
		);
		// Settled: deactivating waits for the executions in flight, and a notification not yet
		// acked would be back in the queue; with the queue empty, no other execution can come.
		const executions = await expectOneExecutionPerLifecycleEvent(
			n8n,
			id,
			trigger.name,
			leaseUuid,
			async () => {
				await n8n.deactivateWorkflow(id);
				expect(await messageCount(broker, queue)).toBe(0);
			},
		);
		expect(executions.every((e) => e.mode === 'trigger')).toBe(true);
		expect(await messageCount(broker, `${queue}.dead`)).toBe(0);
	});

	it('event history: one execution per fulfill.end and delete.end, with lease details', async () => {
		// "Start From: Now" takes its position at the first poll; the lifecycle must come after it.
		const { id, trigger } = await activateHistoryWorkflow(n8n, emulator, 'e2e: history lifecycle');

		const { leaseUuid, resourceUuid } = await emulator.control.runLifecycle({ ending: 'delete' });
		// Settled: two more polls after both executions found nothing else to emit.
		const executions = await expectOneExecutionPerLifecycleEvent(
			n8n,
			id,
			trigger.name,
			leaseUuid,
			async () => await morePolls(2),
		);
		for (const execution of executions) {
			const [item] = nodeOutput(execution, trigger.name);
			expect(item).toMatchObject({
				source: 'history',
				resource_uuid: resourceUuid,
				lease: expect.objectContaining({ uuid: leaseUuid }),
			});
			expect(item.event_id).toEqual(expect.any(Number));
		}
		await n8n.deactivateWorkflow(id);
	});

	it('Manual Trigger → offer get many → claim → lease get, with `n8n execute`', async () => {
		const nodeUuid = emulator.control.addDummyNode();
		const created = await fetch(`${emulator.leaseUrl}/v1/offers`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-auth-token': emulator.tokenFor('owner') },
			body: JSON.stringify({ resource_type: 'dummy_node', resource_uuid: nodeUuid }),
		});
		expect(created.status).toBe(201);
		const offer = (await created.json()) as { uuid: string };

		const lease = (mode: string, extra: Record<string, unknown>) => ({
			type: LEASE_TYPE,
			credentials: { esiLeapApi: { name: API_CREDENTIAL } },
			parameters: { resource: mode.split('.')[0], operation: mode.split('.')[1], ...extra },
		});
		const id = await n8n.createWorkflow(
			linearWorkflow('e2e: find, claim and read a lease', [
				{ name: 'Manual', type: 'n8n-nodes-base.manualTrigger' },
				{
					name: 'Find offer',
					...lease('offer.getAll', {
						returnAll: true,
						filters: { status: 'available', resourceType: 'dummy_node', resourceUuid: nodeUuid },
					}),
				},
				{
					name: 'Claim',
					...lease('offer.claim', {
						offerId: { __rl: true, mode: 'id', value: '={{ $json.uuid }}' },
						additionalFields: { name: 'e2e-claim', purpose: 'end-to-end test' },
					}),
				},
				{
					name: 'Get lease',
					...lease('lease.get', {
						leaseId: { __rl: true, mode: 'id', value: '={{ $json.uuid }}' },
					}),
				},
			]),
		);

		const run = await n8n.execute(id);
		expect(run.exitCode, run.stdout + run.stderr).toBe(0);
		expect(nodeOutput(run.result!, 'Find offer')).toEqual([
			expect.objectContaining({ uuid: offer.uuid, resource_uuid: nodeUuid, status: 'available' }),
		]);
		const [claimed] = nodeOutput(run.result!, 'Claim');
		expect(claimed).toMatchObject({
			offer_uuid: offer.uuid,
			name: 'e2e-claim',
			purpose: 'end-to-end test',
			project_id: emulator.users.lessee.projectId,
		});
		expect(nodeOutput(run.result!, 'Get lease')).toEqual([
			expect.objectContaining({
				uuid: claimed.uuid,
				offer_uuid: offer.uuid,
				resource_uuid: nodeUuid,
			}),
		]);
		expect(emulator.db.leases.map((stored) => stored.uuid)).toContain(claimed.uuid);
	});

	it('tests both credentials: OK with the right password, an error with a wrong one', async () => {
		const [api, bus] = await Promise.all([
			n8n.createCredential({
				name: 'ESI Leap API (checked)',
				type: 'esiLeapApi',
				data: apiCredentialData(emulator, emulator.users.owner),
			}),
			n8n.createCredential({
				name: 'ESI Leap Message Bus (checked)',
				type: 'esiLeapMessageBusApi',
				data: busCredentialData(AMQP_URL, emulator.exchange),
			}),
		]);
		const [badApi, badBus] = await Promise.all([
			n8n.createCredential({
				name: 'ESI Leap API (wrong password)',
				type: 'esiLeapApi',
				data: { ...apiCredentialData(emulator, emulator.users.owner), password: 'not-it' },
			}),
			n8n.createCredential({
				name: 'ESI Leap Message Bus (wrong password)',
				type: 'esiLeapMessageBusApi',
				data: { ...busCredentialData(AMQP_URL, emulator.exchange), password: 'not-it' },
			}),
		]);
		expect(await n8n.testCredential(api.id)).toMatchObject({ status: 'OK' });
		expect(await n8n.testCredential(bus.id)).toMatchObject({ status: 'OK' });
		for (const bad of [badApi, badBus]) {
			const result = await n8n.testCredential(bad.id);
			expect(result.status, bad.name).toBe('Error');
			expect(result.message, bad.name).not.toContain('not-it');
		}
		// n8n shows Keystone's own words, not its generic "Authorization failed - please check
		// your credentials" / "The service refused the connection - perhaps it is offline".
		expect(await n8n.testCredential(badApi.id)).toEqual({
			status: 'Error',
			message:
				'Keystone login failed (HTTP 401): The request you have made requires authentication.',
		});
		const closed = createServer();
		await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
		const { port } = closed.address() as AddressInfo;
		await new Promise((resolve) => closed.close(resolve));
		const [unreachable, hanging] = await Promise.all([
			n8n.createCredential({
				name: 'ESI Leap API (Keystone port closed)',
				type: 'esiLeapApi',
				data: {
					...apiCredentialData(emulator, emulator.users.owner),
					authUrl: `http://127.0.0.1:${port}/v3`,
				},
			}),
			n8n.createCredential({
				name: 'ESI Leap API (Keystone never answers)',
				type: 'esiLeapApi',
				data: { ...apiCredentialData(emulator, emulator.users.owner), timeoutSeconds: 1 },
			}),
		]);
		expect(await n8n.testCredential(unreachable.id)).toEqual({
			status: 'Error',
			message: `Cannot reach Keystone at http://127.0.0.1:${port}/v3/auth/tokens: the connection was refused (nothing listens on that port?)`,
		});
		emulator.control.hangNextLogins(1);
		expect(await n8n.testCredential(hanging.id)).toEqual({
			status: 'Error',
			message: `Keystone did not answer the login at ${emulator.keystoneUrl}/auth/tokens within 1 s`,
		});
	});
});
