import type { IDataObject } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { EsiLeapTrigger } from '../../../nodes/EsiLeapTrigger/EsiLeapTrigger.node';
import { CURSOR_KEY } from '../../../nodes/EsiLeapTrigger/modes/eventHistory';
import { startEmulator, type Emulator } from '../../emulator';
import {
	createHistoryTrigger,
	waitFor,
	waitForPolls,
	type HistoryTriggerOptions,
	type HistoryTrigger,
} from '../../helpers/historyTrigger';

/**
 * Event History mode through the node's trigger(), against the emulator, with every request going
 * through the real ESI Leap API credential. Polls run every 50 ms.
 */

const FULFILL_END = 'esi_leap.lease.fulfill.end';
const DELETE_END = 'esi_leap.lease.delete.end';
const FAST = { pollIntervalSeconds: 0.05 };

let emulator: Emulator;
const running: HistoryTrigger[] = [];

beforeAll(async () => {
	emulator = await startEmulator({ tickIntervalMs: 0 });
});

afterAll(async () => {
	await emulator.stop();
});

afterEach(async () => {
	await Promise.all(running.splice(0).map(async (trigger) => await trigger.close()));
	emulator.control.clearFailures();
	for (const user of emulator.db.users)
		user.password = emulator.users[user.name as 'admin'].password;
});

async function activated(
	parameters: IDataObject,
	extra: Omit<HistoryTriggerOptions, 'emulator' | 'parameters'> = {},
): Promise<HistoryTrigger> {
	const trigger = createHistoryTrigger({
		emulator,
		parameters: { ...FAST, ...parameters },
		...extra,
	});
	running.push(trigger);
	await trigger.activate();
	// The first poll runs right away; a second one proves it finished.
	if ((extra.mode ?? 'trigger') === 'trigger') await waitForPolls(emulator, 2);
	return trigger;
}

function seed(
	count: number,
	eventType: string,
	options: { lesseeId?: string; ownerId?: string } = {},
) {
	const { firstId, lastId } = emulator.control.seedEvents(count, { eventType, ...options });
	return Array.from({ length: lastId - firstId + 1 }, (_, index) => firstId + index);
}

const storedCursor = (data: IDataObject) =>
	(data[CURSOR_KEY] as { state: { cursor: number } } | undefined)?.state.cursor;

const newestId = () => emulator.db.events[emulator.db.events.length - 1].id;

