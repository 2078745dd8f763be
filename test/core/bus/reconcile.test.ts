import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

import type {
	EventListFilters,
	EventScanSummary,
	ScannedEventRow,
} from '../../../nodes/core/api/client';
import type { EsiEventRow, Lease } from '../../../nodes/core/api/schemas';
import { decodeNotification } from '../../../nodes/core/events/envelope';
import { compileSelection } from '../../../nodes/core/events/filters';
import { normalizeBusNotification } from '../../../nodes/core/events/normalize';
import type {
	EsiLeapEvent,
	EsiLeapEventType,
	ShortEventType,
} from '../../../nodes/core/events/types';
import { SHORT_EVENT_TYPES } from '../../../nodes/core/events/types';
import {
	HistoryPoller,
	PollScheduler,
	type HistoryClient,
} from '../../../nodes/core/history/poller';
import {
	busMatchKey,
	ChannelLedger,
	emptyLedger,
	parseLedger,
	Reconciler,
	rowMatchKey,
	type LedgerLimits,
	type LedgerState,
} from '../../../nodes/core/bus/reconcile';
import { loadCapture, REAL_FIXTURES } from '../../helpers/fixtures';
import { seededRandom } from '../../helpers/seededRandom';
import { timerClock } from '../../helpers/clock';

const SETTLE = 60_000;
const LIMITS: Partial<LedgerLimits> = { settleMs: SETTLE, graceMs: 120_000 };

/** ESI's events table for the reconciler's HistoryPoller (id > last_event_id, no order). */
class FakeEvents implements HistoryClient {
	rows: EsiEventRow[] = [];
	failNext = 0;
	scans = 0;

	async scanEvents(
		filters: EventListFilters,
		visit: (row: ScannedEventRow) => void,
	): Promise<EventScanSummary> {
		this.scans++;
		if (this.failNext > 0) {
			this.failNext--;
			throw new Error('ESI Leap 503');
		}
		const rows = this.rows.filter((row) => !filters.lastEventId || row.id > filters.lastEventId);
		rows.forEach((value, position) => visit({ id: value.id, position, value }));
		const newestId = rows.length ? Math.max(...rows.map((row) => row.id)) : undefined;
		return { count: rows.length, newestId };
	}

	async getLease(uuid: string): Promise<Lease> {
		return {
			uuid,
			name: `lease-${uuid}`,
			project_id: 'lessee',
			owner_id: 'owner',
			resource_type: 'dummy_node',
			resource_uuid: 'node-1',
			resource: 'dummy-node-1',
			resource_properties: {},
			start_time: '2026-11-24T17:00:00',
			end_time: '2026-11-25T17:00:00',
			fulfill_time: null,
			expire_time: null,
			status: 'active',
			properties: {},
			purpose: null,
			offer_uuid: null,
			parent_lease_uuid: null,
		} as unknown as Lease;
	}
}

interface Fields {
	type: ShortEventType;
	lease: string;
	project?: string;
}

function row(id: number, fields: Fields): EsiEventRow {
	return {
		id,
		event_type: `esi_leap.lease.${fields.type}`,
		event_time: '2026-11-24T17:25:49.806336',
		object_type: 'lease',
		object_uuid: fields.lease,
		resource_type: 'dummy_node',
		resource_uuid: 'node-1',
		lessee_id: fields.project ?? 'lessee',
		owner_id: 'owner',
	};
}

function busItem(messageId: string, fields: Fields): EsiLeapEvent {
	const [action, phase] = fields.type.split('.') as [EsiLeapEvent['action'], EsiLeapEvent['phase']];
	return {
		event_type: `esi_leap.lease.${fields.type}` as EsiLeapEventType,
		event: fields.type,
		action,
		phase,
		priority: phase === 'error' ? 'ERROR' : 'INFO',
		source: 'bus',
		event_id: null,
		message_id: messageId,
		timestamp: '2026-11-24T17:25:49.8Z',
		publisher_id: 'esi-leap-manager.test',
		lease_uuid: fields.lease,
		resource_type: 'dummy_node',
		resource_uuid: 'node-1',
		project_id: fields.project ?? 'lessee',
		owner_id: 'owner',
		lease: null,
		node: null,
	};
}

