import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startEmulator, type Emulator } from '../../emulator';
import { createHistoryTrigger, waitFor, waitForPolls } from '../../helpers/historyTrigger';

/**
 * "Start from the beginning" on a busy cloud: a 100 000-event backlog is worked off in batches of
 * Max Events per Poll, every event exactly once and in order. (Memory and speed are measured in
 * bench/, not here.)
 */

const BACKLOG = 100_000;
const PER_POLL = 25_000;

let emulator: Emulator;

beforeAll(async () => {
	emulator = await startEmulator({ tickIntervalMs: 0 });
});

afterAll(async () => {
	await emulator.stop();
});

describe('ESI Leap Trigger, Event History mode, large backlog', () => {
	it('drains a 100 000-event backlog completely, in bounded batches, with no repeat', async () => {
		const { firstId, lastId } = emulator.control.seedEvents(BACKLOG, {
			eventType: 'esi_leap.lease.fulfill.end',
		});
		const trigger = createHistoryTrigger({
			emulator,
			parameters: {
				pollIntervalSeconds: 0.01,
				startFrom: 'beginning',
				events: ['fulfill.end'],
				executionPer: 'batch',
				batchSize: PER_POLL,
				options: { maxEventsPerPoll: PER_POLL },
			},
		});
		try {
			await trigger.activate();
			const emittedItems = () =>
				trigger.fake.emissions.reduce((sum, emission) => sum + emission.items.length, 0);
			await waitFor(() => emittedItems() >= BACKLOG, 'the whole backlog', 50_000);
			await waitForPolls(emulator, 2);

			const ids = trigger.emittedIds();
			expect(ids).toHaveLength(BACKLOG);
			expect(ids[0]).toBe(firstId);
			expect(ids[ids.length - 1]).toBe(lastId);
			expect(ids.every((id, index) => index === 0 || id === ids[index - 1] + 1)).toBe(true);
			expect(trigger.fake.emissions.map((emission) => emission.items.length)).toEqual(
				Array.from({ length: BACKLOG / PER_POLL }, () => PER_POLL),
			);
			expect(trigger.fake.logs.filter((line) => /backlog/i.test(line.message))).toHaveLength(
				BACKLOG / PER_POLL - 1,
			);
		} finally {
			await trigger.close();
		}
	}, 60_000);

	it('fetches the next backlog batch only once n8n has finished the executions of the last one', async () => {
		// Older events of the same type: emitted only if the start position were ignored.
		emulator.control.seedEvents(5, { eventType: 'esi_leap.lease.delete.end' });
		const { firstId } = emulator.control.seedEvents(30, {
			eventType: 'esi_leap.lease.delete.end',
		});
		const trigger = createHistoryTrigger({
			emulator,
			parameters: {
				pollIntervalSeconds: 60,
				startFrom: 'afterEventId',
				startEventId: firstId - 1,
				events: ['delete.end'],
				options: { maxEventsPerPoll: 10 },
			},
			execute: () => 'hang',
		});
		const eventPolls = () =>
			emulator.control.requestLog.filter((entry) => entry.path.startsWith('/v1/events')).length;
		try {
			await trigger.activate();
			await waitFor(() => trigger.emittedIds().length === 10, 'the first batch');
			const pollsAfterFirstBatch = eventPolls();
			await new Promise((resolve) => setTimeout(resolve, 200));
			expect(eventPolls()).toBe(pollsAfterFirstBatch);
			expect(trigger.emittedIds()).toHaveLength(10);

			trigger.fake.releaseHanging();
			await waitFor(() => trigger.emittedIds().length === 20, 'the second batch');
			trigger.fake.releaseHanging();
			await waitFor(() => trigger.emittedIds().length === 30, 'the third batch');
			expect(trigger.emittedIds()).toEqual(Array.from({ length: 30 }, (_, i) => firstId + i));
		} finally {
			trigger.fake.releaseHanging();
			await trigger.close();
		}
	});
});