describe('ESI Leap Trigger, Event History mode', () => {
	it('emits nothing on first activation, then each new lease event once with the event id as deduplication key', async () => {
		await emulator.control.runLifecycle();
		const trigger = await activated({});
		expect(trigger.fake.emissions).toEqual([]);
		expect(storedCursor(trigger.saved())).toBe(newestId());

		const lifecycle = await emulator.control.runLifecycle();
		const expected = lifecycle.events
			.filter((row) => [FULFILL_END, DELETE_END].includes(row.eventType))
			.map((row) => row.id);
		await waitFor(() => trigger.emittedIds().length >= 2, 'two events');
		await waitForPolls(emulator, 3);

		expect(trigger.emittedIds()).toEqual(expected);
		expect(trigger.fake.emissions.map((emission) => emission.deduplicationKey)).toEqual(
			expected.map((id) => `wf-1:node-1:${id}`),
		);
		expect(trigger.fake.emissions[0].json).toMatchObject({
			source: 'history',
			event: 'fulfill.end',
			event_type: FULFILL_END,
			event_id: expected[0],
			lease_uuid: lifecycle.leaseUuid,
			resource_uuid: lifecycle.resourceUuid,
			project_id: emulator.users.lessee.projectId,
			lease: null,
		});
		expect(trigger.fake.emissions[1].json).toMatchObject({ event: 'delete.end' });
		expect(storedCursor(trigger.saved())).toBe(newestId());
		// One Keystone login for the whole run.
		expect(trigger.http.preAuthenticationCalls.esiLeapApi).toBe(1);
	});

	it('filters on ESI (one event type, resource type) and locally (payload filters)', async () => {
		// Nothing else writes events while a test runs (the emulator's manager tick is off).
		const wanted = [newestId() + 2, newestId() + 3];
		const trigger = await activated({
			events: ['delete.end'],
			payloadFilters: {
				filter: [{ path: 'event_id', operator: 'oneOf', value: wanted.join(', ') }],
			},
			options: { resourceType: 'dummy_node' },
		});
		emulator.control.seedEvents(3, { eventType: DELETE_END, resourceType: 'dummy_node' });
		emulator.control.seedEvents(3, { eventType: DELETE_END, resourceType: 'ironic_node' });
		emulator.control.seedEvents(3, { eventType: FULFILL_END, resourceType: 'dummy_node' });
		await waitFor(() => trigger.emittedIds().length >= 2, 'two events');
		await waitForPolls(emulator, 2);

		const items = trigger.fake.emissions.map((emission) => emission.json);
		expect(items.map((item) => [item.event_id, item.event, item.resource_type])).toEqual([
			[wanted[0], 'delete.end', 'dummy_node'],
			[wanted[1], 'delete.end', 'dummy_node'],
		]);
		const lastQuery = emulator.control.requestLog
			.filter((entry) => entry.path.startsWith('/v1/events'))
			.at(-1);
		expect(lastQuery?.path).toContain(`event_type=${DELETE_END}`);
		expect(lastQuery?.path).toContain('resource_type=dummy_node');
	});

	it('adds lease details to each event, and still emits an event whose lease lookup fails', async () => {
		const trigger = await activated({ includeLeaseDetails: true, events: ['fulfill.end'] });
		const lifecycle = await emulator.control.runLifecycle();
		const [orphan] = seed(1, FULFILL_END);
		await waitFor(() => trigger.emittedIds().length >= 2, 'two events');

		const [withLease, withoutLease] = trigger.fake.emissions.map((emission) => emission.json);
		expect(withLease).toMatchObject({
			lease_uuid: lifecycle.leaseUuid,
			lease: {
				uuid: lifecycle.leaseUuid,
				name: 'emulator-lifecycle',
				project_id: emulator.users.lessee.projectId,
				resource_uuid: lifecycle.resourceUuid,
			},
			node: { uuid: lifecycle.resourceUuid },
		});
		expect(withLease.lease_error).toBeUndefined();
		expect(withoutLease).toMatchObject({ event_id: orphan, lease: null, node: null });
		expect(withoutLease.lease_error).toEqual(expect.any(String));
	});

	it("in batches: a poll's events become executions of at most Batch Size items in id order, saved with the cursor", async () => {
		const trigger = await activated({
			executionPer: 'batch',
			batchSize: 2,
			events: ['fulfill.end'],
		});
		const ids = seed(5, FULFILL_END);
		await waitFor(() => trigger.emittedIds().length >= 5, 'five events');
		await waitForPolls(emulator, 2);
		expect(trigger.fake.emissions.map((emission) => emission.items.length)).toEqual([2, 2, 1]);
		expect(trigger.emittedIds()).toEqual(ids);
		expect(trigger.fake.emissions.map((emission) => emission.deduplicationKey)).toEqual([
			`wf-1:node-1:${ids[0]}-${ids[1]}`,
			`wf-1:node-1:${ids[2]}-${ids[3]}`,
			`wf-1:node-1:${ids[4]}-${ids[4]}`,
		]);
		// n8n saved the cursor when the batches were emitted: a restart repeats none of them.
		expect(storedCursor(trigger.saved())).toBe(ids[4]);
		await trigger.close();
		const after = await activated(
			{ executionPer: 'batch', batchSize: 2, events: ['fulfill.end'] },
			{ savedStaticData: trigger.saved() },
		);
		const more = seed(1, FULFILL_END);
		await waitFor(() => after.emittedIds().length >= 1, 'the new event');
		await waitForPolls(emulator, 2);
		expect(after.emittedIds()).toEqual(more);
	});

	it('a workflow saved with the old "One per Poll" runs in batches of Max Events per Poll: one execution per poll, as before', async () => {
		// n8n runs a stored option value as it is (getNodeParameters keeps it); the fake refuses a
		// value its description does not offer, so it reads this one through the old choice list.
		const description = new EsiLeapTrigger().description;
		const withOldChoice = {
			...description,
			properties: description.properties.map((property) =>
				property.name === 'executionPer'
					? {
							...property,
							options: [...property.options!, { name: 'One per Poll', value: 'poll' }],
						}
					: property,
			),
		};
		const trigger = await activated(
			{ executionPer: 'poll', events: ['fulfill.end'] },
			{ description: withOldChoice },
		);
		// More than the default Batch Size (100), fewer than Max Events per Poll (1 000).
		const ids = seed(150, FULFILL_END);
		await waitFor(() => trigger.fake.emissions.length >= 1, 'one execution');
		await waitForPolls(emulator, 2);
		expect(trigger.fake.emissions).toHaveLength(1);
		expect(trigger.emittedIds()).toEqual(ids);
		expect(trigger.fake.emissions[0].deduplicationKey).toBe(`wf-1:node-1:${ids[0]}-${ids[149]}`);
	});

	it('survives a restart with only the static data n8n saved: nothing skipped, nothing repeated', async () => {
		// Two event types: ESI returns every type, so non-matching events reach the cursor.
		const events = ['fulfill.end', 'delete.end'];
		const first = await activated({ events });
		const before = seed(2, FULFILL_END);
		await waitFor(() => first.emittedIds().length >= 2, 'two events');
		// Non-matching events move the cursor in memory only: n8n saves on emit.
		seed(3, 'esi_leap.lease.fulfill.start');
		await waitForPolls(emulator, 3);
		expect(storedCursor(first.fake.staticData)).toBe(newestId());
		expect(storedCursor(first.saved())).toBe(before[1]);
		await first.close();

		const whileDown = seed(2, FULFILL_END);
		const second = await activated({ events }, { savedStaticData: first.saved() });
		const after = seed(1, FULFILL_END);
		await waitFor(() => second.emittedIds().length >= 3, 'three events');
		await waitForPolls(emulator, 2);
		expect(first.emittedIds()).toEqual(before);
		expect(second.emittedIds()).toEqual([...whileDown, ...after]);
	});

	it('emits an event committed out of order once, if it shows up within the grace window', async () => {
		const trigger = await activated({ events: ['fulfill.end'], options: { graceSeconds: 60 } });
		emulator.control.holdNextEvents(1);
		const [late, ...visible] = seed(3, FULFILL_END);
		await waitFor(() => trigger.emittedIds().length >= 2, 'the visible events');
		await waitForPolls(emulator, 2);
		expect(trigger.emittedIds()).toEqual(visible);

		expect(emulator.control.releaseHeldEvents()).toEqual([late]);
		await waitFor(() => trigger.emittedIds().length >= 3, 'the late event');
		await waitForPolls(emulator, 3);
		expect(trigger.emittedIds()).toEqual([...visible, late]);
	});

	it('does not emit an event that shows up after the grace window', async () => {
		const trigger = await activated({ events: ['fulfill.end'], options: { graceSeconds: 0.1 } });
		emulator.control.holdNextEvents(1);
		const [late, ...visible] = seed(2, FULFILL_END);
		await waitFor(() => trigger.emittedIds().length >= 1, 'the visible event');
		await new Promise((resolve) => setTimeout(resolve, 300));
		await waitForPolls(emulator, 2);
		expect(emulator.control.releaseHeldEvents()).toEqual([late]);
		await waitForPolls(emulator, 3);
		expect(trigger.emittedIds()).toEqual(visible);
	});

	it('logs in again when the token is revoked or expires between polls', async () => {
		const trigger = await activated({ events: ['fulfill.end'] });
		emulator.control.revokeAllTokens();
		const first = seed(1, FULFILL_END);
		await waitFor(() => trigger.emittedIds().length >= 1, 'an event after revocation');
		emulator.control.expireAllTokens();
		const second = seed(1, FULFILL_END);
		await waitFor(() => trigger.emittedIds().length >= 2, 'an event after expiry');

		expect(trigger.emittedIds()).toEqual([...first, ...second]);
		expect(trigger.http.preAuthenticationCalls.esiLeapApi).toBe(3);
		expect(trigger.fake.failedExecutions).toEqual([]);
		const statuses = trigger.http.requests.filter((request) => request.url.includes('/v1/events'));
		expect(statuses.filter((request) => request.status === 401)).toHaveLength(2);
	});

	it('logs in again when the token expires in the middle of a poll (between listing and a lease lookup)', async () => {
		const trigger = await activated({ events: ['fulfill.end'], includeLeaseDetails: true });
		const logins = trigger.http.preAuthenticationCalls.esiLeapApi;
		emulator.control.failNextRequests(1, { status: 401, pathPrefix: '/v1/leases' });
		const lifecycle = await emulator.control.runLifecycle();
		await waitFor(() => trigger.emittedIds().length >= 1, 'the fulfill.end event');

		expect(trigger.fake.emissions[0].json).toMatchObject({
			lease_uuid: lifecycle.leaseUuid,
			lease: { uuid: lifecycle.leaseUuid },
		});
		expect(trigger.fake.emissions[0].json.lease_error).toBeUndefined();
		expect(trigger.http.preAuthenticationCalls.esiLeapApi).toBe(logins + 1);
	});

	it('keeps the cursor through a 5xx streak, records the streak as a failed execution and recovers', async () => {
		const trigger = await activated({ events: ['fulfill.end'] });
		const cursor = storedCursor(trigger.fake.staticData);
		emulator.control.failNextRequests(1000, { status: 503, pathPrefix: '/v1/events' });
		const ids = seed(2, FULFILL_END);
		await waitFor(() => trigger.fake.failedExecutions.length >= 1, 'a recorded failure');

		expect(storedCursor(trigger.fake.staticData)).toBe(cursor);
		expect(trigger.fake.emissions).toEqual([]);
		const [failure] = trigger.fake.failedExecutions;
		expect(failure.message).toMatch(/503|Service unavailable/);
		expect((failure as NodeOperationError).description).toMatch(/polls in a row failed/);

		emulator.control.clearFailures();
		await waitFor(() => trigger.emittedIds().length >= 2, 'the events after recovery');
		await waitForPolls(emulator, 2);
		expect(trigger.emittedIds()).toEqual(ids);
		expect(trigger.fake.failedExecutions).toHaveLength(1);
		expect(trigger.fake.emittedErrors).toEqual([]);
		expect(trigger.fake.logs.some((line) => /recovered/.test(line.message))).toBe(true);
	});

	it('logs a failed poll with its reason and the workflow, without secrets', async () => {
		const trigger = await activated({ events: ['fulfill.end'] });
		emulator.control.failNextRequests(1, { status: 503, pathPrefix: '/v1/events' });
		await waitFor(
			() => trigger.fake.logs.some((line) => /poll failed/.test(line.message)),
			'a failed poll logged',
		);
		const failed = trigger.fake.logs.find((line) => /poll failed/.test(line.message));
		expect(failed?.message).toBe(
			'ESI Leap Trigger "ESI Leap Trigger" (workflow "Test workflow", id wf-1): Event history poll failed; retrying on the next tick: Injected failure (HTTP 503) from the ESI Leap emulator (ESI Leap 503 on GET /v1/events)',
		);
		// A Keystone refusal during a refresh: its reason is logged, the password never.
		emulator.db.users.find((user) => user.name === 'admin')!.password = 'changed-in-keystone';
		emulator.control.revokeAllTokens();
		await waitFor(
			() =>
				trigger.fake.logs.some((line) =>
					/poll failed.*Keystone login failed \(HTTP 401\)/.test(line.message),
				),
			'a Keystone refusal logged',
		);
		for (const line of trigger.fake.logs) {
			expect(line.message).toContain('(workflow "Test workflow", id wf-1)');
			expect(line.meta).toMatchObject({ workflowId: 'wf-1', workflowName: 'Test workflow' });
		}
		expect(trigger.fake.allText()).not.toContain(emulator.users.admin.password);
	});

	it('a poll ESI Leap never answers times out, and the next poll delivers the events', async () => {
		const trigger = await activated({ events: ['fulfill.end'] });
		trigger.credential.timeoutSeconds = 1;
		emulator.control.hangNextRequests(1, { pathPrefix: '/v1/events' });
		const ids = seed(2, FULFILL_END);
		await waitFor(() => trigger.emittedIds().length >= 2, 'the events after the hang', 10_000);
		expect(trigger.emittedIds()).toEqual(ids);
		const failed = trigger.fake.logs.find((line) => /poll failed/.test(line.message));
		expect(failed?.message).toContain(
			'ESI Leap did not answer GET /v1/events before the request timeout.',
		);
	});

	it('logs the streak as an error where n8n has no saveFailedExecution (1.x)', async () => {
		const trigger = await activated({ events: ['fulfill.end'] }, { n8nMajor: 1 });
		emulator.control.failNextRequests(1000, { status: 500, pathPrefix: '/v1/events' });
		await waitFor(
			() => trigger.fake.logs.some((line) => line.level === 'error'),
			'an error log line',
		);
		expect(trigger.fake.logs.find((line) => line.level === 'error')?.message).toMatch(
			/3 event history polls in a row failed/,
		);
		expect(trigger.fake.emittedErrors).toEqual([]);
		expect(trigger.fake.allText()).not.toContain(emulator.users.admin.password);
	});

	it("shows a lessee only its own project's events", async () => {
		const trigger = await activated({ events: ['fulfill.end'] }, { role: 'lessee' });
		const foreignProject = emulator.users.admin.projectId;
		seed(2, FULFILL_END, { lesseeId: foreignProject, ownerId: foreignProject });
		const own = seed(1, FULFILL_END);
		seed(2, FULFILL_END, { lesseeId: foreignProject, ownerId: foreignProject });
		await waitFor(() => trigger.emittedIds().length >= 1, 'the own event');
		await waitForPolls(emulator, 3);
		expect(trigger.emittedIds()).toEqual(own);
		expect(trigger.fake.emissions[0].json.project_id).toBe(emulator.users.lessee.projectId);
	});

	it('stops polling on close and leaves no timer behind', async () => {
		const trigger = await activated({ events: ['fulfill.end'] });
		await trigger.close();
		running.splice(running.indexOf(trigger), 1);
		const polls = () =>
			emulator.control.requestLog.filter((entry) => entry.path.startsWith('/v1/events')).length;
		const after = polls();
		seed(1, FULFILL_END);
		await new Promise((resolve) => setTimeout(resolve, 300));
		expect(polls()).toBe(after);
		expect(trigger.fake.emissions).toEqual([]);
	});

	it('rejects bad parameters at activation, naming the field', async () => {
		const trigger = createHistoryTrigger({ emulator, parameters: { pollIntervalSeconds: 0 } });
		await expect(trigger.activate()).rejects.toThrow(/Poll Interval \(Seconds\)/);
		const fromId = createHistoryTrigger({
			emulator,
			parameters: { startFrom: 'afterEventId', startEventId: 1.5 },
		});
		await expect(fromId.activate()).rejects.toThrow(/Event ID must be a whole number/);
		await trigger.http.close();
		await fromId.http.close();
	});

	it('refuses a Poll Interval under the 5 s floor (the other tests lower it through the test context; here it is the real one)', async () => {
		for (const tooShort of [0.01, 1, 4.99]) {
			const trigger = createHistoryTrigger({
				emulator,
				parameters: { pollIntervalSeconds: tooShort },
				minPollIntervalSeconds: null,
			});
			const error = await trigger.activate().catch((caught: unknown) => caught);
			await trigger.http.close();
			expect(error).toBeInstanceOf(NodeOperationError);
			expect((error as Error).message).toBe(
				`Poll Interval (Seconds) must be at least 5, got ${tooShort}`,
			);
		}
		const polls = emulator.control.requestLog.length;
		const atFloor = createHistoryTrigger({
			emulator,
			parameters: { pollIntervalSeconds: 5 },
			minPollIntervalSeconds: null,
		});
		running.push(atFloor);
		await atFloor.activate();
		expect(emulator.control.requestLog.length).toBeGreaterThan(polls);
		// The editor refuses the same values (n8n's minValue).
		const { EsiLeapTrigger } = await import('../../../nodes/EsiLeapTrigger/EsiLeapTrigger.node');
		const field = new EsiLeapTrigger().description.properties.find(
			(property) => property.name === 'pollIntervalSeconds',
		);
		expect(field?.typeOptions?.minValue).toBe(5);
	});

	it('reads no environment variable for the floor: ESI_LEAP_MIN_POLL_INTERVAL_SECONDS no longer lowers it', async () => {
		process.env.ESI_LEAP_MIN_POLL_INTERVAL_SECONDS = '0.01';
		try {
			const trigger = createHistoryTrigger({
				emulator,
				parameters: { pollIntervalSeconds: 1 },
				minPollIntervalSeconds: null,
			});
			const error = await trigger.activate().catch((caught: unknown) => caught);
			await trigger.http.close();
			expect((error as Error).message).toBe('Poll Interval (Seconds) must be at least 5, got 1');
		} finally {
			delete process.env.ESI_LEAP_MIN_POLL_INTERVAL_SECONDS;
		}
	});
});

