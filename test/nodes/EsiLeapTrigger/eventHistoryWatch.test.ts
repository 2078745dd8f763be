import type { IDataObject } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createEsiLeapClient, type EsiLeapClient } from '../../../nodes/core/api/client';
import { WATCH_KEY } from '../../../nodes/EsiLeapTrigger/modes/eventHistory';
import { startEmulator, type Emulator } from '../../emulator';
import { addSeconds, now, setClock } from '../../emulator/clock';
import type { Role } from '../../emulator/model';
import {
	createHistoryTrigger,
	waitFor,
	type HistoryTrigger,
	type HistoryTriggerOptions,
} from '../../helpers/historyTrigger';
import { createUndiciTransport, type UndiciTransport } from '../../helpers/undiciTransport';

/**
 * The watch events of Event History mode (lease created, end time changed, ending soon, offer
 * available, offer gone) through the node's trigger(), against the emulator, through the real ESI
 * Leap API credential. Polls run every 50 ms; ESI's clock is moved with the emulator's setClock,
 * n8n's clock is not, so the warnings that follow ESI's clock also show the clock-skew handling.
 */

const FAST = { pollIntervalSeconds: 0.05 };
let emulator: Emulator;
const running: HistoryTrigger[] = [];
const transports: UndiciTransport[] = [];

beforeAll(async () => {
	emulator = await startEmulator({ tickIntervalMs: 0 });
});

afterAll(async () => {
	await Promise.all(transports.map(async (transport) => await transport.close()));
	await emulator.stop();
});

afterEach(async () => {
	await Promise.all(running.splice(0).map(async (trigger) => await trigger.close()));
	// ESI's clock only ever moves forward here: the emulator keeps its stamps increasing, so a
	// step back would stall it. Every test works relative to now().
});

/** ESI Leap as `role`, over plain HTTP with an emulator token (the test's own requests). */
function esi(role: Role): EsiLeapClient {
	const transport = createUndiciTransport({ baseUrl: emulator.leaseUrl });
	transports.push(transport);
	return createEsiLeapClient((request) =>
		transport({
			...request,
			headers: { ...request.headers, 'X-Auth-Token': emulator.tokenFor(role) },
		}),
	);
}

/** Polls of a list (leases, offers, events), counted on the emulator's request log. */
const listPolls = () =>
	emulator.control.requestLog.filter((entry) =>
		/^\/v1\/(leases|offers|events)(\?|$)/.test(entry.path),
	).length;

async function morePolls(count = 2) {
	const target = listPolls() + count;
	await waitFor(() => listPolls() >= target, `${count} more watch polls`);
}

/** Activated as the lessee (unless `extra.role`), after its first two polls. */
async function activated(
	parameters: IDataObject,
	extra: Omit<HistoryTriggerOptions, 'emulator' | 'parameters'> = {},
): Promise<HistoryTrigger> {
	const options = { emulator, role: 'lessee' as const, ...extra };
	const trigger = createHistoryTrigger({ ...options, parameters: { ...FAST, ...parameters } });
	running.push(trigger);
	await trigger.activate();
	if (options.mode !== 'manual') await morePolls(2);
	return trigger;
}

const items = (trigger: HistoryTrigger) =>
	trigger.fake.emissions
		.filter((emission) => emission.fate === 'executed')
		.map((emission) => emission.json);
const ofEvent = (trigger: HistoryTrigger, event: string) =>
	items(trigger).filter((item) => item.event === event);

const iso = (time: string) => `${time}Z`;

/** Owner offers a new dummy node for `hours`; returns the offer. */
async function offerNode(hours = 24, properties?: Record<string, unknown>) {
	const node = emulator.control.addDummyNode(undefined, properties);
	return await esi('owner').createOffer({
		resourceType: 'dummy_node',
		resourceUuid: node,
		startTime: iso(now()),
		endTime: iso(addSeconds(now(), hours * 3600)),
	});
}