/** A reconciler over FakeEvents whose static data is saved only when it emits, like n8n. */
function harness(
	options: {
		events?: ShortEventType[];
		saved?: Record<string, unknown>;
		limits?: Partial<LedgerLimits>;
	} = {},
) {
	const warnings: string[] = [];
	const esi = new FakeEvents();
	const clock = { now: 1_000_000 };
	const live: Record<string, unknown> = structuredClone(options.saved ?? {});
	const emitted: EsiLeapEvent[] = [];
	let saved = structuredClone(live);
	const save = () => {
		saved = structuredClone(live);
	};
	const build = (from: Record<string, unknown>) => {
		for (const key of Object.keys(live)) delete live[key];
		Object.assign(live, structuredClone(from));
		const events = options.events ?? [...SHORT_EVENT_TYPES];
		const poller = new HistoryPoller({
			client: esi,
			store: { read: () => live.cursor, write: (value) => (live.cursor = value) },
			start: { kind: 'beginning' },
			selection: { events, select: compileSelection({ events, filters: [] }) },
			// The reconciler reads through advance(); poll() and its deliver are not used.
			deliver: () => undefined,
			now: () => clock.now,
		});
		return new Reconciler({
			history: poller,
			store: { read: () => live.ledger, write: (state) => (live.ledger = state) },
			select: compileSelection({ events, filters: [] }),
			events,
			deliver: (items) => {
				save();
				emitted.push(...items);
			},
			limits: { ...LIMITS, ...options.limits },
			now: () => clock.now,
			logger: {
				debug: () => undefined,
				info: () => undefined,
				warn: (message) => warnings.push(message),
				error: () => undefined,
			},
		});
	};
	const state = { reconciler: build(live) };
	return {
		esi,
		clock,
		emitted,
		live,
		warnings,
		get reconciler() {
			return state.reconciler;
		},
		/** Bus side as the trigger does it: ledger first, then the emit (which saves). */
		bus(item: EsiLeapEvent): 'deliver' | 'skip' {
			const verdict = state.reconciler.admitBus(item);
			if (verdict === 'deliver') save();
			return verdict;
		},
		/** n8n restarts: the node starts again from the static data n8n last saved. */
		restart() {
			state.reconciler = build(saved);
		},
	};
}

describe('match key', () => {
	it('is the same for a captured bus message and its captured event row (lease fulfill.end)', () => {
		const capture = loadCapture('amqp-lease-fulfill-end');
		const decoded = decodeNotification(capture.body);
		if (decoded.kind !== 'lease') throw new Error(`capture decoded as ${decoded.kind}`);
		const item = normalizeBusNotification(decoded.notification);
		const body = JSON.parse(
			JSON.parse(readFileSync(join(REAL_FIXTURES, 'rest-40-events-all-admin.json'), 'utf8'))
				.response.body_text,
		) as { events: EsiEventRow[] };
		const rows = body.events.filter((candidate) => rowMatchKey(candidate) === busMatchKey(item));
		// Only row 20 is that lease's fulfill.end; its fulfill.start (19) and delete.* differ.
		expect(rows.map((candidate) => candidate.id)).toEqual([20]);
	});

	it('differs when any shared field differs', () => {
		const base = busMatchKey(busItem('m', { type: 'fulfill.error', lease: 'a' }));
		expect(busMatchKey(busItem('m', { type: 'fulfill.start', lease: 'a' }))).not.toBe(base);
		expect(busMatchKey(busItem('m', { type: 'fulfill.error', lease: 'b' }))).not.toBe(base);
		expect(busMatchKey(busItem('m', { type: 'fulfill.error', lease: 'a', project: 'p' }))).not.toBe(
			base,
		);
		expect(rowMatchKey(row(1, { type: 'fulfill.error', lease: 'a' }))).toBe(base);
	});
});

