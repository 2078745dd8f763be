/**
 * Issue 17, item 6: the Keystone re-login of Event History mode in a real n8n. The re-login is
 * n8n's own: on a 401 that `httpRequestWithAuthentication` throws, n8n runs the credential's
 * preAuthentication again (the token field is `expirable`) and re-sends once. The fake n8n of
 * the unit tests only imitates that. Here the emulator's tokens are revoked between two polls and
 * expired in the middle of one (after its GET /v1/events, before its lease lookups); every
 * event must still run exactly once, with one Keystone login per invalidation.
 */
import type amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator';
import { DEMO_EVENTS } from './demo/workflows';
import { nodeOutput, type N8nInstance } from './harness';
import {
	activateHistoryWorkflow,
	startEsiLeapScenario,
	stopEsiLeapScenario,
	successfulPolls,
	waitUntil,
} from './scenarios';

describe('Event History in a real n8n: Keystone tokens revoked and expired mid-poll', () => {
	let n8n: N8nInstance;
	let broker: amqp.ChannelModel;
	let emulator: Emulator;

	beforeAll(async () => {
		({ broker, emulator, n8n } = await startEsiLeapScenario({ name: 'esi-leap-relogin' }));
	});

	afterAll(async () => {
		await stopEsiLeapScenario({ broker, emulator, n8n }, []);
	});

	const logins = () =>
		emulator.control.keystoneLog.filter(
			(request) =>
				request.method === 'POST' && request.path === '/v3/auth/tokens' && request.status === 201,
		).length;
	const refused = (pathPrefix: string) =>
		emulator.control.requestLog.filter(
			(request) => request.path.startsWith(pathPrefix) && request.status === 401,
		).length;

	it('logs in again after a revoked and an expired token; every event runs once', async () => {
		const { id, trigger } = await activateHistoryWorkflow(n8n, emulator, 'e2e: history re-login');
		const firstEventId = emulator.db.nextEventId;
		const loginsAtStart = logins();
		expect(loginsAtStart).toBeGreaterThanOrEqual(1);
		let expected = 0;

		// 1. Tokens revoked between two polls: the next GET /v1/events is refused.
		await emulator.control.runLifecycle({ ending: 'delete' });
		expected += 2;
		await n8n.waitForExecutions(id, { count: expected });
		const eventsRefusedBefore = refused('/v1/events');
		emulator.control.revokeAllTokens();
		await emulator.control.runLifecycle({ ending: 'delete' });
		expected += 2;
		await n8n.waitForExecutions(id, { count: expected });
		expect(refused('/v1/events')).toBe(eventsRefusedBefore + 1);
		expect(logins()).toBe(loginsAtStart + 1);

		// 2. Tokens expired in the middle of a poll: its GET /v1/events answered with the two new
		// events, then the token expires, so the lease lookups (Include Lease Details) are refused.
		const leasesRefusedBefore = refused('/v1/leases/');
		await emulator.control.runLifecycle({ ending: 'delete' });
		emulator.control.afterNextRequest('/v1/events', () => emulator.control.expireAllTokens());
		expected += 2;
		await n8n.waitForExecutions(id, { count: expected });
		expect(refused('/v1/leases/')).toBe(leasesRefusedBefore + 1);
		expect(logins()).toBe(loginsAtStart + 2);

		// Settled: two more successful polls after the last execution found nothing to emit.
		const pollsAtCount = successfulPolls(emulator);
		await waitUntil(
			() => successfulPolls(emulator) >= pollsAtCount + 2,
			'two more polls after the last execution',
		);
		await n8n.deactivateWorkflow(id);

		const selected = new Set(DEMO_EVENTS.map((event) => `esi_leap.lease.${event}`));
		const rows = emulator.db.events.filter(
			(row) => row.id >= firstEventId && selected.has(row.eventType),
		);
		expect(rows).toHaveLength(expected);
		const executions = (await n8n.executions(id)).reverse();
		expect(executions.map((e) => e.status)).toEqual(Array(expected).fill('success'));
		const items = executions.map((execution) => {
			const output = nodeOutput(execution, trigger.name);
			expect(output).toHaveLength(1);
			return output[0];
		});
		// Each event once (the executions of one poll run side by side, so compare by event id),
		// with its lease looked up, also where the lookup was refused.
		const ran = items
			.map((item) => ({
				id: item.event_id,
				lease: (item.lease as { uuid?: string } | null)?.uuid,
			}))
			.sort((a, b) => Number(a.id) - Number(b.id));
		expect(ran).toEqual(rows.map((row) => ({ id: row.id, lease: row.objectUuid })));
		expect(items.every((item) => item.lease_error === undefined)).toBe(true);
		expect(logins()).toBe(loginsAtStart + 2);
	}, 180_000);
});