/** Lessee claims a fresh offer for `hours` (ends at least an hour before the offer). */
async function claimLease(hours: number) {
	const offer = await offerNode(hours + 1);
	const lease = await esi('lessee').claimOffer(offer.uuid, {
		endTime: iso(addSeconds(now(), hours * 3600)),
	});
	return { offer, lease };
}

describe('ESI Leap Trigger, Event History mode: lease and offer watch events', () => {
	it('takes a silent baseline, then reports a new lease once, in the normalized item shape', async () => {
		await claimLease(5);
		const trigger = await activated({ events: ['lease.created'] });
		expect(items(trigger)).toEqual([]);
		expect(
			Object.keys((trigger.saved()[WATCH_KEY] as { leases: object }).leases).length,
		).toBeGreaterThan(0);

		const { lease, offer } = await claimLease(5);
		await waitFor(() => ofEvent(trigger, 'lease.created').length === 1, 'lease.created');
		await morePolls(3);
		const created = ofEvent(trigger, 'lease.created');
		expect(created).toHaveLength(1);
		expect(created[0]).toMatchObject({
			event_type: 'esi_leap.lease.created',
			event: 'lease.created',
			action: 'created',
			phase: null,
			source: 'watch',
			event_id: null,
			message_id: null,
			lease_uuid: lease.uuid,
			offer_uuid: offer.uuid,
			resource_type: 'dummy_node',
			resource_uuid: lease.resource_uuid,
			project_id: emulator.users.lessee.projectId,
			owner_id: emulator.users.owner.projectId,
			end_time: lease.end_time,
			dedupe_key: `lease.created:${lease.uuid}`,
			lease: {
				uuid: lease.uuid,
				status: 'created',
				end_time: lease.end_time,
				offer_uuid: offer.uuid,
			},
			node: { uuid: lease.resource_uuid, name: `dummy-node-${lease.resource_uuid}` },
			offer: null,
		});
		expect(created[0].timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
		const emission = trigger.fake.emissions.find((entry) => entry.json.event === 'lease.created');
		expect(emission?.deduplicationKey).toContain(`watch:lease.created:${lease.uuid}`);
	});

	it('reports an end-time change (admin PATCH, which ESI notifies nowhere) with the old and new end time', async () => {
		const { lease } = await claimLease(5);
		const trigger = await activated({ events: ['lease.end_time_changed'] });
		const newEnd = addSeconds(now(), 9 * 3600).slice(0, 19);
		const updated = await esi('admin').updateLeaseEndTime(lease.uuid, `${newEnd}Z`);
		await waitFor(
			() => ofEvent(trigger, 'lease.end_time_changed').length === 1,
			'end_time_changed',
		);
		expect(ofEvent(trigger, 'lease.end_time_changed')[0]).toMatchObject({
			lease_uuid: lease.uuid,
			previous_end_time: lease.end_time,
			end_time: updated.end_time,
			dedupe_key: `lease.end_time_changed:${lease.uuid}:${lease.end_time}:${updated.end_time}`,
		});
	});

	it("warns once per lead time on ESI's clock, survives a restart without repeating, and warns again after an extension", async () => {
		const { lease } = await claimLease(30);
		// Leases of earlier tests warn too; this test follows its own.
		const warningsOf = (trigger: HistoryTrigger) =>
			ofEvent(trigger, 'lease.ending_soon').filter((item) => item.lease_uuid === lease.uuid);
		await emulator.control.tick(); // the manager fulfils it: active
		const parameters = { events: ['lease.ending_soon'], leadTimes: '7d, 24h, 1h' };
		const first = await activated(parameters);
		// The baseline counts 7d as reached (silent); 24h and 1h are ahead.
		expect(warningsOf(first)).toEqual([]);

		// ESI's clock moves 7 h on (n8n's does not): the 24 h point of the lease is passed.
		setClock(addSeconds(now(), 7 * 3600));
		await waitFor(() => warningsOf(first).length === 1, '24h warning');
		await morePolls(3);
		const warning = warningsOf(first);
		expect(warning).toHaveLength(1);
		expect(warning[0]).toMatchObject({
			lease_uuid: lease.uuid,
			lead_time: '24h',
			lead_time_seconds: 86_400,
			end_time: lease.end_time,
			dedupe_key: `lease.ending_soon:${lease.uuid}:86400:${lease.end_time}`,
			lease: { status: 'active' },
		});
		const remaining = warning[0].seconds_remaining as number;
		expect(remaining).toBeGreaterThan(22 * 3600);
		expect(remaining).toBeLessThanOrEqual(23 * 3600 + 5);
		const saved = first.saved();
		await first.close();
		running.splice(running.indexOf(first), 1);

		// A restart from what n8n saved: nothing repeats.
		const second = await activated(parameters, { savedStaticData: saved });
		await morePolls(3);
		expect(warningsOf(second)).toEqual([]);

		// Extended by 10 days: the 7 d and 24 h points are ahead again.
		const later = addSeconds(lease.end_time.slice(0, 26).replace('Z', ''), 0);
		const extendedEnd = addSeconds(later, 10 * 86_400 - 23 * 3600).slice(0, 19);
		await esi('admin').updateLeaseEndTime(lease.uuid, `${extendedEnd}Z`);
		await morePolls(3);
		expect(warningsOf(second)).toEqual([]);
		// 3 days before the new end: the 7 d warning of the new end time.
		setClock(addSeconds(`${extendedEnd}.000000`, -3 * 86_400));
		await waitFor(() => warningsOf(second).length === 1, '7d warning after extension');
		expect(warningsOf(second)[0]).toMatchObject({
			lead_time: '7d',
			end_time: `${extendedEnd}Z`,
		});
	});

	it('reports a new claimable offer, and an offer gone with the reason: claimed, deleted, expired', async () => {
		const trigger = await activated({ events: ['offer.available', 'offer.gone'] });
		const claimed = await offerNode(10, { cpus: 8, gpus: 1 });
		const deleted = await offerNode(10);
		const expiring = await offerNode(2);
		await waitFor(() => ofEvent(trigger, 'offer.available').length === 3, '3 offers available');
		expect(
			ofEvent(trigger, 'offer.available').find((item) => item.offer_uuid === claimed.uuid),
		).toMatchObject({
			event_type: 'esi_leap.offer.available',
			source: 'watch',
			lease_uuid: null,
			resource_uuid: claimed.resource_uuid,
			owner_id: emulator.users.owner.projectId,
			node: { uuid: claimed.resource_uuid, properties: { cpus: 8, gpus: 1 } },
			offer: { uuid: claimed.uuid, status: 'available', owner_id: emulator.users.owner.projectId },
		});

		await esi('lessee').claimOffer(claimed.uuid, {}); // to the offer's end
		await esi('owner').deleteOffer(deleted.uuid);
		setClock(addSeconds(now(), 3 * 3600));
		await emulator.control.tick(); // the manager expires the 2 h offer
		await waitFor(() => ofEvent(trigger, 'offer.gone').length === 3, '3 offers gone');
		const reasons = Object.fromEntries(
			ofEvent(trigger, 'offer.gone').map((item) => [item.offer_uuid, item.gone_reason]),
		);
		expect(reasons).toEqual({
			[claimed.uuid]: 'claimed',
			[deleted.uuid]: 'deleted',
			[expiring.uuid]: 'expired',
		});
		await morePolls(3);
		expect(ofEvent(trigger, 'offer.gone')).toHaveLength(3);
	});

	it('filters offers: payload filters on node properties, Free For (Hours) through ESI', async () => {
		const trigger = await activated({
			events: ['offer.available'],
			offerFilters: { freeForHours: 5 },
			payloadFilters: { filter: [{ path: 'node.properties.gpus', operator: 'exists' }] },
		});
		const short = await offerNode(3, { gpus: 2 });
		const plain = await offerNode(10);
		const gpu = await offerNode(10, { gpus: 4 });
		await waitFor(() => ofEvent(trigger, 'offer.available').length === 1, 'the GPU offer');
		await morePolls(3);
		expect(ofEvent(trigger, 'offer.available').map((item) => item.offer_uuid)).toEqual([gpu.uuid]);
		expect([short.uuid, plain.uuid]).not.toContain(
			ofEvent(trigger, 'offer.available')[0].offer_uuid,
		);
		const query = emulator.control.requestLog
			.filter((entry) => entry.path.startsWith('/v1/offers?'))
			.at(-1)?.path;
		expect(query).toMatch(/status=available/);
		expect(query).toMatch(
			/available_start_time=\d{4}-\d\d-\d\dT\d\d(%3A|:)\d\d(%3A|:)\d\d&available_end_time=/,
		);
	});

	it("admin: every project's leases only with All Projects (view=all)", async () => {
		const scoped = await activated({ events: ['lease.created'] }, { role: 'admin' });
		const all = await activated(
			{ events: ['lease.created'], options: { allProjects: true } },
			{ role: 'admin' },
		);
		const { lease } = await claimLease(5);
		await waitFor(
			() => ofEvent(all, 'lease.created').length === 1,
			'view=all sees the lessee lease',
		);
		await morePolls(3);
		expect(ofEvent(all, 'lease.created')[0].lease_uuid).toBe(lease.uuid);
		// The admin project is neither lessee nor owner of it: ESI's own scope hides it.
		expect(ofEvent(scoped, 'lease.created')).toEqual([]);
		expect(emulator.control.requestLog.some((entry) => entry.path.includes('view=all'))).toBe(true);
	});

	it('emits what exists on the first poll with Emit Current Matches, and a manual test shows one', async () => {
		const { lease } = await claimLease(5);
		const trigger = await activated({ events: ['lease.created'], options: { emitCurrent: true } });
		expect(ofEvent(trigger, 'lease.created').map((item) => item.lease_uuid)).toContain(lease.uuid);
		const count = ofEvent(trigger, 'lease.created').length;
		await morePolls(3);
		expect(ofEvent(trigger, 'lease.created')).toHaveLength(count);

		const manual = createHistoryTrigger({
			emulator,
			role: 'lessee',
			mode: 'manual',
			parameters: { events: ['lease.created'] },
		});
		running.push(manual);
		const response = await manual.activate();
		await response.manualTriggerFunction?.();
		const [[first]] = await manual.fake.manualResponse;
		expect(first.json).toMatchObject({ event: 'lease.created', source: 'watch' });
		expect(manual.fake.staticData[WATCH_KEY]).toBeUndefined();
	});

	it('says how a lease ended in its delete.end item: expired or deleted (from the lease, with Include Lease Details)', async () => {
		const trigger = await activated({ events: ['delete.end'], includeLeaseDetails: true });
		const expired = await emulator.control.runLifecycle({ ending: 'expire' });
		const deleted = await emulator.control.runLifecycle({ ending: 'delete' });
		await waitFor(() => ofEvent(trigger, 'delete.end').length === 2, 'two delete.end items');
		const causes = Object.fromEntries(
			ofEvent(trigger, 'delete.end').map((item) => [item.lease_uuid, item.end_cause]),
		);
		expect(causes).toEqual({ [expired.leaseUuid]: 'expired', [deleted.leaseUuid]: 'deleted' });

		// Without the lease, history rows cannot tell: null rather than a guess.
		const plain = await activated({ events: ['delete.end'] });
		const other = await emulator.control.runLifecycle({ ending: 'expire' });
		await waitFor(
			() => ofEvent(plain, 'delete.end').some((item) => item.lease_uuid === other.leaseUuid),
			'delete.end without details',
		);
		expect(
			ofEvent(plain, 'delete.end').find((item) => item.lease_uuid === other.leaseUuid)?.end_cause,
		).toBeNull();
	});

	it('fails the activation on bad Lead Times, naming the field', async () => {
		const bad = createHistoryTrigger({
			emulator,
			parameters: { events: ['lease.ending_soon'], leadTimes: '24h, soon' },
		});
		const error = await bad.activate().then(
			() => undefined,
			(failure: Error) => failure,
		);
		await bad.close();
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error?.message).toBe(
			'Lead Times: "soon" is not a duration (use d, h, m or s, e.g. 7d, 24h, 90m)',
		);
	});
});
