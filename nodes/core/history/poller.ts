/**
 * Event-history polling over `GET /v1/events` (spec §3.4, §4.5): one bounded poll step, the
 * first-activation start position, the "newest matching event" search of a manual test, a
 * failure streak that decides when a run of errors is worth reporting, and a scheduler that runs
 * polls one at a time. Free of n8n: the node passes a cursor store, an emit port and a clock.
 *
 * Ordering rule of a poll: everything that can fail (listing, lease lookups) happens first; then,
 * in ONE synchronous block, the new cursor is written to the store and the batch is handed to
 * `deliver`. n8n saves static data when a trigger emits, so the cursor it saves is always the one
 * that matches what was emitted, and a failed poll leaves the stored cursor untouched.
 *
 * ESI's `GET /v1/events` has no paging: every poll streams the whole answer above the requested
 * id through `scanEvents` and keeps only what it uses (CursorIntake), so a backlog of any size
 * costs memory in proportion to `maxEventsPerPoll`, not to the backlog; rows the intake cannot
 * use are not even parsed (CursorIntake.wants).
 */
import {
	checkEventRow,
	type EsiLeapClient,
	type EventListFilters,
	type ScannedEventRow,
} from '../api/client';
import type { EsiEventRow } from '../api/schemas';
import type { EventPredicate } from '../events/filters';
import {
	isSupportedEventType,
	normalizeHistoryEvent,
	type HistoryEventRow,
	type RestLease,
} from '../events/normalize';
import type { EsiLeapEvent, ShortEventType } from '../events/types';
import { settlesWithin, sleepUnlessAborted, type Clock } from '../clock';
import { KeepBest } from './keepBest';
import {
	advanceCursor,
	createCursorState,
	CursorIntake,
	DEFAULT_CURSOR_LIMITS,
	lastEventIdToRequest,
	parseCursorState,
	type CursorLimits,
	type CursorState,
	type CursorStep,
	type GapRange,
} from './cursor';

export type HistoryClient = Pick<EsiLeapClient, 'scanEvents' | 'getLease'>;

/** Where the first activation starts (later activations continue from the stored cursor). */
export type StartPosition =
	| { kind: 'now' }
	| { kind: 'afterEventId'; eventId: number }
	| { kind: 'beginning' };

/** What is kept in the node's static data. */
export interface StoredCursor {
	/** The start position the cursor was created for; a different one starts over. */
	origin: string;
	state: CursorState;
}

/** Port to the node's static data. `write` must be synchronous (see the ordering rule above). */
export interface CursorStore {
	read(): unknown;
	write(value: StoredCursor): void;
}

export interface HistoryLogger {
	debug(message: string, meta?: Record<string, unknown>): void;
	info(message: string, meta?: Record<string, unknown>): void;
	warn(message: string, meta?: Record<string, unknown>): void;
	error(message: string, meta?: Record<string, unknown>): void;
}

export interface HistorySelection {
	/** The chosen event types; the first filter, applied before any lease lookup. */
	events: readonly ShortEventType[];
	/** Event types plus payload filters, on the normalized item. */
	select: EventPredicate;
	resourceType?: string;
	resourceUuid?: string;
}

export interface HistoryPollerOptions {
	client: HistoryClient;
	store: CursorStore;
	start: StartPosition;
	selection: HistorySelection;
	/** Fetch each event's lease (GET /v1/leases/{uuid}) so items carry lease and node fields. */
	leaseDetails?: boolean;
	includeRaw?: boolean;
	limits?: Partial<CursorLimits>;
	/** Epoch milliseconds; injected so the grace window can be tested. */
	now?: () => number;
	/** Receives the matching events of one poll, sorted by id. Called synchronously after the store write. */
	deliver(events: EsiLeapEvent[]): void;
	/** A poll that finishes after this turns true emits nothing and keeps the old cursor. */
	isStopped?: () => boolean;
	logger?: HistoryLogger;
}