describe('Reconciler: one execution per ESI event', () => {
	const LEASE = { type: 'fulfill.end' as const, lease: 'lease-1' };

	it('bus first: the row pairs with the bus message and nothing is emitted from the history', async () => {
		const h = harness();
		expect(h.bus(busItem('m1', LEASE))).toBe('deliver');
		h.esi.rows.push(row(1, LEASE));
		const report = await h.reconciler.pass();
		expect(report).toMatchObject({ rows: 1, pairedWithBus: 1, pending: 0, emitted: 0 });
		h.clock.now += SETTLE;
		await h.reconciler.pass();
		expect(h.emitted).toEqual([]);
	});

	it('row first, bus within the settle time: the bus executes it, the history does not', async () => {
		const h = harness();
		h.esi.rows.push(row(1, LEASE));
		expect(await h.reconciler.pass()).toMatchObject({ pending: 1, emitted: 0 });
		h.clock.now += SETTLE - 1;
		expect(h.bus(busItem('m1', LEASE))).toBe('deliver');
		h.clock.now += 10 * SETTLE;
		expect(await h.reconciler.pass()).toMatchObject({ pending: 0, emitted: 0 });
		expect(h.emitted).toEqual([]);
	});

	it('a dropped notification is emitted once from the history, with lease and node fields', async () => {
		const h = harness();
		h.esi.rows.push(row(7, LEASE));
		await h.reconciler.pass();
		expect(h.emitted).toEqual([]);
		expect(h.reconciler.nextDueInMs()).toBe(SETTLE);
		h.clock.now += SETTLE;
		expect(await h.reconciler.pass()).toMatchObject({ decidedByHistory: 1, emitted: 1 });
		expect(h.emitted).toHaveLength(1);
		expect(h.emitted[0]).toMatchObject({
			source: 'history',
			event_id: 7,
			message_id: null,
			lease_uuid: 'lease-1',
			lease: { uuid: 'lease-1', name: 'lease-lease-1', status: 'active' },
			node: { uuid: 'node-1', name: 'dummy-node-1' },
		});
		await h.reconciler.pass();
		expect(h.emitted).toHaveLength(1);
	});

	it('the bus message that arrives after its row was emitted is skipped, also after a restart', async () => {
		const h = harness();
		h.esi.rows.push(row(1, LEASE));
		await h.reconciler.pass();
		h.clock.now += SETTLE;
		await h.reconciler.pass();
		expect(h.emitted).toHaveLength(1);
		h.restart();
		expect(h.bus(busItem('late', LEASE))).toBe('skip');
		// Its redelivery (same message id) too.
		expect(h.bus(busItem('late', LEASE))).toBe('skip');
		// The next real one of that key is a new event.
		expect(h.bus(busItem('next', LEASE))).toBe('deliver');
	});

	it('a broker redelivery or a retry (same message id) is not a second event', async () => {
		const h = harness();
		expect(h.bus(busItem('m1', LEASE))).toBe('deliver');
		expect(h.bus(busItem('m1', LEASE))).toBe('deliver');
		h.esi.rows.push(row(1, LEASE), row(2, LEASE));
		await h.reconciler.pass();
		h.clock.now += SETTLE;
		await h.reconciler.pass();
		// Row 1 pairs with m1; row 2 had no bus message of its own.
		expect(h.emitted.map((item) => item.event_id)).toEqual([2]);
	});

	describe('repeated fulfill.error for one lease (two bus messages, two rows, in order)', () => {
		const ERROR = { type: 'fulfill.error' as const, lease: 'stuck' };
		const orders: Array<[string, string[]]> = [
			['bus, row, bus, row', ['b1', 'r1', 'b2', 'r2']],
			['row, row, bus, bus', ['r1', 'r2', 'b1', 'b2']],
			['bus, bus, row, row', ['b1', 'b2', 'r1', 'r2']],
			['row, bus, row, bus', ['r1', 'b1', 'r2', 'b2']],
		];
		for (const [name, steps] of orders) {
			it(`${name}: two executions, all from the bus`, async () => {
				const h = harness();
				let executions = 0;
				for (const step of steps) {
					if (step.startsWith('b')) {
						if (h.bus(busItem(step, ERROR)) === 'deliver') executions++;
					} else {
						h.esi.rows.push(row(Number(step.slice(1)), ERROR));
						await h.reconciler.pass();
					}
					h.clock.now += 1000;
				}
				h.clock.now += SETTLE;
				await h.reconciler.pass();
				expect(executions + h.emitted.length).toBe(2);
				expect(h.emitted).toEqual([]);
			});
		}

		it('the first notification dropped, the second late: one from the history, one from the bus', async () => {
			const h = harness();
			h.esi.rows.push(row(1, ERROR));
			await h.reconciler.pass();
			h.clock.now += SETTLE;
			await h.reconciler.pass();
			expect(h.emitted.map((item) => item.event_id)).toEqual([1]);
			h.esi.rows.push(row(2, ERROR));
			await h.reconciler.pass();
			// b2 arrives while row 2 waits: in order, it pairs with the oldest unpaired row of the
			// key, row 1 (already emitted), so it is skipped and row 2 is emitted from the history.
			expect(h.bus(busItem('b2', ERROR))).toBe('skip');
			h.clock.now += SETTLE;
			await h.reconciler.pass();
			expect(h.emitted.map((item) => item.event_id)).toEqual([1, 2]);
		});
	});

	it('only the chosen event types take part', async () => {
		const h = harness({ events: ['fulfill.end'] });
		expect(h.reconciler.admitBus(busItem('m', { type: 'delete.end', lease: 'x' }))).toBe('deliver');
		h.esi.rows.push(row(1, { type: 'delete.end', lease: 'x' }));
		await h.reconciler.pass();
		expect(h.reconciler.ledger.state).toMatchObject({ bus: [], pending: [], seen: [] });
	});

	it('a failed history read changes nothing; the next pass reads the same rows', async () => {
		const h = harness();
		h.bus(busItem('m1', LEASE));
		h.esi.rows.push(row(1, LEASE));
		h.esi.failNext = 1;
		await expect(h.reconciler.pass()).rejects.toThrow('503');
		expect(h.reconciler.ledger.state.bus).toHaveLength(1);
		expect(await h.reconciler.pass()).toMatchObject({ rows: 1, pairedWithBus: 1 });
	});
});

