import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { IDataObject } from 'n8n-workflow';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { EsiLeapApi } from '../../../credentials/EsiLeapApi.credentials';
import { SHORT_EVENT_TYPES } from '../../../nodes/core/events/types';
import { startEmulator, type Emulator } from '../../emulator';
import { credentialFor } from '../../helpers/esiLeapApiCredential';
import { REAL_FIXTURES } from '../../helpers/fixtures';
import {
	createHistoryTrigger,
	waitFor,
	waitForPolls,
	type HistoryTrigger,
} from '../../helpers/historyTrigger';
import { startHttpStub, type HttpStub } from '../../helpers/httpStub';
import { createN8nHttp, type N8nHttp } from '../../helpers/n8nHttp';

/**
 * Which projects' events the Event History trigger emits. The node does no project scoping of
 * its own, on purpose: an admin login sees every project's events, and the trigger must not drop
 * any of them; for a tenant login ESI Leap itself scopes GET /v1/events to the caller's project
 * (a non-admin's lessee_or_owner_id is replaced by its own project: edge-304/305 in
 * test/fixtures/esi-leap-real-edge/README.md; the emulator's own test covers that scoping). So
 * whatever one answer holds, the trigger emits, whoever is logged in.
 */

let emulator: Emulator;
const running: HistoryTrigger[] = [];
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
	emulator = await startEmulator({ tickIntervalMs: 0 });
});

afterAll(async () => {
	await emulator.stop();
});

afterEach(async () => {
	await Promise.all(running.splice(0).map(async (trigger) => await trigger.close()));
	for (const close of closers.splice(0)) await close();
});

const emitted = (trigger: HistoryTrigger) =>
	trigger.fake.emissions.flatMap((emission) =>
		emission.items.map((item) => item.json as IDataObject),
	);

describe('Event History trigger: events of several projects in one answer', () => {
	it('an admin gets every project’s events from ESI, and the trigger emits them all', async () => {
		const trigger = createHistoryTrigger({
			emulator,
			role: 'admin',
			parameters: { pollIntervalSeconds: 0.05, events: ['fulfill.end'] },
		});
		running.push(trigger);
		await trigger.activate();
		await waitForPolls(emulator, 2);
		const projects = [
			emulator.users.lessee.projectId,
			emulator.users.admin.projectId,
			emulator.users.owner.projectId,
		];
		const seeded = projects.map((projectId) => ({
			projectId,
			...emulator.control.seedEvents(2, {
				eventType: 'esi_leap.lease.fulfill.end',
				lesseeId: projectId,
				ownerId: projectId,
			}),
		}));
		const expected = seeded.flatMap(({ firstId, projectId }) => [
			{ event_id: firstId, project_id: projectId },
			{ event_id: firstId + 1, project_id: projectId },
		]);
		await waitFor(() => emitted(trigger).length >= expected.length, 'six events');
		await waitForPolls(emulator, 2);
		expect(emitted(trigger).map(({ event_id, project_id }) => ({ event_id, project_id }))).toEqual(
			expected,
		);
	});

	it('a tenant login: what ESI answers is emitted as it is; the trigger adds no filter of its own', async () => {
		// The captured rows (rest-40, real ESI Leap) are all of one lessee; this answer gives every
		// second row to other projects, which ESI would never send a lessee, to show the trigger
		// does not scope by itself.
		const captured = JSON.parse(
			readFileSync(join(REAL_FIXTURES, 'rest-40-events-all-admin.json'), 'utf8'),
		) as { response: { body_text: string } };
		const capturedRows = (JSON.parse(captured.response.body_text) as { events: IDataObject[] })
			.events;
		const foreign = [emulator.users.admin.projectId, emulator.users.owner.projectId];
		const rows = capturedRows
			.slice(0, 6)
			.map((row, index) =>
				index % 2 === 0
					? row
					: { ...row, lessee_id: foreign[(index >> 1) % 2], owner_id: foreign[(index >> 1) % 2] },
			);
		const stub: HttpStub = await startHttpStub((request) => {
			const url = new URL(request.url, 'http://stub');
			if (request.method !== 'GET' || url.pathname !== '/v1/events') {
				return { status: 404, body: { error_message: `unexpected ${request.url}` } };
			}
			const after = Number(url.searchParams.get('last_event_id') ?? 0);
			return {
				status: 200,
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ events: rows.filter((row) => Number(row.id) > after) }),
			};
		});
		closers.push(async () => await stub.close());
		const http: N8nHttp = createN8nHttp({
			esiLeapApi: {
				type: new EsiLeapApi(),
				// A real lessee login at the emulator's Keystone; ESI Leap itself is the stub.
				data: { ...credentialFor(emulator, 'lessee'), endpointOverride: stub.url },
			},
		});
		closers.push(async () => await http.close());
		const trigger = createHistoryTrigger({
			emulator,
			role: 'lessee',
			parameters: {
				pollIntervalSeconds: 0.05,
				startFrom: 'beginning',
				events: [...SHORT_EVENT_TYPES],
			},
		});
		const helpers = trigger.fake.context.helpers as unknown as Record<string, unknown>;
		helpers.httpRequestWithAuthentication = async (name: string, request: never) =>
			await http.httpRequestWithAuthentication(name, request, trigger.fake.context.getNode());
		running.push(trigger);
		await trigger.activate();
		const polls = () => stub.requests.filter((request) => request.url.startsWith('/v1/events'));
		await waitFor(() => polls().length >= 3, 'three polls of the stub');

		expect(
			emitted(trigger).map(({ event_id, project_id, owner_id }) => ({
				event_id,
				project_id,
				owner_id,
			})),
		).toEqual(
			rows.map((row) => ({ event_id: row.id, project_id: row.lessee_id, owner_id: row.owner_id })),
		);
		expect(new Set(emitted(trigger).map((item) => item.project_id)).size).toBe(3);
		// Every poll went to the stub with the lessee's token; none asked for a project.
		expect(polls().every((request) => !request.url.includes('lessee_or_owner_id'))).toBe(true);
	});
});
