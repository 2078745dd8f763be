/**
 * Cursor and gap logic for polling `GET /v1/events?last_event_id=N`.
 *
 * ESI Leap returns `id > N`, unordered and unlimited. Two writers (API and manager) insert rows in
 * their own transactions, so an id can become visible after a larger one was already returned; a
 * plain "max id" cursor would skip it. We therefore remember the ids below the cursor that we have
 * not seen yet ("gaps", kept as ranges so a lessee who sees only its own project's events does not
 * store one entry per foreign id) and re-read from below the oldest gap until a grace window
 * passes. An id is accepted at most once: either when it first passes the cursor, or when it fills
 * a gap (which removes it from the gap list).
 */
import { KeepBest } from './keepBest';

export interface GapRange {
	/** First missing id (inclusive). */
	from: number;
	/** Last missing id (inclusive). */
	to: number;
	/** When the gap was first noticed, epoch milliseconds. */
	seenAt: number;
}

export interface CursorState {
	version: 1;
	/** Highest event id accepted so far; events at or below it are accepted only to fill gaps. */
	cursor: number;
	gaps: GapRange[];
}

export interface HasEventId {
	id: number;
}

export interface CursorLimits {
	/** How long a missing id is waited for, in milliseconds. */
	graceMs: number;
	/** At most this many events are accepted per poll; the rest waits for the next poll. */
	maxEventsPerPoll: number;
	/** At most this many gap ranges are kept; the oldest are dropped first. */
	maxGapRanges: number;
	/**
	 * Only ids this close below the newest accepted id can still be in flight. Older holes (a
	 * first poll over years of history, rows of other projects long ago) are not waited for, which
	 * keeps re-reads after a backlog small.
	 */
	gapLookback: number;
}

export const DEFAULT_CURSOR_LIMITS: CursorLimits = {
	graceMs: 2 * 60_000,
	maxEventsPerPoll: 1000,
	maxGapRanges: 1000,
	gapLookback: 1000,
};

export interface CursorStep<E extends HasEventId> {
	/** Events to emit, sorted by id: new ones and late arrivals that filled a gap. */
	accepted: E[];
	/** Of `accepted`, those that filled a gap below the previous cursor. */
	lateArrivals: E[];
	next: CursorState;
	/** Gaps given up on because the grace window passed. */
	abandonedGaps: GapRange[];
	/** True when the poll returned more new events than one poll accepts. */
	truncated: boolean;
}

export function createCursorState(cursor: number): CursorState {
	if (!Number.isSafeInteger(cursor) || cursor < 0) {
		throw new RangeError(`An event id cursor must be a whole number >= 0, got ${cursor}`);
	}
	return { version: 1, cursor, gaps: [] };
}

/** The `last_event_id` to request: just below the oldest gap, or the cursor itself. */
export function lastEventIdToRequest(state: CursorState): number {
	const oldestGapStart = state.gaps.reduce((min, gap) => Math.min(min, gap.from), Infinity);
	return oldestGapStart === Infinity ? state.cursor : oldestGapStart - 1;
}

/**
 * Collects, from ESI's rows as they stream in (any order), exactly what advanceCursor can use:
 * every row that fills a gap, and the `maxEventsPerPoll + 1` smallest ids above the cursor (the
 * extra one tells that the poll is truncated). advanceCursor over `rows()` then decides as it
 * would over the whole answer, in O(maxEventsPerPoll + gap size) memory instead of O(backlog).
 */
export class CursorIntake<E extends HasEventId> {
	private readonly lateArrivals = new Map<number, E>();
	private readonly fresh: KeepBest<E>;
	private readonly freshIds = new Set<number>();

	constructor(
		private readonly state: CursorState,
		limits: Pick<CursorLimits, 'maxEventsPerPoll'> = DEFAULT_CURSOR_LIMITS,
	) {
		this.fresh = new KeepBest<E>(limits.maxEventsPerPoll + 1, (a, b) => a.id < b.id);
	}

	/** Rows kept so far (for tests and reports: never more than the bound above). */
	get kept(): number {
		return this.lateArrivals.size + this.fresh.size;
	}

	offer(event: E): void {
		const { id } = event;
		if (id > this.state.cursor) {
			// ESI may repeat a row; a repeat must not take a second place.
			if (this.freshIds.has(id)) return;
			const dropped = this.fresh.offer(event);
			if (dropped === event) return;
			this.freshIds.add(id);
			if (dropped) this.freshIds.delete(dropped.id);
		} else if (isInGaps(this.state.gaps, id)) {
			this.lateArrivals.set(id, event);
		}
	}

	/**
	 * Whether `offer` would keep a row with this id now: false means it would be dropped at once,
	 * so a scan need not even parse it (client scanEvents `wants`).
	 */
	wants(id: number): boolean {
		if (id > this.state.cursor)
			return !this.freshIds.has(id) && this.fresh.wouldKeep((worst) => id < worst.id);
		return isInGaps(this.state.gaps, id);
	}