export interface PollReport {
	/** Rows ESI returned. */
	fetched: number;
	/** Of those, the rows held in memory to decide the poll (at most maxEventsPerPoll + 1 + gap fillers). */
	kept: number;
	/** Rows newly accepted by the cursor (matching or not). */
	accepted: number;
	emitted: number;
	lateArrivals: number;
	abandonedGaps: GapRange[];
	/** More new events are waiting than one poll takes. */
	truncated: boolean;
	cursor: number;
	/** The poll finished after stop: nothing was emitted or stored. */
	discarded: boolean;
}

const LEASE_LOOKUP_CONCURRENCY = 4;
/** A manual test looks up at most this many leases while searching for a match. */
const MANUAL_LEASE_LOOKUPS = 20;
/** ...among the newest this many rows that pass the cheap checks (type, resource). */
const MANUAL_CANDIDATES = 1000;

const SILENT_LOGGER: HistoryLogger = {
	debug: () => undefined,
	info: () => undefined,
	warn: () => undefined,
	error: () => undefined,
};

export function originOf(start: StartPosition): string {
	switch (start.kind) {
		case 'now':
			return 'now';
		case 'beginning':
			return 'beginning';
		case 'afterEventId':
			return `after:${start.eventId}`;
	}
}

/**
 * The query sent to ESI. `event_type` takes one value, so it is sent only when exactly one event
 * type is chosen. ESI filters `resource_uuid` on `resource_type` too, defaulting it to
 * `ironic_node` (spec §3.4), so a UUID alone is filtered here instead of on the server.
 */
export function serverFilters(selection: HistorySelection): EventListFilters {
	const filters: EventListFilters = {};
	if (selection.events.length === 1) filters.eventType = `esi_leap.lease.${selection.events[0]}`;
	if (selection.resourceType) {
		filters.resourceType = selection.resourceType;
		if (selection.resourceUuid) filters.resourceUuid = selection.resourceUuid;
	}
	return filters;
}

/** The fields the cheap checks read; unchecked rows from a scan qualify too. */
type RowFields = Partial<Record<'event_type' | 'resource_type' | 'resource_uuid', unknown>>;

/** The cheap checks that need no lease: supported type, chosen type, resource. */
function rowFilter(selection: HistorySelection): (row: RowFields) => boolean {
	const wanted = new Set<string>(selection.events.map((event) => `esi_leap.lease.${event}`));
	return (row) =>
		typeof row.event_type === 'string' &&
		isSupportedEventType(row.event_type) &&
		wanted.has(row.event_type) &&
		(!selection.resourceType || row.resource_type === selection.resourceType) &&
		(!selection.resourceUuid || row.resource_uuid === selection.resourceUuid);
}

export class HistoryPoller {
	private readonly limits: CursorLimits;
	private readonly now: () => number;
	private readonly logger: HistoryLogger;
	private readonly origin: string;
	private readonly query: EventListFilters;
	private readonly wantedRow: (row: RowFields) => boolean;

	constructor(private readonly options: HistoryPollerOptions) {
		this.limits = { ...DEFAULT_CURSOR_LIMITS, ...options.limits };
		this.now = options.now ?? Date.now;
		this.logger = options.logger ?? SILENT_LOGGER;
		this.origin = originOf(options.start);
		this.query = serverFilters(options.selection);
		this.wantedRow = rowFilter(options.selection);
	}

	/** The stored cursor when it belongs to this start position. */
	storedState(): CursorState | undefined {
		const stored = this.options.store.read() as Partial<StoredCursor> | undefined;
		if (!stored || stored.origin !== this.origin) return undefined;
		return parseCursorState(stored.state);
	}

	/**
	 * Makes sure a cursor exists (first activation, or a changed start position) and stores it.
	 * Only `now` talks to ESI: it records the newest visible id, so activating never replays history.
	 */
	async initialize(): Promise<CursorState> {
		const existing = this.storedState();
		if (existing) return existing;
		const start = this.options.start;
		let cursor = 0;
		if (start.kind === 'afterEventId') cursor = start.eventId;
		if (start.kind === 'now') {
			// Only the newest id is needed: no row is parsed.
			const scan = await this.options.client.scanEvents(
				this.query,
				() => undefined,
				() => false,
			);
			cursor = scan.newestId ?? 0;
		}
		const state = createCursorState(cursor);
		this.options.store.write({ origin: this.origin, state });
		this.logger.info('Event history cursor created', { start: this.origin, cursor });
		return state;
	}