describe('ChannelLedger bounds', () => {
	it('drops a bus mark once a complete pass started settle + grace after it (row never visible)', () => {
		const ledger = new ChannelLedger(emptyLedger(), { settleMs: 10, graceMs: 20 });
		ledger.admitBus('foreign', 'k', 100);
		ledger.completePass(129);
		ledger.prune(129);
		expect(ledger.state.bus).toHaveLength(1);
		ledger.completePass(130);
		ledger.prune(130);
		expect(ledger.state.bus).toHaveLength(0);
	});

	it('keeps bus marks while the history cannot be read, however long', () => {
		const ledger = new ChannelLedger(emptyLedger(), { settleMs: 10, graceMs: 20 });
		ledger.admitBus('m', 'k', 100);
		ledger.prune(100 + 365 * 86_400_000);
		expect(ledger.state.bus).toHaveLength(1);
	});

	it('forgets history marks after their retention and keeps every list within its bound', () => {
		const ledger = new ChannelLedger(emptyLedger(), {
			settleMs: 0,
			historyRetentionMs: 1000,
			maxHistoryMarks: 3,
			maxSeen: 4,
			maxBusMarks: 2,
		});
		ledger.admitRows(
			Array.from({ length: 5 }, (_, index) =>
				row(index + 1, { type: 'fulfill.end', lease: `l${index}` }),
			),
			0,
		);
		for (const entry of ledger.due(0)) ledger.resolveByHistory(entry.row.id, 0);
		for (let index = 0; index < 6; index++) ledger.admitBus(`m${index}`, `other${index}`, 10);
		const report = ledger.prune(10);
		expect(report.historyMarksEvicted).toBe(2);
		expect(ledger.state.history.map((mark) => mark.eventId)).toEqual([3, 4, 5]);
		expect(ledger.state.bus.map((mark) => mark.messageId)).toEqual(['m4', 'm5']);
		expect(ledger.state.seen).toHaveLength(4);
		ledger.prune(1000);
		expect(ledger.state.history).toEqual([]);
	});

	it('reads back garbage as an empty ledger and keeps valid entries of a partly broken one', () => {
		expect(parseLedger(undefined)).toEqual(emptyLedger());
		expect(parseLedger({ version: 2 })).toEqual(emptyLedger());
		const state = parseLedger({
			version: 1,
			bus: [{ key: 'k', messageId: 'm', at: 1 }, { key: 3 }, null],
			history: 'nope',
			seen: [],
			pending: [],
			lastCompletePassAt: 'x',
		});
		expect(state).toEqual({ ...emptyLedger(), bus: [{ key: 'k', messageId: 'm', at: 1 }] });
	});

	it('warns when rows run from the history are forgotten early because of the bound', async () => {
		const h = harness({ limits: { maxHistoryMarks: 1 } });
		h.esi.rows.push(
			row(1, { type: 'fulfill.end', lease: 'a' }),
			row(2, { type: 'fulfill.end', lease: 'b' }),
		);
		await h.reconciler.pass();
		expect(h.warnings).toEqual([]);
		h.clock.now += SETTLE;
		await h.reconciler.pass();
		expect(h.warnings).toHaveLength(1);
		expect(h.warnings[0]).toMatch(/late bus copy of those would run again/);
		expect(h.reconciler.ledger.state.history.map((mark) => mark.eventId)).toEqual([2]);
	});

	it('stops reading new rows while too many wait to settle', async () => {
		const h = harness();
		(h.reconciler.ledger.limits as LedgerLimits).maxPending = 2;
		h.esi.rows.push(
			row(1, { type: 'fulfill.end', lease: 'a' }),
			row(2, { type: 'fulfill.end', lease: 'b' }),
		);
		await h.reconciler.pass();
		h.esi.rows.push(row(3, { type: 'fulfill.end', lease: 'c' }));
		const scans = h.esi.scans;
		expect(await h.reconciler.pass()).toMatchObject({
			heldBack: true,
			truncated: false,
			pending: 2,
		});
		expect(h.esi.scans).toBe(scans);
	});
});

