/**
 * Message Bus mode reconciled with ESI Leap's event history: exactly one execution per ESI event,
 * whether it reaches us on the bus, in `GET /v1/events`, or both.
 *
 * Why both: the bus is best effort (a broker restart deletes oslo's non-durable exchange and our
 * binding; ESI's notifier gives up on a message and still writes the event row), the history is
 * ESI's record (spec §10.20-21). ESI writes the row right AFTER the notifier call, from the same
 * payload (esi_leap/objects/notification.py NotificationBase.emit: notify, then
 * `Event(**payload.get_event_dict(event_type)).create()`).
 *
 * Matching. A bus message carries no event id and a row carries no message id; what both have is
 * the payload's identity (esi_leap/objects/lease.py LeaseCRUDPayload.get_event_dict): event type,
 * lease uuid (row `object_uuid`), resource type and uuid, lessee project (row `lessee_id`) and
 * owner. That is the match key. The times are not compared: the row's `event_time` is the ESI
 * host's local time, the message's `timestamp` UTC (spec §4.1). One key can repeat (a stuck lease
 * emits `fulfill.start` + `fulfill.error` every 60 s), so within a key bus messages and rows are
 * paired in order, oldest first. Which repeat pairs with which does not change the count: every
 * row is either paired with a bus message or emitted from the history, and every bus message is
 * either executed or, when the history already emitted a row it could pair with, skipped. With
 * every row seen, executions per key = rows per key (proved and tested in
 * test/core/bus/reconcile.test.ts against a perfect observer).
 *
 * Timing. A new row is not emitted at once: its bus message may be a moment behind (or queued
 * behind a backlog). It waits `settleMs` in `pending`, then the history emits it unless a bus
 * message took it meanwhile. A bus message whose row has not come yet is remembered (`bus`) until
 * a complete history pass started late enough to have seen its row; a non-admin credential never
 * sees other projects' rows, so those marks are dropped that way. A row the history emitted is
 * remembered (`history`) for `historyRetentionMs`, so its bus message arriving late is skipped.
 * Message ids already decided are remembered (`seen`), so a broker redelivery or one of our
 * retries is not counted as a new event.
 *
 * The state is plain JSON for n8n's static data, bounded by count and age, and changed only
 * synchronously, so what n8n saves when the node emits is always consistent.
 */
import type { EsiEventRow } from '../api/schemas';
import type { EventPredicate } from '../events/filters';
import type { EsiLeapEvent } from '../events/types';
import type { CursorStep } from '../history/cursor';
import type { HistoryLogger } from '../history/poller';

/** The identity a bus message and its event row share (see the header). */
export interface MatchFields {
	event_type: string;
	lease_uuid: string | null;
	resource_type: string | null;
	resource_uuid: string | null;
	project_id: string | null;
	owner_id: string | null;
}

function keyOf(fields: MatchFields): string {
	return JSON.stringify([
		fields.event_type,
		fields.lease_uuid,
		fields.resource_type,
		fields.resource_uuid,
		fields.project_id,
		fields.owner_id,
	]);
}

/** Match key of a normalized bus item. */
export function busMatchKey(event: EsiLeapEvent): string {
	return keyOf(event);
}

/** Match key of a `GET /v1/events` row (the columns get_event_dict fills). */
export function rowMatchKey(row: EsiEventRow): string {
	return keyOf({
		event_type: row.event_type,
		lease_uuid: row.object_uuid ?? null,
		resource_type: row.resource_type ?? null,
		resource_uuid: row.resource_uuid ?? null,
		project_id: row.lessee_id ?? null,
		owner_id: row.owner_id ?? null,
	});
}

/** A bus message decided by the bus whose row has not been seen yet. */
export interface BusMark {
	key: string;
	messageId: string;
	at: number;
}

/** A row decided by the history whose bus message has not arrived (yet, or ever). */
export interface HistoryMark {
	key: string;
	eventId: number;
	at: number;
}

/** A message id already decided: its redeliveries and retries get the same verdict. */
export interface SeenMessage {
	messageId: string;
	at: number;
	skipped: boolean;
}

/** A row seen in the history, waiting `settleMs` for its bus message. */
export interface PendingRow {
	key: string;
	row: EsiEventRow;
	seenAt: number;
}