describe('ESI Leap Trigger, Event History mode, manual test', () => {
	it('returns the newest matching event without moving or storing a cursor', async () => {
		const ids = seed(2, DELETE_END);
		seed(1, FULFILL_END);
		const polls = () =>
			emulator.control.requestLog.filter((entry) => entry.path.startsWith('/v1/events')).length;
		const before = polls();
		const trigger = await activated({ events: ['delete.end'] }, { mode: 'manual' });
		await trigger.response?.manualTriggerFunction?.();
		expect(trigger.emittedIds()).toEqual([ids[1]]);
		expect(trigger.fake.staticData).toEqual({});
		expect(polls()).toBe(before + 1);
	});

	it('says clearly when no event matched and what was searched', async () => {
		const trigger = await activated(
			{ events: ['fulfill.error'], options: { resourceType: 'no_such_type' } },
			{ mode: 'manual' },
		);
		const error = await trigger.response?.manualTriggerFunction?.().then(
			() => undefined,
			(thrown: unknown) => thrown,
		);
		expect(error).toBeInstanceOf(NodeOperationError);
		expect((error as NodeOperationError).message).toMatch(/No ESI Leap event matched/);
		expect((error as NodeOperationError).description).toContain('resource type no_such_type');
		expect((error as NodeOperationError).description).toContain(
			'event_type=esi_leap.lease.fulfill.error, resource_type=no_such_type',
		);
		expect(trigger.fake.emissions).toEqual([]);
		expect(trigger.fake.staticData).toEqual({});
	});
});
