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
				executionPer: 'poll',
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
});