	rows(): E[] {
		return [...this.lateArrivals.values(), ...this.fresh.sorted()];
	}
}

/**
 * Decide which fetched events to emit and compute the next state. Pure: the caller stores
 * `next` only once the accepted events are handed to n8n.
 */
export function advanceCursor<E extends HasEventId>(
	state: CursorState,
	fetched: readonly E[],
	now: number,
	limits: CursorLimits = DEFAULT_CURSOR_LIMITS,
): CursorStep<E> {
	const byId = new Map<number, E>();
	for (const event of fetched) byId.set(event.id, event);
	const sorted = [...byId.values()].sort((a, b) => a.id - b.id);

	const lateArrivals = sorted.filter((event) => isInGaps(state.gaps, event.id));
	const fresh = sorted.filter((event) => event.id > state.cursor);
	const truncated = fresh.length > limits.maxEventsPerPoll;
	const freshAccepted = fresh.slice(0, limits.maxEventsPerPoll);

	const newCursor = freshAccepted.length
		? freshAccepted[freshAccepted.length - 1].id
		: state.cursor;
	const seenIds = new Set(freshAccepted.map((event) => event.id));
	const lookbackStart = Math.max(state.cursor, newCursor - limits.gapLookback);
	const newGaps = missingRanges(lookbackStart, newCursor, seenIds, now);

	let gaps = removeIds(
		state.gaps,
		lateArrivals.map((event) => event.id),
	).concat(newGaps);
	const abandonedGaps = gaps.filter((gap) => now - gap.seenAt > limits.graceMs);
	gaps = gaps.filter((gap) => now - gap.seenAt <= limits.graceMs);
	if (gaps.length > limits.maxGapRanges) {
		gaps.sort((a, b) => a.seenAt - b.seenAt || a.from - b.from);
		abandonedGaps.push(...gaps.splice(0, gaps.length - limits.maxGapRanges));
	}
	gaps.sort((a, b) => a.from - b.from);

	const accepted = [...lateArrivals, ...freshAccepted].sort((a, b) => a.id - b.id);
	return {
		accepted,
		lateArrivals,
		next: { version: 1, cursor: newCursor, gaps },
		abandonedGaps,
		truncated,
	};
}

/** Validate state read back from n8n's static data (it may be absent, old or hand-edited). */
export function parseCursorState(value: unknown): CursorState | undefined {
	if (typeof value !== 'object' || value === null) return undefined;
	const candidate = value as Partial<CursorState>;
	if (candidate.version !== 1 || !Number.isSafeInteger(candidate.cursor)) return undefined;
	const cursor = candidate.cursor as number;
	// A gap lies below the cursor (advanceCursor builds them so); one above it would let an id be
	// accepted twice, as a new event and as a late arrival.
	const gaps = Array.isArray(candidate.gaps)
		? candidate.gaps.filter((gap) => isGapRange(gap) && gap.to <= cursor)
		: [];
	return { version: 1, cursor, gaps };
}

function isGapRange(value: unknown): value is GapRange {
	const gap = value as GapRange;
	return (
		typeof gap === 'object' &&
		gap !== null &&
		Number.isSafeInteger(gap.from) &&
		Number.isSafeInteger(gap.to) &&
		gap.from <= gap.to &&
		typeof gap.seenAt === 'number'
	);
}

function isInGaps(gaps: readonly GapRange[], id: number): boolean {
	return gaps.some((gap) => id >= gap.from && id <= gap.to);
}

/** Ranges of ids in (fromExclusive, toInclusive) that were not seen. */
function missingRanges(
	fromExclusive: number,
	toInclusive: number,
	seen: ReadonlySet<number>,
	now: number,
): GapRange[] {
	const ranges: GapRange[] = [];
	let open: GapRange | undefined;
	for (let id = fromExclusive + 1; id <= toInclusive; id++) {
		if (seen.has(id)) {
			open = undefined;
		} else if (open) {
			open.to = id;
		} else {
			open = { from: id, to: id, seenAt: now };
			ranges.push(open);
		}
	}
	return ranges;
}

/** Remove single ids from ranges, splitting a range when an id falls inside it. */
function removeIds(gaps: readonly GapRange[], ids: readonly number[]): GapRange[] {
	let result = gaps.map((gap) => ({ ...gap }));
	for (const id of ids) {
		result = result.flatMap((gap) => {
			if (id < gap.from || id > gap.to) return [gap];
			const parts: GapRange[] = [];
			if (gap.from <= id - 1) parts.push({ from: gap.from, to: id - 1, seenAt: gap.seenAt });
			if (id + 1 <= gap.to) parts.push({ from: id + 1, to: gap.to, seenAt: gap.seenAt });
			return parts;
		});
	}
	return result;
}
