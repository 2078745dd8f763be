import { afterEach, describe, expect, it, vi } from 'vitest';

import type {
	EventListFilters,
	EventScanSummary,
	ScannedEventRow,
} from '../../../nodes/core/api/client';
import type { EsiEventRow, Lease } from '../../../nodes/core/api/schemas';
import { EsiLeapError } from '../../../nodes/core/errors';
import { compileSelection } from '../../../nodes/core/events/filters';
import type { EsiLeapEvent, ShortEventType } from '../../../nodes/core/events/types';
import {
	FailureStreak,
	HistoryPoller,
	PollScheduler,
	serverFilters,
	type HistoryClient,
	type HistoryPollerOptions,
	type StoredCursor,
} from '../../../nodes/core/history/poller';
import { timerClock } from '../../helpers/clock';

const LEASE = '57a46b26-b83b-4b10-a983-7179a79b3190';

/** An in-memory ESI events table with ESI's filter semantics (spec §3.4). */
class FakeEsi implements HistoryClient {
	rows: Array<EsiEventRow & { hidden?: boolean }> = [];
	queries: EventListFilters[] = [];
	leaseLookups: string[] = [];
	failNext = 0;
	missingLeases = new Set<string>();
	/** ESI gives no order: when set, every answer comes in a fresh random order. */
	shuffle?: () => number;

	add(count: number, fields: Partial<EsiEventRow> & { hidden?: boolean } = {}): number[] {
		const ids: number[] = [];
		for (let index = 0; index < count; index++) {
			const id = this.rows.length + 1;
			ids.push(id);
			this.rows.push({
				id,
				event_type: 'esi_leap.lease.fulfill.end',
				event_time: '2026-11-24T17:25:49.806336',
				object_type: 'lease',
				object_uuid: LEASE,
				resource_type: 'dummy_node',
				resource_uuid: 'node-1',
				lessee_id: 'lessee',
				owner_id: 'owner',
				...fields,
			});
		}
		return ids;
	}

	reveal(ids: number[]) {
		for (const row of this.rows) if (ids.includes(row.id)) row.hidden = false;
	}

	async listEvents(filters: EventListFilters = {}): Promise<EsiEventRow[]> {
		this.queries.push(filters);
		if (this.failNext > 0) {
			this.failNext--;
			throw new EsiLeapError('server', 'Internal server error (ESI Leap 503 on GET /v1/events)', {
				status: 503,
			});
		}
		return this.rows
			.filter((row) => !row.hidden)
			.filter((row) => !filters.lastEventId || row.id > filters.lastEventId)
			.filter((row) => !filters.eventType || row.event_type === filters.eventType)
			.filter((row) => !filters.resourceType || row.resource_type === filters.resourceType)
			.filter((row) => !filters.resourceUuid || row.resource_uuid === filters.resourceUuid)
			.map((row) => {
				const copy = { ...row };
				delete copy.hidden;
				return copy;
			});
	}

	async scanEvents(
		filters: EventListFilters,
		visit: (row: ScannedEventRow) => void,
	): Promise<EventScanSummary> {
		const rows = await this.listEvents(filters);
		if (this.shuffle) {
			for (let index = rows.length - 1; index > 0; index--) {
				const other = Math.floor(this.shuffle() * (index + 1));
				[rows[index], rows[other]] = [rows[other], rows[index]];
			}
		}
		rows.forEach((value, position) => visit({ id: value.id, position, value }));
		const newestId = rows.reduce<number | undefined>(
			(max, row) => (max === undefined || row.id > max ? row.id : max),
			undefined,
		);
		return { count: rows.length, newestId };
	}

	async getLease(uuid: string): Promise<Lease> {
		this.leaseLookups.push(uuid);
		if (this.missingLeases.has(uuid)) {
			throw new EsiLeapError('not_found', `Lease ${uuid} not found (ESI Leap 404)`, {
				status: 404,
			});
		}
		return {
			uuid,
			name: 'lease-a',
			project_id: 'lessee',
			project: 'esi-lessee',
			owner_id: 'owner',
			owner: 'esi-owner',
			resource_type: 'dummy_node',
			resource_uuid: 'node-1',
			resource_class: 'dummy',
			resource_properties: { cpu_arch: 'x86_64' },
			resource: 'node-1',
			start_time: '2026-11-24T17:00:00',
			fulfill_time: '2026-11-24T17:25:49.806336',
			expire_time: null,
			end_time: '2026-11-25T17:00:00',
			status: 'active',
			properties: { ticket: 'T-1' },
			purpose: null,
			offer_uuid: null,
			parent_lease_uuid: null,
		} as Lease;
	}
}