export interface LedgerState {
	version: 1;
	bus: BusMark[];
	history: HistoryMark[];
	seen: SeenMessage[];
	pending: PendingRow[];
	/** When the latest complete (not truncated) history pass started fetching. */
	lastCompletePassAt: number | null;
}

export interface LedgerLimits {
	/** How long a new row waits for its bus message before the history emits it. */
	settleMs: number;
	/** The history cursor's gap grace: how long a late-committed row can still appear. */
	graceMs: number;
	/** How long a row the history emitted waits for a late bus message. */
	historyRetentionMs: number;
	/** How long a decided message id is remembered (covers redeliveries and retry delays). */
	seenRetentionMs: number;
	maxBusMarks: number;
	maxHistoryMarks: number;
	maxSeen: number;
	/** A history pass reads no further rows while this many wait to settle. */
	maxPending: number;
}

export const DEFAULT_LEDGER_LIMITS: LedgerLimits = {
	settleMs: 60_000,
	graceMs: 2 * 60_000,
	historyRetentionMs: 24 * 60 * 60_000,
	seenRetentionMs: 6 * 60 * 60_000,
	maxBusMarks: 2000,
	maxHistoryMarks: 1000,
	maxSeen: 2000,
	maxPending: 1000,
};

export function emptyLedger(): LedgerState {
	return { version: 1, bus: [], history: [], seen: [], pending: [], lastCompletePassAt: null };
}

/** State read back from static data (absent, old or hand-edited) → a usable ledger. */
export function parseLedger(value: unknown): LedgerState {
	const candidate = value as Partial<LedgerState> | null | undefined;
	if (typeof candidate !== 'object' || candidate === null || candidate.version !== 1) {
		return emptyLedger();
	}
	const list = <T>(items: unknown, valid: (item: T) => boolean): T[] =>
		Array.isArray(items) ? (items as T[]).filter((item) => item !== null && valid(item)) : [];
	const text = (value: unknown) => typeof value === 'string';
	const time = (value: unknown) => typeof value === 'number' && Number.isFinite(value);
	return {
		version: 1,
		bus: list<BusMark>(candidate.bus, (m) => text(m.key) && text(m.messageId) && time(m.at)),
		history: list<HistoryMark>(
			candidate.history,
			(m) => text(m.key) && Number.isSafeInteger(m.eventId) && time(m.at),
		),
		seen: list<SeenMessage>(candidate.seen, (m) => text(m.messageId) && time(m.at)),
		pending: list<PendingRow>(
			candidate.pending,
			(p) => text(p.key) && typeof p.row === 'object' && time(p.seenAt),
		),
		lastCompletePassAt: time(candidate.lastCompletePassAt)
			? (candidate.lastCompletePassAt as number)
			: null,
	};
}

/** What the bus side should do with a message. */
export type BusVerdict = 'deliver' | 'skip';

export interface PruneReport {
	busMarks: number;
	historyMarks: number;
	/** History marks dropped because of the count bound, before their retention ran out. */
	historyMarksEvicted: number;
}

/**
 * The matching state and its transitions. Every method is synchronous and changes `state` in
 * place (the object in static data), then calls `saved` so a store can keep its reference.
 */
export class ChannelLedger {
	readonly limits: LedgerLimits;

	constructor(
		readonly state: LedgerState,
		limits: Partial<LedgerLimits> = {},
	) {
		this.limits = { ...DEFAULT_LEDGER_LIMITS, ...limits };
	}

	/**
	 * A valid bus message of a selected event type arrived (executed or filtered, the bus decides
	 * it either way). `skip` means the history already emitted its row.
	 */
	admitBus(messageId: string | null, key: string, now: number): BusVerdict {
		const state = this.state;
		if (messageId !== null) {
			const seen = state.seen.find((entry) => entry.messageId === messageId);
			if (seen) return seen.skipped ? 'skip' : 'deliver';
		}
		let verdict: BusVerdict = 'deliver';
		const emitted = state.history.findIndex((mark) => mark.key === key);
		const waiting = firstPendingIndex(state.pending, key);
		if (emitted >= 0) {
			state.history.splice(emitted, 1);
			verdict = 'skip';
		} else if (waiting >= 0) {
			// Its row is already here and not yet decided: the bus takes it.
			state.pending.splice(waiting, 1);
		} else if (messageId !== null) {
			state.bus.push({ key, messageId, at: now });
		}
		if (messageId !== null) state.seen.push({ messageId, at: now, skipped: verdict === 'skip' });
		return verdict;
	}

