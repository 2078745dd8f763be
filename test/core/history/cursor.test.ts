import { describe, expect, it } from 'vitest';

import {
	advanceCursor,
	createCursorState,
	CursorIntake,
	DEFAULT_CURSOR_LIMITS,
	lastEventIdToRequest,
	parseCursorState,
	type CursorLimits,
	type CursorState,
	type GapRange,
} from '../../../nodes/core/history/cursor';
import { seededRandom } from '../../helpers/seededRandom';

const ids = (events: Array<{ id: number }>) => events.map((event) => event.id);
const events = (...list: number[]) => list.map((id) => ({ id, name: `e${id}` }));
const stateWith = (cursor: number, ...gaps: GapRange[]): CursorState => ({
	version: 1,
	cursor,
	gaps,
});

describe('history cursor', () => {
	it('accepts new events sorted by id and moves the cursor to the newest', () => {
		const step = advanceCursor(createCursorState(10), events(13, 11, 12), 0);
		expect(ids(step.accepted)).toEqual([11, 12, 13]);
		expect(step.next).toEqual({ version: 1, cursor: 13, gaps: [] });
		expect(step.truncated).toBe(false);
	});

	it('ignores events at or below the cursor that fill no gap (re-reads after an overlap)', () => {
		const step = advanceCursor(createCursorState(10), events(9, 10, 11), 0);
		expect(ids(step.accepted)).toEqual([11]);
	});

	it('collapses duplicate ids in one response', () => {
		const step = advanceCursor(createCursorState(0), events(1, 1, 2), 0);
		expect(ids(step.accepted)).toEqual([1, 2]);
	});

	it('records missing ids as gap ranges and asks again from below the oldest gap', () => {
		const step = advanceCursor(createCursorState(10), events(11, 14, 15, 18), 1000);
		expect(step.next.cursor).toBe(18);
		expect(step.next.gaps).toEqual([
			{ from: 12, to: 13, seenAt: 1000 },
			{ from: 16, to: 17, seenAt: 1000 },
		]);
		expect(lastEventIdToRequest(step.next)).toBe(11);
	});

	it('emits a late arrival once, when it fills a gap, and splits the range', () => {
		const first = advanceCursor(createCursorState(10), events(11, 15), 1000);
		expect(first.next.gaps).toEqual([{ from: 12, to: 14, seenAt: 1000 }]);

		const second = advanceCursor(first.next, events(11, 13, 15, 16), 2000);
		expect(ids(second.accepted)).toEqual([13, 16]);
		expect(ids(second.lateArrivals)).toEqual([13]);
		expect(second.next.gaps).toEqual([
			{ from: 12, to: 12, seenAt: 1000 },
			{ from: 14, to: 14, seenAt: 1000 },
		]);

		const third = advanceCursor(second.next, events(11, 13, 15, 16), 3000);
		expect(third.accepted).toEqual([]);
	});

	it('gives up on a gap after the grace window and stops re-reading below it', () => {
		const limits = { ...DEFAULT_CURSOR_LIMITS, graceMs: 5000 };
		const first = advanceCursor(createCursorState(0), events(1, 3), 0, limits);
		expect(lastEventIdToRequest(first.next)).toBe(1);

		const within = advanceCursor(first.next, events(3), 5000, limits);
		expect(within.next.gaps).toHaveLength(1);
		expect(within.abandonedGaps).toEqual([]);

		const after = advanceCursor(within.next, events(3), 5001, limits);
		expect(after.next.gaps).toEqual([]);
		expect(after.abandonedGaps).toEqual([{ from: 2, to: 2, seenAt: 0 }]);
		expect(lastEventIdToRequest(after.next)).toBe(3);
	});

	it('accepts at most maxEventsPerPoll new events and reports truncation', () => {
		const limits = { ...DEFAULT_CURSOR_LIMITS, maxEventsPerPoll: 2 };
		const step = advanceCursor(createCursorState(0), events(1, 2, 3, 4), 0, limits);
		expect(ids(step.accepted)).toEqual([1, 2]);
		expect(step.next.cursor).toBe(2);
		expect(step.next.gaps).toEqual([]);
		expect(step.truncated).toBe(true);

		const rest = advanceCursor(step.next, events(3, 4), 0, limits);
		expect(ids(rest.accepted)).toEqual([3, 4]);
		expect(rest.truncated).toBe(false);
	});

	it('does not wait for holes far below the newest id (a first poll over old history)', () => {
		const limits = { ...DEFAULT_CURSOR_LIMITS, gapLookback: 3 };
		const step = advanceCursor(createCursorState(0), events(100, 104), 0, limits);
		expect(step.next.gaps).toEqual([{ from: 102, to: 103, seenAt: 0 }]);
	});

	it('keeps at most maxGapRanges ranges, dropping the oldest', () => {
		const limits = { ...DEFAULT_CURSOR_LIMITS, maxGapRanges: 2 };
		const first = advanceCursor(createCursorState(0), events(2, 4), 10, limits);
		const second = advanceCursor(first.next, events(6), 20, limits);
		expect(second.next.gaps).toEqual([
			{ from: 3, to: 3, seenAt: 10 },
			{ from: 5, to: 5, seenAt: 20 },
		]);
		expect(second.abandonedGaps).toEqual([{ from: 1, to: 1, seenAt: 10 }]);
	});

	it('never accepts the same id twice across any sequence of overlapping polls', () => {
		// A visibility order in which ids commit out of order, polled with overlap each time.
		const visibleAfterPoll = [[1, 2, 5], [3], [6, 4], [7], []];
		let state: CursorState = createCursorState(0);
		const emitted: number[] = [];
		const visible: number[] = [];
		visibleAfterPoll.forEach((batch, poll) => {
			visible.push(...batch);
			const from = lastEventIdToRequest(state);
			const step = advanceCursor(state, events(...visible.filter((id) => id > from)), poll * 1000);
			emitted.push(...ids(step.accepted));
			state = step.next;
		});
		expect([...emitted].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
		expect(new Set(emitted).size).toBe(emitted.length);
		expect(state.gaps).toEqual([]);
	});

	it('reads back only well-formed state from static data', () => {
		expect(parseCursorState(undefined)).toBeUndefined();
		expect(parseCursorState({ version: 2, cursor: 1 })).toBeUndefined();
		expect(parseCursorState({ version: 1, cursor: '5' })).toBeUndefined();
		expect(
			parseCursorState({
				version: 1,
				cursor: 5,
				gaps: [{ from: 2, to: 3, seenAt: 1 }, { from: 4, to: 1, seenAt: 1 }, 'x'],
			}),
		).toEqual({ version: 1, cursor: 5, gaps: [{ from: 2, to: 3, seenAt: 1 }] });
	});

	it('measures the grace window from when each gap was noticed, not from time zero', () => {
		const limits = { ...DEFAULT_CURSOR_LIMITS, graceMs: 5000 };
		const state = stateWith(
			20,
			{ from: 5, to: 5, seenAt: 10_000 },
			{ from: 9, to: 9, seenAt: 12_000 },
		);
		const early = advanceCursor(state, [], 14_000, limits);
		expect(early.next.gaps).toEqual(state.gaps);
		expect(early.abandonedGaps).toEqual([]);

		const between = advanceCursor(state, [], 16_000, limits);
		expect(between.next.gaps).toEqual([{ from: 9, to: 9, seenAt: 12_000 }]);
		expect(between.abandonedGaps).toEqual([{ from: 5, to: 5, seenAt: 10_000 }]);
		// A late arrival filling part of an old range keeps the range's age.
		const split = advanceCursor(
			stateWith(20, { from: 5, to: 7, seenAt: 10_000 }),
			events(6),
			16_000,
			limits,
		);
		expect(ids(split.accepted)).toEqual([6]);
		expect(split.next.gaps).toEqual([]);
		expect(split.abandonedGaps).toEqual([
			{ from: 5, to: 5, seenAt: 10_000 },
			{ from: 7, to: 7, seenAt: 10_000 },
		]);
	});

	it('fills the first or the last id of a gap range and keeps the rest of the range', () => {
		const state = stateWith(20, { from: 12, to: 14, seenAt: 0 });
		const first = advanceCursor(state, events(12), 1);
		expect(ids(first.lateArrivals)).toEqual([12]);
		expect(first.next.gaps).toEqual([{ from: 13, to: 14, seenAt: 0 }]);

		const last = advanceCursor(state, events(14), 1);
		expect(ids(last.lateArrivals)).toEqual([14]);
		expect(last.next.gaps).toEqual([{ from: 12, to: 13, seenAt: 0 }]);

		const single = advanceCursor(first.next, events(13, 14), 2);
		expect(ids(single.accepted)).toEqual([13, 14]);
		expect(single.next.gaps).toEqual([]);
		expect(advanceCursor(single.next, events(12, 13, 14), 3).accepted).toEqual([]);
	});

	it('fills gaps in several ranges in one poll and leaves ids outside them alone', () => {
		const state = stateWith(30, { from: 3, to: 4, seenAt: 0 }, { from: 10, to: 12, seenAt: 0 });
		const step = advanceCursor(state, events(2, 4, 5, 9, 11, 13, 31), 1);
		expect(ids(step.accepted)).toEqual([4, 11, 31]);
		expect(ids(step.lateArrivals)).toEqual([4, 11]);
		expect(step.next.gaps).toEqual([
			{ from: 3, to: 3, seenAt: 0 },
			{ from: 10, to: 10, seenAt: 0 },
			{ from: 12, to: 12, seenAt: 0 },
		]);
	});

	// Single-id gaps below cursor 20, written id@seenAt, over a cap of two ranges. A hand-edited
	// state (or a clock that went back) can hold ids and ages in different orders.
	it.each([
		['the gaps noticed earliest, whatever their ids', '1@30 5@10 8@20', '1@30 8@20', '5@10'],
		['among gaps noticed at the same time, the lowest ids', '9@10 3@10 6@10', '6@10 9@10', '3@10'],
	])(
		'over the gap cap drops %s first and keeps the rest sorted by id',
		(_, stored, kept, dropped) => {
			const gaps = (text: string) =>
				text.split(' ').map((entry) => {
					const [id, seenAt] = entry.split('@').map(Number);
					return { from: id, to: id, seenAt };
				});
			const state = stateWith(20, ...gaps(stored));
			const step = advanceCursor(state, [], 40, { ...DEFAULT_CURSOR_LIMITS, maxGapRanges: 2 });
			expect(step.next.gaps).toEqual(gaps(kept));
			expect(step.abandonedGaps).toEqual(gaps(dropped));
			expect(lastEventIdToRequest(step.next)).toBe(gaps(kept)[0].from - 1);
		},
	);

	it('keeps exactly maxGapRanges ranges without dropping any', () => {
		const limits = { ...DEFAULT_CURSOR_LIMITS, maxGapRanges: 2 };
		const step = advanceCursor(createCursorState(0), events(2, 4), 10, limits);
		expect(step.next.gaps).toEqual([
			{ from: 1, to: 1, seenAt: 10 },
			{ from: 3, to: 3, seenAt: 10 },
		]);
		expect(step.abandonedGaps).toEqual([]);
	});

	it('reads back each field of a stored gap only when it has the right type and order', () => {
		const read = (gaps: unknown) => parseCursorState({ version: 1, cursor: 9, gaps })?.gaps;
		const good = { from: 2, to: 3, seenAt: 1 };
		expect(read([good])).toEqual([good]);
		expect(read([{ from: 4, to: 4, seenAt: 1 }])).toEqual([{ from: 4, to: 4, seenAt: 1 }]);
		expect(read([null, good])).toEqual([good]);
		expect(read([7, 'x', good])).toEqual([good]);
		expect(read([{ from: '2', to: 3, seenAt: 1 }, good])).toEqual([good]);
		expect(read([{ from: 2.5, to: 3, seenAt: 1 }, good])).toEqual([good]);
		expect(read([{ from: 2, to: '3', seenAt: 1 }, good])).toEqual([good]);
		expect(read([{ from: 2, to: 3.5, seenAt: 1 }, good])).toEqual([good]);
		expect(read([{ from: 2, to: 3 }, good])).toEqual([good]);
		expect(read([{ from: 2, to: 3, seenAt: '1' }, good])).toEqual([good]);
		expect(read([{ from: 4, to: 3, seenAt: 1 }, good])).toEqual([good]);
		expect(read(undefined)).toEqual([]);
		expect(read({ 0: good, length: 1 })).toEqual([]);
	});

	it('reads back a stored cursor only from an object with version 1 and a whole-number cursor', () => {
		expect(parseCursorState(null)).toBeUndefined();
		expect(parseCursorState('{"version":1,"cursor":5}')).toBeUndefined();
		expect(parseCursorState(5)).toBeUndefined();
		expect(parseCursorState({ cursor: 5 })).toBeUndefined();
		expect(parseCursorState({ version: '1', cursor: 5 })).toBeUndefined();
		expect(parseCursorState({ version: 1, cursor: 5.5 })).toBeUndefined();
		expect(parseCursorState({ version: 1 })).toBeUndefined();
		expect(parseCursorState({ version: 1, cursor: 0 })).toEqual({
			version: 1,
			cursor: 0,
			gaps: [],
		});
		expect(parseCursorState({ version: 1, cursor: 5, gaps: [] })).toEqual({
			version: 1,
			cursor: 5,
			gaps: [],
		});
	});

	it('starts a new cursor with no gaps, asking for the events after its starting id', () => {
		const state = createCursorState(5);
		expect(state).toEqual({ version: 1, cursor: 5, gaps: [] });
		expect(lastEventIdToRequest(state)).toBe(5);
	});

	it('accepts an id once even when a stored gap claims ids above the stored cursor', () => {
		// Only a hand-edited state can hold such a gap: gaps are built below the newest id.
		const stored = parseCursorState({
			version: 1,
			cursor: 20,
			gaps: [
				{ from: 18, to: 25, seenAt: 0 },
				{ from: 10, to: 11, seenAt: 0 },
			],
		});
		expect(stored?.gaps).toEqual([{ from: 10, to: 11, seenAt: 0 }]);
		const step = advanceCursor(stored as CursorState, events(11, 19, 22, 21), 1);
		expect(ids(step.accepted)).toEqual([11, 21, 22]);
		const upToCursor = { from: 19, to: 20, seenAt: 0 };
		expect(parseCursorState({ version: 1, cursor: 20, gaps: [upToCursor] })?.gaps).toEqual([
			upToCursor,
		]);
	});

	it('rejects a negative or fractional starting cursor', () => {
		expect(() => createCursorState(-1)).toThrow(/whole number/);
		expect(() => createCursorState(1.5)).toThrow(/whole number/);
	});
});

describe('CursorIntake', () => {
	const intakeOf = (state: CursorState, rows: Array<{ id: number }>, limits: CursorLimits) => {
		const intake = new CursorIntake(state, limits);
		for (const row of rows) intake.offer(row);
		return intake;
	};

	it('keeps the smallest new ids, one more than a poll takes, whatever the order', () => {
		const intake = intakeOf(createCursorState(10), events(30, 12, 11, 25, 13, 9, 14), {
			...DEFAULT_CURSOR_LIMITS,
			maxEventsPerPoll: 3,
		});
		expect(ids(intake.rows())).toEqual([11, 12, 13, 14]);
		expect(intake.kept).toBe(4);
	});

	it('keeps every row that fills a gap and nothing else at or below the cursor', () => {
		const state: CursorState = { version: 1, cursor: 20, gaps: [{ from: 5, to: 7, seenAt: 0 }] };
		const intake = intakeOf(state, events(4, 5, 6, 8, 20, 21), DEFAULT_CURSOR_LIMITS);
		expect(ids(intake.rows())).toEqual([5, 6, 21]);
	});

	it('wants a row only when offer() would keep it', () => {
		const state: CursorState = { version: 1, cursor: 20, gaps: [{ from: 5, to: 7, seenAt: 0 }] };
		const intake = new CursorIntake(state, { ...DEFAULT_CURSOR_LIMITS, maxEventsPerPoll: 1 });
		expect([4, 5, 7, 8, 20, 21, 30].filter((id) => intake.wants(id))).toEqual([5, 7, 21, 30]);
		intake.offer({ id: 30 });
		intake.offer({ id: 25 });
		// Full (one more than a poll takes): only a gap, or a new id below the largest kept (30),
		// gets in; kept ids do not come in twice.
		expect([5, 24, 25, 26, 30, 31].filter((id) => intake.wants(id))).toEqual([5, 24, 26]);
	});

	it('gives a repeated id one place only', () => {
		const limits = { ...DEFAULT_CURSOR_LIMITS, maxEventsPerPoll: 2 };
		const intake = intakeOf(createCursorState(0), events(1, 1, 1, 2, 3, 3, 4), limits);
		expect(ids(intake.rows())).toEqual([1, 2, 3]);
		expect(advanceCursor(createCursorState(0), intake.rows(), 0, limits).truncated).toBe(true);
	});

	it('leads advanceCursor to the same step as the whole answer, in any order (random cases)', () => {
		const next = seededRandom(2024);
		for (let round = 0; round < 300; round++) {
			const limits: CursorLimits = {
				graceMs: 1000,
				maxEventsPerPoll: 1 + Math.floor(next() * 20),
				maxGapRanges: 1 + Math.floor(next() * 10),
				gapLookback: 1 + Math.floor(next() * 50),
			};
			const cursor = Math.floor(next() * 60);
			const gaps = [];
			for (let from = 1; from < cursor; from += 2 + Math.floor(next() * 8)) {
				if (next() < 0.4) {
					const to = Math.min(cursor, from + Math.floor(next() * 3));
					gaps.push({ from, to, seenAt: Math.floor(next() * 2000) });
					from = to;
				}
			}
			const state: CursorState = { version: 1, cursor, gaps };
			const answer: Array<{ id: number; name: string }> = [];
			for (let id = lastEventIdToRequest(state) + 1; id <= cursor + 80; id++) {
				if (next() < 0.7) answer.push(...events(id));
				if (next() < 0.05) answer.push(...events(id)); // a repeat
			}
			for (let index = answer.length - 1; index > 0; index--) {
				const other = Math.floor(next() * (index + 1));
				[answer[index], answer[other]] = [answer[other], answer[index]];
			}
			const now = 1500;
			const intake = intakeOf(state, answer, limits);
			// A scan that offers only the rows `wants` admits (the others are not even parsed)
			// ends with the same rows.
			const picky = new CursorIntake(state, limits);
			for (const row of answer) if (picky.wants(row.id)) picky.offer(row);
			expect(picky.rows()).toEqual(intake.rows());
			expect(intake.kept).toBeLessThanOrEqual(
				limits.maxEventsPerPoll + 1 + gaps.reduce((sum, gap) => sum + gap.to - gap.from + 1, 0),
			);
			expect(advanceCursor(state, intake.rows(), now, limits)).toEqual(
				advanceCursor(state, answer, now, limits),
			);
		}
	});
});