/**
 * The model: ESI emits events (a row always, a bus message unless the notifier drops it); the
 * bus delivers in any order, sometimes twice (redelivery); history passes, clock steps and n8n
 * restarts (back to the static data saved at the last emit) interleave at random. A perfect
 * observer executes each event once, so executions per match key must equal events per key.
 */
describe('Reconciler against a perfect observer (random interleavings)', () => {
	const KEYS: Fields[] = [
		{ type: 'fulfill.error', lease: 'stuck' },
		{ type: 'fulfill.start', lease: 'stuck' },
		{ type: 'fulfill.end', lease: 'a' },
		{ type: 'delete.end', lease: 'a' },
		{ type: 'fulfill.end', lease: 'b' },
	];

	async function scenario(seed: number, restarts: boolean) {
		const random = seededRandom(seed);
		const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
		const h = harness();
		const events: Fields[] = [];
		const inFlight: Array<{ messageId: string; fields: Fields }> = [];
		const busExecutions: string[] = [];
		let skipped = 0;
		const executedKeys = new Map<string, number>();
		const count = (key: string) => executedKeys.set(key, (executedKeys.get(key) ?? 0) + 1);
		let messages = 0;
		for (let step = 0; step < 120; step++) {
			const action = random();
			if (action < 0.3) {
				const fields = pick(KEYS);
				events.push(fields);
				h.esi.rows.push(row(events.length, fields));
				if (random() < 0.75) inFlight.push({ messageId: `m${++messages}`, fields });
			} else if (action < 0.55 && inFlight.length > 0) {
				const index = Math.floor(random() * inFlight.length);
				const message = inFlight[index];
				if (random() < 0.85) inFlight.splice(index, 1);
				const item = busItem(message.messageId, message.fields);
				const verdict = h.bus(item);
				if (verdict === 'skip') skipped++;
				if (verdict === 'deliver' && !busExecutions.includes(message.messageId)) {
					// A redelivery of an executed message is skipped by n8n's deduplication key.
					busExecutions.push(message.messageId);
					count(busMatchKey(item));
				}
			} else if (action < 0.75) {
				await h.reconciler.pass();
			} else if (action < 0.95) {
				h.clock.now += Math.floor(random() * SETTLE * 1.5);
			} else if (restarts) {
				h.restart();
			}
		}
		// Everything still in flight arrives, then the history settles.
		for (const message of inFlight.splice(0)) {
			const item = busItem(message.messageId, message.fields);
			const verdict = h.bus(item);
			if (verdict === 'skip') skipped++;
			if (verdict === 'deliver' && !busExecutions.includes(message.messageId)) {
				busExecutions.push(message.messageId);
				count(busMatchKey(item));
			}
		}
		for (let round = 0; round < 3; round++) {
			await h.reconciler.pass();
			h.clock.now += SETTLE * 4;
		}
		await h.reconciler.pass();
		const historyIds = h.emitted.map((item) => item.event_id);
		for (const item of h.emitted) count(busMatchKey(item));
		const expected = new Map<string, number>();
		for (const fields of events) {
			const key = rowMatchKey(row(0, fields));
			expected.set(key, (expected.get(key) ?? 0) + 1);
		}
		return {
			executedKeys,
			expected,
			historyIds,
			skipped,
			state: h.live.ledger as LedgerState,
		};
	}

	for (const restarts of [false, true]) {
		it(`executions per key equal ESI events per key over 300 seeds${restarts ? ', with n8n restarts' : ''}`, async () => {
			const covered = { fromHistory: 0, skipped: 0 };
			for (let seed = 1; seed <= 300; seed++) {
				const { executedKeys, expected, historyIds, skipped, state } = await scenario(
					seed,
					restarts,
				);
				covered.fromHistory += historyIds.length;
				covered.skipped += skipped;
				expect(Object.fromEntries(executedKeys), `seed ${seed}`).toEqual(
					Object.fromEntries(expected),
				);
				// The history never emits one row twice, and nothing is left waiting.
				expect(new Set(historyIds).size, `seed ${seed}`).toBe(historyIds.length);
				expect(state.pending, `seed ${seed}`).toEqual([]);
			}
			// The seeds do reach the interesting cases: history emissions and late bus copies.
			expect(covered.fromHistory).toBeGreaterThan(300);
			expect(covered.skipped).toBeGreaterThan(50);
		});
	}
});