	/**
	 * The cursor step of one poll without delivering: the checked rows of the selected types that
	 * the cursor accepts (each id once, gaps included), and `commit`, which stores the new cursor.
	 * The Message Bus trigger's reconciliation reads the history through this (core/bus/reconcile.ts);
	 * it calls `commit` synchronously with its own state change. Throws (nothing stored) when ESI fails.
	 */
	async advance(): Promise<{
		rows: EsiEventRow[];
		step: CursorStep<ScannedEventRow>;
		fetched: number;
		commit(): void;
	}> {
		const state = await this.initialize();
		const { step, fetched } = await this.fetchStep(state);
		return {
			rows: this.checkAccepted(step.accepted).filter(this.wantedRow),
			step,
			fetched,
			commit: () => this.options.store.write({ origin: this.origin, state: step.next }),
		};
	}

	/** One poll. Throws (cursor untouched) when ESI or Keystone fails. */
	async poll(): Promise<PollReport> {
		const state = await this.initialize();
		const { step, fetched, kept } = await this.fetchStep(state);
		const candidates = this.checkAccepted(step.accepted).filter(this.wantedRow);
		const items = await this.normalize(candidates, this.options.leaseDetails === true);
		const matching = items.filter(this.options.selection.select);
		const report: PollReport = {
			fetched,
			kept,
			accepted: step.accepted.length,
			emitted: matching.length,
			lateArrivals: step.lateArrivals.length,
			abandonedGaps: step.abandonedGaps,
			truncated: step.truncated,
			cursor: step.next.cursor,
			discarded: false,
		};
		if (this.options.isStopped?.()) {
			return { ...report, emitted: 0, cursor: state.cursor, discarded: true };
		}
		// The ordering rule: store, then deliver, with no await in between.
		this.options.store.write({ origin: this.origin, state: step.next });
		if (matching.length > 0) this.options.deliver(matching);

		for (const gap of step.abandonedGaps) {
			this.logger.debug('Stopped waiting for missing event ids', { from: gap.from, to: gap.to });
		}
		if (step.truncated) {
			this.logger.info('Event backlog: the rest follows on the next polls', {
				cursor: step.next.cursor,
				maxEventsPerPoll: this.limits.maxEventsPerPoll,
			});
		}
		return report;
	}

	/**
	 * The newest event matching the selection, for a manual test; never touches the store.
	 * Only the newest MANUAL_CANDIDATES rows passing the cheap checks are kept while ESI's answer
	 * streams by. `searched` says how many rows ESI returned, for the "nothing matched" message.
	 */
	async findNewestMatching(): Promise<{ event?: EsiLeapEvent; searched: number }> {
		const candidates = new KeepBest<ScannedEventRow>(MANUAL_CANDIDATES, (a, b) => a.id > b.id);
		const { count } = await this.options.client.scanEvents(
			this.query,
			(row) => {
				if (this.wantedRow(row.value)) candidates.offer(row);
			},
			(id) => candidates.wouldKeep((worst) => id > worst.id),
		);
		let leaseLookups = 0;
		for (const candidate of candidates.sorted()) {
			const row = checkEventRow(candidate);
			const withLease = this.options.leaseDetails === true && leaseLookups < MANUAL_LEASE_LOOKUPS;
			if (withLease) leaseLookups++;
			const [event] = await this.normalize([row], withLease);
			if (event && this.options.selection.select(event)) return { event, searched: count };
		}
		return { searched: count };
	}