interface Harness {
	esi: FakeEsi;
	stored: { value?: StoredCursor };
	batches: EsiLeapEvent[][];
	storedAtDelivery: number[];
	clock: { now: number };
	poller: HistoryPoller;
}

function harness(
	overrides: Partial<HistoryPollerOptions> & {
		events?: ShortEventType[];
		resourceType?: string;
		resourceUuid?: string;
		esi?: FakeEsi;
		stored?: { value?: StoredCursor };
	} = {},
): Harness {
	const esi = overrides.esi ?? new FakeEsi();
	const stored = overrides.stored ?? {};
	const batches: EsiLeapEvent[][] = [];
	const storedAtDelivery: number[] = [];
	const clock = { now: 1_000_000 };
	const events = overrides.events ?? ['fulfill.end', 'delete.end'];
	const poller = new HistoryPoller({
		client: esi,
		store: {
			read: () => stored.value,
			write: (value) => {
				stored.value = structuredClone(value);
			},
		},
		start: { kind: 'now' },
		selection: {
			events,
			select: compileSelection({ events }),
			resourceType: overrides.resourceType,
			resourceUuid: overrides.resourceUuid,
		},
		now: () => clock.now,
		deliver: (batch) => {
			storedAtDelivery.push(stored.value?.state.cursor ?? -1);
			batches.push(batch);
		},
		...overrides,
	});
	return { esi, stored, batches, storedAtDelivery, clock, poller };
}

const emittedIds = (batches: EsiLeapEvent[][]) => batches.flat().map((event) => event.event_id);