describe('PollScheduler.runWithin (reconcile on reconnect)', () => {
	it('brings the next run forward, and after a run in flight follows it by the asked delay', async () => {
		vi.useFakeTimers();
		try {
			const runs: number[] = [];
			let release: (() => void) | undefined;
			const scheduler = new PollScheduler({
				clock: timerClock,
				intervalMs: 300_000,
				run: async () => {
					runs.push(Date.now());
					await new Promise<void>((resolve) => (release = resolve));
				},
			});
			const start = Date.now();
			scheduler.start(300_000);
			scheduler.runWithin(10);
			await vi.advanceTimersByTimeAsync(10);
			expect(runs).toEqual([start + 10]);
			// A reconnect during that run: one more run 5 ms after it ends, not a full interval.
			scheduler.runWithin(5);
			await vi.advanceTimersByTimeAsync(100);
			release?.();
			await vi.advanceTimersByTimeAsync(5);
			expect(runs).toEqual([start + 10, start + 115]);
			// Asking for later than already scheduled changes nothing.
			release?.();
			await vi.advanceTimersByTimeAsync(0);
			scheduler.runWithin(400_000);
			await vi.advanceTimersByTimeAsync(300_000);
			expect(runs).toHaveLength(3);
			release?.();
			await scheduler.stop(0);
		} finally {
			vi.useRealTimers();
		}
	});
});
