import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startEmulator, type Emulator } from '../emulator';
import { createHistoryTrigger, waitFor, waitForPolls } from '../helpers/historyTrigger';
import type { HistoryTrigger } from '../helpers/historyTrigger';
import { expectNoSecrets } from './secrets';
import { seededRandom } from '../helpers/seededRandom';

/**
 * Event History mode through rounds of mixed faults against the emulator: token revocation and
 * expiry, 5xx bursts, restarts from the static data n8n saved, rows committed out of order.
 * Across every trigger instance, each matching event must be emitted exactly once.
 */

const MATCHING = ['esi_leap.lease.fulfill.end', 'esi_leap.lease.delete.end'];
const OTHER = 'esi_leap.lease.fulfill.start';
const ROUNDS = 25;

let emulator: Emulator;

beforeAll(async () => {
	emulator = await startEmulator({ tickIntervalMs: 0 });
});

afterAll(async () => {
	await emulator.stop();
});

describe('Event History mode under faults (emulator)', () => {
	it('0 skipped, 0 repeated events through token revocation, 5xx bursts, restarts between polls and out-of-order ids', async () => {
		const random = seededRandom(8);
		const triggers: HistoryTrigger[] = [];
		const start = async (saved?: HistoryTrigger) => {
			const trigger = createHistoryTrigger({
				emulator,
				parameters: {
					pollIntervalSeconds: 0.02,
					events: ['fulfill.end', 'delete.end'],
					options: { graceSeconds: 60 },
				},
				savedStaticData: saved?.saved(),
			});
			triggers.push(trigger);
			await trigger.activate();
			await waitForPolls(emulator, 2);
			return trigger;
		};
		const expected: number[] = [];
		const seed = () => {
			for (let batch = 0; batch < 3; batch++) {
				const count = 1 + Math.floor(random() * 8);
				const matching = random() < 0.7;
				const eventType = matching ? MATCHING[Math.floor(random() * 2)] : OTHER;
				const { firstId, lastId } = emulator.control.seedEvents(count, { eventType });
				if (matching) for (let id = firstId; id <= lastId; id++) expected.push(id);
			}
		};
		const faults: string[] = [];

		let current = await start();
		let held = false;
		for (let round = 0; round < ROUNDS; round++) {
			const fault = round % 5;
			if (fault === 0) {
				emulator.control.revokeAllTokens();
				faults.push('revoke');
			} else if (fault === 1) {
				const status = [500, 502, 503][round % 3];
				emulator.control.failNextRequests(2 + (round % 4), { status, pathPrefix: '/v1/events' });
				faults.push(`${status}x${2 + (round % 4)}`);
			} else if (fault === 2) {
				emulator.control.holdNextEvents(2);
				held = true;
				faults.push('hold');
			} else if (fault === 3) {
				await current.close();
				seed(); // written while the workflow is inactive
				current = await start(current);
				faults.push('restart');
			} else {
				emulator.control.expireAllTokens();
				faults.push('expire');
			}
			seed();
			await waitForPolls(emulator, 2, 10_000);
			if (held && fault !== 2) {
				emulator.control.releaseHeldEvents();
				held = false;
			}
		}
		emulator.control.releaseHeldEvents();
		emulator.control.clearFailures();

		const emitted = () => triggers.flatMap((trigger) => trigger.emittedIds());
		await waitFor(() => emitted().length >= expected.length, 'every matching event', 20_000);
		await waitForPolls(emulator, 3);
		await current.close();

		const ids = emitted();
		expect(new Set(ids).size, 'no event emitted twice').toBe(ids.length);
		expect([...ids].sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
		expect(faults.filter((fault) => fault === 'restart').length).toBe(ROUNDS / 5);
		expect(triggers.every((trigger) => trigger.fake.emittedErrors.length === 0)).toBe(true);

		// No password, token or application-credential secret anywhere the triggers wrote.
		const tokens = triggers.flatMap((trigger) =>
			trigger.http.requests.flatMap((request) => {
				const token = request.headers['X-Auth-Token'] ?? request.headers['x-auth-token'];
				return token ? [token] : [];
			}),
		);
		expect(tokens.length).toBeGreaterThan(0);
		const users = Object.values(emulator.users);
		expectNoSecrets(
			triggers.map((trigger) => trigger.fake.allText()),
			[
				...tokens,
				...users.map((user) => user.password),
				...users.map((user) => user.applicationCredentialSecret),
			],
		);
	}, 90_000);
});
