/**
 * The lease and offer watch events in a real n8n (regular mode), against the emulator, with the
 * scenario's lessee login: one ESI Leap Trigger in Event History mode watching Lease Ending Soon
 * (lead time 1 h) and Offer Available, polling every 5 s (the floor). A new offer runs one
 * execution; a lease claimed for 50 minutes, once the manager made it active, runs one warning.
 * Neither repeats on later polls.
 */
import type amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Emulator } from '../emulator';
import { addSeconds, now, restFormat } from '../emulator/clock';
import { API_CREDENTIAL, TRIGGER_TYPE } from './demo/workflows';
import { linearWorkflow, nodeOutput, type N8nInstance } from './harness';
import { startEsiLeapScenario, stopEsiLeapScenario, waitUntil } from './scenarios';

const TRIGGER = 'Lease or offer watch';

describe('lease and offer watch events in a real n8n', () => {
	let n8n: N8nInstance;
	let broker: amqp.ChannelModel;
	let emulator: Emulator;

	beforeAll(async () => {
		({ broker, emulator, n8n } = await startEsiLeapScenario({ name: 'esi-leap-watch' }));
	});

	afterAll(async () => {
		await stopEsiLeapScenario({ broker, emulator, n8n }, []);
	});

	const answeredLists = (path: string) =>
		emulator.control.requestLog.filter(
			(entry) =>
				entry.path.split('?')[0] === path && entry.method === 'GET' && entry.status === 200,
		).length;
	const leasePolls = () => answeredLists('/v1/leases');
	// A poll lists the leases, then the offers.
	const offerPolls = () => answeredLists('/v1/offers');

	async function morePolls(count: number) {
		const target = leasePolls() + count;
		await waitUntil(() => leasePolls() >= target, `${count} more watch polls`, 30_000);
	}

	async function post(role: 'owner' | 'lessee', path: string, body: unknown) {
		const response = await fetch(`${emulator.leaseUrl}${path}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-auth-token': emulator.tokenFor(role) },
			body: JSON.stringify(body),
		});
		expect(response.status, path).toBe(201);
		return (await response.json()) as { uuid: string; end_time: string };
	}

	it('one execution for a new offer and one for a lease reaching its 1 h lead time', async () => {
		const id = await n8n.createWorkflow(
			linearWorkflow('e2e: watch events', [
				{
					name: TRIGGER,
					type: TRIGGER_TYPE,
					credentials: { esiLeapApi: { name: API_CREDENTIAL } },
					parameters: {
						mode: 'eventHistory',
						pollIntervalSeconds: 5,
						events: ['lease.ending_soon', 'offer.available'],
						leadTimes: '1h',
					},
				},
				{
					name: 'Handle',
					type: 'n8n-nodes-base.noOp',
				},
			]),
		);
		const before = offerPolls();
		await n8n.activateWorkflow(id);
		// The baseline is taken once the offers are listed too: an offer created between the two
		// lists of the baseline poll would be part of it, and never "available".
		await waitUntil(() => offerPolls() > before, `the baseline poll (log ${n8n.logFile})`);

		const offer = await post('owner', '/v1/offers', {
			resource_type: 'dummy_node',
			resource_uuid: emulator.control.addDummyNode(undefined, { gpus: 1 }),
			start_time: restFormat(now()),
			end_time: restFormat(addSeconds(now(), 6 * 3600)),
		});
		await n8n.waitForExecutions(id, { count: 1, timeoutMs: 90_000 });

		// Claimed for 50 minutes: inside the lead time as soon as the manager makes it active.
		const lease = await post('lessee', `/v1/offers/${offer.uuid}/claim`, {
			end_time: restFormat(addSeconds(now(), 50 * 60)),
		});
		await n8n.waitForExecutions(id, { count: 2, timeoutMs: 90_000 });
		await morePolls(2);

		const executions = (await n8n.executions(id)).reverse();
		expect(executions.map((execution) => execution.status)).toEqual(['success', 'success']);
		const items = executions.map((execution) => nodeOutput(execution, TRIGGER));
		expect(items.map((list) => list.length)).toEqual([1, 1]);
		expect(items[0][0]).toMatchObject({
			event: 'offer.available',
			source: 'watch',
			offer_uuid: offer.uuid,
			node: { properties: { gpus: 1 } },
		});
		expect(items[1][0]).toMatchObject({
			event: 'lease.ending_soon',
			source: 'watch',
			lease_uuid: lease.uuid,
			lead_time: '1h',
			lease: { status: 'active' },
			// ESI's REST time with its microseconds, read as UTC.
			dedupe_key: `lease.ending_soon:${lease.uuid}:3600:${lease.end_time}Z`,
		});
		await n8n.deactivateWorkflow(id);
	});
});