	/**
	 * Rows the history cursor accepted (each event id exactly once). A row pairs with the oldest
	 * bus message of its key that is still unpaired; otherwise it waits to settle.
	 */
	admitRows(rows: readonly EsiEventRow[], now: number): { pairedWithBus: number; pending: number } {
		let pairedWithBus = 0;
		let pending = 0;
		const known = new Set(this.state.pending.map((entry) => entry.row.id));
		for (const row of [...rows].sort((a, b) => a.id - b.id)) {
			if (known.has(row.id)) continue;
			const key = rowMatchKey(row);
			const bus = this.state.bus.findIndex((mark) => mark.key === key);
			if (bus >= 0) {
				this.state.bus.splice(bus, 1);
				pairedWithBus++;
			} else {
				this.state.pending.push({ key, row, seenAt: now });
				known.add(row.id);
				pending++;
			}
		}
		return { pairedWithBus, pending };
	}

	/** Pending rows whose settle time is over (still pending: decide them with resolveByHistory). */
	due(now: number): PendingRow[] {
		return this.state.pending.filter((entry) => now - entry.seenAt >= this.limits.settleMs);
	}

	/** Milliseconds until the next pending row is due; undefined when none waits. */
	nextDueInMs(now: number): number | undefined {
		if (this.state.pending.length === 0) return undefined;
		const earliest = Math.min(...this.state.pending.map((entry) => entry.seenAt));
		return Math.max(0, earliest + this.limits.settleMs - now);
	}

	/**
	 * The history decides a due row: true when it was still pending (emit it), false when a bus
	 * message took it while its lease was being fetched.
	 */
	resolveByHistory(eventId: number, now: number): boolean {
		const index = this.state.pending.findIndex((entry) => entry.row.id === eventId);
		if (index < 0) return false;
		const [entry] = this.state.pending.splice(index, 1);
		this.state.history.push({ key: entry.key, eventId, at: now });
		return true;
	}

	/** A history pass that read everything up to its start (not truncated) finished. */
	completePass(startedAt: number): void {
		this.state.lastCompletePassAt = Math.max(this.state.lastCompletePassAt ?? 0, startedAt);
	}

	/** Drops what can no longer pair, then what exceeds the count bounds (oldest first). */
	prune(now: number): PruneReport {
		const state = this.state;
		const limits = this.limits;
		const before = { bus: state.bus.length, history: state.history.length };
		const lastPass = state.lastCompletePassAt;
		// A complete pass that started settle + grace after the message would have seen its row.
		if (lastPass !== null) {
			state.bus = state.bus.filter((mark) => lastPass - mark.at < limits.settleMs + limits.graceMs);
		}
		state.history = state.history.filter((mark) => now - mark.at < limits.historyRetentionMs);
		state.seen = state.seen.filter((entry) => now - entry.at < limits.seenRetentionMs);
		const afterAge = state.history.length;
		state.bus = newest(state.bus, limits.maxBusMarks);
		state.history = newest(state.history, limits.maxHistoryMarks);
		state.seen = newest(state.seen, limits.maxSeen);
		return {
			busMarks: before.bus - state.bus.length,
			historyMarks: before.history - state.history.length,
			historyMarksEvicted: afterAge - state.history.length,
		};
	}
}

function firstPendingIndex(pending: readonly PendingRow[], key: string): number {
	let best = -1;
	for (let index = 0; index < pending.length; index++) {
		if (pending[index].key !== key) continue;
		if (best < 0 || pending[index].row.id < pending[best].row.id) best = index;
	}
	return best;
}

/** The last `max` entries (entries are appended in time order). */
function newest<T>(entries: T[], max: number): T[] {
	return entries.length > max ? entries.slice(entries.length - max) : entries;
}

/** What the reconciler needs from the history poller (core/history/poller.ts). */
export interface ReconcileHistory {
	advance(): Promise<{
		rows: EsiEventRow[];
		step: Pick<CursorStep<{ id: number }>, 'truncated'>;
		fetched: number;
		commit(): void;
	}>;
	normalize(rows: EsiEventRow[], withLeases: boolean): Promise<EsiLeapEvent[]>;
}