	/** Streams ESI's answer, keeping only the rows the cursor can use, then advances the cursor. */
	private async fetchStep(state: CursorState) {
		const lastEventId = lastEventIdToRequest(state);
		const intake = new CursorIntake<ScannedEventRow>(state, this.limits);
		const { count } = await this.options.client.scanEvents(
			{ ...this.query, ...(lastEventId > 0 ? { lastEventId } : {}) },
			(row) => intake.offer(row),
			(id) => intake.wants(id),
		);
		const kept = intake.rows();
		return {
			step: advanceCursor(state, kept, this.now(), this.limits),
			fetched: count,
			kept: kept.length,
		};
	}

	/**
	 * The full check of the rows the cursor accepted (only those: a backlog is not validated row by
	 * row on every poll). A row ESI Leap returned malformed can never become valid, so it is
	 * skipped with a warning instead of blocking the cursor for good.
	 */
	private checkAccepted(rows: ScannedEventRow[]): EsiEventRow[] {
		const checked: EsiEventRow[] = [];
		for (const row of rows) {
			try {
				checked.push(checkEventRow(row));
			} catch (error) {
				this.logger.warn('Skipped an event row ESI Leap returned malformed', {
					eventId: row.id,
					error: (error as Error).message,
				});
			}
		}
		return checked;
	}

	/** Rows → normalized items (malformed rows skipped with a warning), leases fetched when asked. */
	async normalize(rows: EsiEventRow[], withLeases: boolean): Promise<EsiLeapEvent[]> {
		const leases = withLeases ? await this.lookUpLeases(rows) : undefined;
		const events: EsiLeapEvent[] = [];
		for (const row of rows) {
			const lease = row.object_uuid ? leases?.get(row.object_uuid) : undefined;
			try {
				events.push(
					normalizeHistoryEvent(row as HistoryEventRow, {
						includeRaw: this.options.includeRaw,
						lease: lease instanceof Error ? undefined : lease,
						leaseError: lease instanceof Error ? lease.message : undefined,
					}),
				);
			} catch (error) {
				// A malformed row can never become valid: skip it rather than block the cursor.
				this.logger.warn('Skipped an event row ESI Leap returned malformed', {
					eventId: row.id,
					error: (error as Error).message,
				});
			}
		}
		return events;
	}

	/** One lookup per distinct lease, a few at a time; a failure is kept as the lease's error. */
	private async lookUpLeases(rows: EsiEventRow[]): Promise<Map<string, RestLease | Error>> {
		const uuids = [...new Set(rows.map((row) => row.object_uuid).filter(isText))];
		const results = new Map<string, RestLease | Error>();
		let next = 0;
		const worker = async () => {
			while (next < uuids.length) {
				const uuid = uuids[next++];
				const lease = await this.options.client.getLease(uuid).then(
					(found) => found as RestLease,
					(error: unknown) => (error instanceof Error ? error : new Error(String(error))),
				);
				results.set(uuid, lease);
			}
		};
		await Promise.all(
			Array.from({ length: Math.min(LEASE_LOOKUP_CONCURRENCY, uuids.length) }, worker),
		);
		return results;
	}
}

function isText(value: string | null | undefined): value is string {
	return typeof value === 'string' && value !== '';
}

export interface FailureStreakOptions {
	/** Report once this many polls in a row failed (default 3)... */
	reportAfter?: number;
	/** ...then every this many further failures (default 10). */
	reportEvery?: number;
	report(error: Error, consecutiveFailures: number): void;
	logger?: HistoryLogger;
}

/**
 * Counts consecutive failed polls. A single blip is only logged; a streak is reported (n8n: a
 * failed execution record) at the threshold and then every Nth failure, so a long outage is
 * visible without one record per tick.
 */
export class FailureStreak {
	private count = 0;
	private readonly reportAfter: number;
	private readonly reportEvery: number;

	constructor(private readonly options: FailureStreakOptions) {
		this.reportAfter = Math.max(1, options.reportAfter ?? 3);
		this.reportEvery = Math.max(1, options.reportEvery ?? 10);
	}

	get consecutiveFailures(): number {
		return this.count;
	}