describe('HistoryPoller', () => {
	it('starts "now" at the newest visible id and emits nothing for existing history', async () => {
		const h = harness();
		h.esi.add(5);
		const report = await h.poller.poll();
		expect(report.emitted).toBe(0);
		expect(h.batches).toEqual([]);
		expect(h.stored.value).toEqual({ origin: 'now', state: { version: 1, cursor: 5, gaps: [] } });
	});

	it('skips a row ESI returned malformed, with a warning, and moves the cursor past it', async () => {
		const warnings: Array<Record<string, unknown> | undefined> = [];
		const logger = { debug: () => undefined, info: () => undefined, error: () => undefined };
		const h = harness({ logger: { ...logger, warn: (_message, meta) => warnings.push(meta) } });
		await h.poller.initialize();
		h.esi.add(1);
		h.esi.add(1, { event_time: 42 as unknown as string });
		h.esi.add(1);
		const report = await h.poller.poll();
		expect(emittedIds(h.batches)).toEqual([1, 3]);
		expect(report.cursor).toBe(3);
		expect(warnings).toEqual([expect.objectContaining({ eventId: 2 })]);
		await h.poller.poll();
		expect(warnings).toHaveLength(1);
	});

	it('emits each new event once, with the cursor stored before the batch is delivered', async () => {
		const h = harness();
		h.esi.add(2);
		await h.poller.initialize();
		h.esi.add(3);
		await h.poller.poll();
		await h.poller.poll();
		expect(emittedIds(h.batches)).toEqual([3, 4, 5]);
		expect(h.batches).toHaveLength(1);
		expect(h.storedAtDelivery).toEqual([5]);
		expect(h.batches[0][0]).toMatchObject({
			source: 'history',
			event: 'fulfill.end',
			event_id: 3,
			lease_uuid: LEASE,
			timestamp: '2026-11-24T17:25:49.806336Z',
			lease: null,
		});
		expect(h.esi.queries.at(-1)).toEqual({ lastEventId: 5 });
	});

	it('starts after a given id, or from the beginning, without asking ESI for the newest id', async () => {
		const after = harness({ start: { kind: 'afterEventId', eventId: 3 } });
		after.esi.add(5);
		await after.poller.poll();
		expect(emittedIds(after.batches)).toEqual([4, 5]);
		expect(after.esi.queries).toEqual([{ lastEventId: 3 }]);

		const beginning = harness({ start: { kind: 'beginning' } });
		beginning.esi.add(2);
		await beginning.poller.poll();
		expect(emittedIds(beginning.batches)).toEqual([1, 2]);
		expect(beginning.esi.queries).toEqual([{}]);
	});

	it('starts over when the start position changed since the cursor was stored', async () => {
		const stored = {
			value: { origin: 'now', state: { version: 1 as const, cursor: 4, gaps: [] } },
		};
		const h = harness({ start: { kind: 'afterEventId', eventId: 1 }, stored });
		h.esi.add(4);
		await h.poller.poll();
		expect(emittedIds(h.batches)).toEqual([2, 3, 4]);
		expect(h.stored.value?.origin).toBe('after:1');
	});

	it('leaves the stored cursor untouched when ESI fails, then catches up', async () => {
		const h = harness();
		await h.poller.initialize();
		h.esi.add(2);
		h.esi.failNext = 1;
		const before = structuredClone(h.stored.value);
		await expect(h.poller.poll()).rejects.toThrow(/503/);
		expect(h.stored.value).toEqual(before);
		await h.poller.poll();
		expect(emittedIds(h.batches)).toEqual([1, 2]);
	});

	it('applies event types, resource and payload filters, sending ESI only what it supports', async () => {
		expect(serverFilters({ events: ['delete.end'], select: () => true })).toEqual({
			eventType: 'esi_leap.lease.delete.end',
		});
		expect(
			serverFilters({
				events: ['fulfill.end', 'delete.end'],
				select: () => true,
				resourceType: 'dummy_node',
				resourceUuid: 'n-2',
			}),
		).toEqual({ resourceType: 'dummy_node', resourceUuid: 'n-2' });
		// ESI would default resource_type to ironic_node: a UUID alone is filtered locally.
		expect(
			serverFilters({ events: ['fulfill.end'], select: () => true, resourceUuid: 'n-2' }),
		).toEqual({
			eventType: 'esi_leap.lease.fulfill.end',
		});

		const h = harness({ events: ['fulfill.end', 'delete.end'], resourceUuid: 'node-2' });
		await h.poller.initialize();
		h.esi.add(1, { resource_uuid: 'node-2' });
		h.esi.add(1, { resource_uuid: 'node-3' });
		h.esi.add(1, { resource_uuid: 'node-2', event_type: 'esi_leap.lease.fulfill.start' });
		h.esi.add(1, { resource_uuid: 'node-2', event_type: 'esi_leap.lease.delete.end' });
		h.esi.add(1, { resource_uuid: 'node-2', event_type: 'esi_leap.offer.create.end' });
		await h.poller.poll();
		expect(emittedIds(h.batches)).toEqual([1, 4]);
		expect(h.stored.value?.state.cursor).toBe(5);

		const payload = harness({
			events: ['fulfill.end'],
			leaseDetails: true,
			selection: {
				events: ['fulfill.end'],
				select: compileSelection({
					events: ['fulfill.end'],
					filters: [{ path: 'lease.properties.ticket', operator: 'equals', value: 'T-2' }],
				}),
			},
		});
		await payload.poller.initialize();
		payload.esi.add(1);
		await payload.poller.poll();
		expect(payload.batches).toEqual([]);
		expect(payload.stored.value?.state.cursor).toBe(1);
	});

	it('adds lease details once per lease, and keeps the event when the lookup fails', async () => {
		const h = harness({ leaseDetails: true });
		await h.poller.initialize();
		h.esi.add(2);
		h.esi.add(1, { object_uuid: 'gone-lease' });
		h.esi.missingLeases.add('gone-lease');
		await h.poller.poll();
		const [first, second, third] = h.batches[0];
		expect(first.lease).toMatchObject({
			uuid: LEASE,
			status: 'active',
			properties: { ticket: 'T-1' },
		});
		expect(first.node).toMatchObject({ name: 'node-1', properties: { cpu_arch: 'x86_64' } });
		expect(second.lease?.uuid).toBe(LEASE);
		expect(third).toMatchObject({
			event_id: 3,
			lease: null,
			lease_error: expect.stringMatching(/not found/),
		});
		expect(h.esi.leaseLookups.sort()).toEqual([LEASE, 'gone-lease'].sort());
	});

	it('polls the same whatever order ESI answers in: batches, truncation, gaps, late arrivals, abandoned gaps', async () => {
		/** One scripted run: a backlog, hidden ids revealed later or never, time passing. */
		async function run(shuffle?: () => number) {
			const h = harness({
				start: { kind: 'beginning' },
				limits: { maxEventsPerPoll: 7, graceMs: 60_000, gapLookback: 20 },
			});
			h.esi.shuffle = shuffle;
			const hidden = [3, 4, 9, 15, 16, 17, 40, 41];
			h.esi.add(60);
			h.esi.rows.forEach((row) => (row.hidden = hidden.includes(row.id)));
			const reports = [];
			for (let poll = 0; poll < 14; poll++) {
				if (poll === 3) h.esi.reveal([4, 16]);
				if (poll === 8) h.esi.reveal([40]);
				if (poll === 12) h.esi.reveal([41]);
				h.clock.now += 10_000;
				const report = await h.poller.poll();
				reports.push({ ...report, gaps: h.stored.value?.state.gaps });
			}
			return { reports, batches: h.batches.map((batch) => batch.map((event) => event.event_id)) };
		}

		const ordered = await run();
		// The run covers what matters: truncated polls, late arrivals, gaps given up on.
		expect(ordered.reports.some((report) => report.truncated)).toBe(true);
		expect(ordered.reports.some((report) => report.lateArrivals > 0)).toBe(true);
		expect(ordered.reports.some((report) => report.abandonedGaps.length > 0)).toBe(true);
		expect(ordered.reports.every((report) => report.kept <= 8 + 8)).toBe(true);
		const emitted = ordered.batches.flat();
		expect(new Set(emitted).size).toBe(emitted.length);
		expect(emitted).toEqual(expect.arrayContaining([4, 16, 40]));
		expect(emitted).not.toContain(41);

		for (const seed of [1, 2, 3, 4, 5]) {
			let state = seed * 2654435761;
			const shuffle = () => {
				state = (state * 1103515245 + 12345) % 2 ** 31;
				return state / 2 ** 31;
			};
			expect(await run(shuffle)).toEqual(ordered);
		}
	});

	it('emits an event committed late (out of order) once, within the grace window', async () => {
		const h = harness({ limits: { graceMs: 60_000 } });
		await h.poller.initialize();
		h.esi.add(1);
		const [late] = h.esi.add(1, { hidden: true });
		h.esi.add(1);
		await h.poller.poll();
		expect(emittedIds(h.batches)).toEqual([1, 3]);
		expect(h.stored.value?.state.gaps).toEqual([{ from: 2, to: 2, seenAt: 1_000_000 }]);

		h.clock.now += 30_000;
		h.esi.reveal([late]);
		await h.poller.poll();
		await h.poller.poll();
		expect(emittedIds(h.batches)).toEqual([1, 3, 2]);
		expect(h.stored.value?.state).toEqual({ version: 1, cursor: 3, gaps: [] });
		// Re-read from below the gap while it is open, from the cursor once it is filled.
		expect(h.esi.queries.slice(-2)).toEqual([{ lastEventId: 1 }, { lastEventId: 3 }]);
	});

	it('gives up on a missing id after the grace window and never emits it', async () => {
		const h = harness({ limits: { graceMs: 60_000 } });
		await h.poller.initialize();
		const [missing] = h.esi.add(1, { hidden: true });
		h.esi.add(1);
		await h.poller.poll();
		h.clock.now += 60_001;
		const report = await h.poller.poll();
		expect(report.abandonedGaps).toEqual([{ from: 1, to: 1, seenAt: 1_000_000 }]);
		h.esi.reveal([missing]);
		await h.poller.poll();
		expect(emittedIds(h.batches)).toEqual([2]);
	});

	it('takes at most maxEventsPerPoll new events per poll and drains the rest later', async () => {
		const h = harness({ start: { kind: 'beginning' }, limits: { maxEventsPerPoll: 4 } });
		h.esi.add(10);
		const first = await h.poller.poll();
		expect(first).toMatchObject({ truncated: true, emitted: 4, cursor: 4 });
		await h.poller.poll();
		const last = await h.poller.poll();
		expect(last).toMatchObject({ truncated: false, emitted: 2, cursor: 10 });
		expect(emittedIds(h.batches)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
	});

	it('discards a poll that finishes after stop: nothing emitted, cursor unchanged', async () => {
		let stopped = false;
		const h = harness({ isStopped: () => stopped });
		await h.poller.initialize();
		h.esi.add(2);
		stopped = true;
		const report = await h.poller.poll();
		expect(report.discarded).toBe(true);
		expect(h.batches).toEqual([]);
		expect(h.stored.value?.state.cursor).toBe(0);
	});

	it('finds the newest matching event for a manual test without touching the store', async () => {
		const h = harness({ events: ['delete.end'] });
		h.esi.add(1, { event_type: 'esi_leap.lease.delete.end', resource_uuid: 'older' });
		h.esi.add(1, { event_type: 'esi_leap.lease.delete.end', resource_uuid: 'newest' });
		h.esi.add(2);
		const found = await h.poller.findNewestMatching();
		expect(found.event).toMatchObject({ event_id: 2, resource_uuid: 'newest' });
		expect(found.searched).toBe(2);
		expect(h.stored.value).toBeUndefined();

		const none = harness({ events: ['fulfill.error'] });
		none.esi.add(3);
		expect(await none.poller.findNewestMatching()).toEqual({ searched: 0 });
	});
});

describe('FailureStreak', () => {
	it('reports the 3rd consecutive failure, then every 10th, and resets on success', () => {
		const reported: number[] = [];
		const streak = new FailureStreak({ report: (_error, count) => reported.push(count) });
		for (let poll = 0; poll < 25; poll++) streak.failed(new Error('down'));
		expect(reported).toEqual([3, 13, 23]);
		streak.succeeded();
		expect(streak.consecutiveFailures).toBe(0);
		streak.failed(new Error('down'));
		streak.failed(new Error('down'));
		expect(reported).toEqual([3, 13, 23]);
	});
});

describe('PollScheduler', () => {
	afterEach(() => {
		vi.useRealTimers();
	});

	it('never overlaps polls: the next one is timed from the end of the previous', async () => {
		vi.useFakeTimers();
		let running = 0;
		let maxRunning = 0;
		const starts: number[] = [];
		const scheduler = new PollScheduler({
			clock: timerClock,
			intervalMs: 100,
			run: async () => {
				running++;
				maxRunning = Math.max(maxRunning, running);
				starts.push(Date.now());
				await new Promise((resolve) => setTimeout(resolve, 250));
				running--;
			},
		});
		const t0 = Date.now();
		scheduler.start();
		await vi.advanceTimersByTimeAsync(1_000);
		expect(maxRunning).toBe(1);
		expect(starts.map((start) => start - t0)).toEqual([0, 350, 700]);
		await scheduler.stop(0);
	});

	it('follows a poll that left a backlog without waiting a full interval', async () => {
		vi.useFakeTimers();
		const backlog = ['more', 'more', undefined, undefined];
		const starts: number[] = [];
		const scheduler = new PollScheduler({
			clock: timerClock,
			intervalMs: 1_000,
			catchUpDelayMs: 10,
			run: async () => {
				starts.push(Date.now());
				return backlog.shift();
			},
		});
		const t0 = Date.now();
		scheduler.start();
		await vi.advanceTimersByTimeAsync(2_100);
		expect(starts.map((start) => start - t0)).toEqual([0, 10, 20, 1_020, 2_020]);
		await scheduler.stop(0);
	});

	it('stop() clears the timer, waits for the poll in flight and leaves no timer behind', async () => {
		vi.useFakeTimers();
		let finished = 0;
		const scheduler = new PollScheduler({
			clock: timerClock,
			intervalMs: 50,
			run: async () => {
				await new Promise((resolve) => setTimeout(resolve, 200));
				finished++;
			},
		});
		scheduler.start();
		await vi.advanceTimersByTimeAsync(10);
		const stopping = scheduler.stop(1_000);
		await vi.advanceTimersByTimeAsync(200);
		expect(await stopping).toBe(true);
		expect(finished).toBe(1);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('stop() gives up waiting after its bound, and no poll is scheduled afterwards', async () => {
		vi.useFakeTimers();
		let runs = 0;
		const scheduler = new PollScheduler({
			clock: timerClock,
			intervalMs: 50,
			run: async () => {
				runs++;
				await new Promise((resolve) => setTimeout(resolve, 5_000));
			},
		});
		scheduler.start();
		await vi.advanceTimersByTimeAsync(1);
		const stopping = scheduler.stop(100);
		await vi.advanceTimersByTimeAsync(100);
		expect(await stopping).toBe(false);
		await vi.advanceTimersByTimeAsync(10_000);
		expect(runs).toBe(1);
		expect(vi.getTimerCount()).toBe(0);
	});
});