export interface ReconcilerOptions {
	history: ReconcileHistory;
	/** The ledger's home in static data: read once, written after every change. */
	store: { read(): unknown; write(state: LedgerState): void };
	/** Event types plus payload filters, as on the bus. */
	select: EventPredicate;
	/** The event types chosen (`fulfill.end`, ...): only those take part in matching. */
	events: readonly string[];
	/** Emits history items (source `history`); called synchronously after the ledger change. */
	deliver(events: EsiLeapEvent[]): void;
	limits?: Partial<LedgerLimits>;
	now?: () => number;
	isStopped?: () => boolean;
	logger?: HistoryLogger;
}

export interface PassReport {
	fetched: number;
	/** New rows the cursor accepted this pass. */
	rows: number;
	pairedWithBus: number;
	/** Rows decided by the history this pass; `emitted` of them matched the selection. */
	decidedByHistory: number;
	emitted: number;
	pending: number;
	/** More rows wait above the cursor: run again soon. */
	truncated: boolean;
	/** No rows were read: `maxPending` rows wait to settle (they are decided first). */
	heldBack: boolean;
	/** The pass finished after stop: nothing was decided. */
	discarded: boolean;
}

export class Reconciler {
	readonly ledger: ChannelLedger;
	private readonly now: () => number;
	private readonly events: ReadonlySet<string>;

	constructor(private readonly options: ReconcilerOptions) {
		this.ledger = new ChannelLedger(parseLedger(options.store.read()), options.limits);
		this.now = options.now ?? Date.now;
		this.events = new Set(options.events);
		options.store.write(this.ledger.state);
	}

	/** Bus side: called for every valid bus item before it is executed or filtered. */
	admitBus(event: EsiLeapEvent): BusVerdict {
		if (!this.events.has(event.event)) return 'deliver';
		const verdict = this.ledger.admitBus(event.message_id, busMatchKey(event), this.now());
		this.options.store.write(this.ledger.state);
		return verdict;
	}

	nextDueInMs(): number | undefined {
		return this.ledger.nextDueInMs(this.now());
	}

	private prune(): void {
		const pruned = this.ledger.prune(this.now());
		if (pruned.historyMarksEvicted > 0) {
			this.options.logger?.warn(
				'Forgot history-emitted events before their retention ended (too many); a late bus copy of those would run again',
				{ evicted: pruned.historyMarksEvicted },
			);
		}
	}

	/** One history pass: read new rows, pair them, emit the rows whose bus message never came. */
	async pass(): Promise<PassReport> {
		const startedAt = this.now();
		const report: PassReport = {
			fetched: 0,
			rows: 0,
			pairedWithBus: 0,
			decidedByHistory: 0,
			emitted: 0,
			pending: 0,
			truncated: false,
			heldBack: false,
			discarded: false,
		};
		const stopped = () => this.options.isStopped?.() === true;
		if (this.ledger.state.pending.length < this.ledger.limits.maxPending) {
			const advanced = await this.options.history.advance();
			if (stopped()) return { ...report, discarded: true };
			// Cursor and ledger change together, with no await in between.
			advanced.commit();
			const admitted = this.ledger.admitRows(advanced.rows, this.now());
			report.fetched = advanced.fetched;
			report.rows = advanced.rows.length;
			report.pairedWithBus = admitted.pairedWithBus;
			report.truncated = advanced.step.truncated;
			if (!advanced.step.truncated) this.ledger.completePass(startedAt);
		} else {
			report.heldBack = true;
		}
		this.prune();
		this.options.store.write(this.ledger.state);

		const due = this.ledger.due(this.now());
		if (due.length > 0) {
			// Lease and node fields, as a bus item has them (its current state, not a snapshot).
			const items = await this.options.history.normalize(
				due.map((entry) => entry.row),
				true,
			);
			if (stopped())
				return { ...report, pending: this.ledger.state.pending.length, discarded: true };
			const decided = new Set<number>();
			const at = this.now();
			for (const entry of due) {
				if (this.ledger.resolveByHistory(entry.row.id, at)) decided.add(entry.row.id);
			}
			const emit = items.filter(
				(item) => item.event_id !== null && decided.has(item.event_id) && this.options.select(item),
			);
			report.decidedByHistory = decided.size;
			report.emitted = emit.length;
			this.prune();
			this.options.store.write(this.ledger.state);
			if (emit.length > 0) this.options.deliver(emit);
		}
		report.pending = this.ledger.state.pending.length;
		return report;
	}
}