	failed(error: Error): void {
		this.count++;
		this.options.logger?.warn('Event history poll failed; retrying on the next tick', {
			consecutiveFailures: this.count,
			error: error.message,
		});
		const beyond = this.count - this.reportAfter;
		if (beyond >= 0 && beyond % this.reportEvery === 0) this.options.report(error, this.count);
	}

	succeeded(): void {
		if (this.count > 0) {
			this.options.logger?.info('Event history polling recovered', {
				failedPolls: this.count,
			});
		}
		this.count = 0;
	}
}

export interface PollSchedulerOptions {
	intervalMs: number;
	/**
	 * One poll; must not throw (errors are the caller's to count). Resolving `'more'` says a
	 * backlog is waiting: the next poll then follows after `catchUpDelayMs`, not a full interval.
	 */
	run(): Promise<'more' | unknown>;
	/** Default 0: drain a backlog as fast as n8n takes the executions. */
	catchUpDelayMs?: number;
	/** The time and the sleep between runs (n8n's sleep in the node, nodes/shared/clock.ts). */
	clock: Clock;
}

/**
 * Runs `run` every `intervalMs`, measured from the end of the previous run, so polls never
 * overlap however slow ESI is. One loop with one sleep at a time; stop() aborts the sleep and
 * waits for the run in flight.
 */
export class PollScheduler {
	/** When the next run is due (epoch ms); Infinity while a run is in flight or after stop. */
	private dueAt = Infinity;
	/** Aborts the current sleep: stop(), or runWithin() moving the due time forward. */
	private wake: AbortController | undefined;
	private inFlight: Promise<void> | undefined;
	/** A run asked for while one was in flight: the delay after it finishes. */
	private requestedDelayMs: number | undefined;
	private stopped = false;
	private loop: Promise<void> | undefined;

	constructor(private readonly options: PollSchedulerOptions) {}

	get isStopped(): boolean {
		return this.stopped;
	}

	start(firstDelayMs = 0): void {
		this.stopped = false;
		this.dueAt = this.options.clock.now() + firstDelayMs;
		this.loop ??= this.runLoop().finally(() => {
			this.loop = undefined;
		});
	}

	/** Resolves true when no poll is running any more, false when `waitMs` ran out first. */
	async stop(waitMs: number): Promise<boolean> {
		this.stopped = true;
		this.dueAt = Infinity;
		this.wake?.abort();
		const running = this.inFlight;
		if (!running) return true;
		return await settlesWithin(this.options.clock, running, waitMs);
	}

	/**
	 * Brings the next run forward to at most `delayMs` from now (an event such as a reconnect
	 * that makes a run worth doing early). A run in flight is not doubled: the next one follows
	 * `delayMs` after it ends.
	 */
	runWithin(delayMs: number): void {
		if (this.stopped) return;
		if (this.inFlight) {
			this.requestedDelayMs = Math.min(this.requestedDelayMs ?? Infinity, delayMs);
			return;
		}
		const dueAt = this.options.clock.now() + delayMs;
		if (dueAt >= this.dueAt) return;
		this.dueAt = dueAt;
		this.wake?.abort();
	}

	private async runLoop(): Promise<void> {
		const { clock } = this.options;
		while (!this.stopped) {
			// Every run follows a sleep, a 0 ms one too, so start() returns before the first run.
			const wake = new AbortController();
			this.wake = wake;
			const slept = await sleepUnlessAborted(clock, this.dueAt - clock.now(), wake.signal);
			this.wake = undefined;
			// Aborted: stop(), or runWithin() moved the due time; the loop looks at both again.
			if (!slept || this.stopped) continue;
			this.dueAt = Infinity;
			let next = this.options.intervalMs;
			this.inFlight = this.options.run().then(
				(outcome) => {
					if (outcome === 'more') next = this.options.catchUpDelayMs ?? 0;
				},
				() => undefined,
			);
			await this.inFlight;
			this.inFlight = undefined;
			if (this.requestedDelayMs !== undefined) next = Math.min(next, this.requestedDelayMs);
			this.requestedDelayMs = undefined;
			this.dueAt = clock.now() + next;
		}
	}
}
