/**
 * The watch events ESI Leap never sends (lease created, end time changed, ending soon, offer
 * available, offer gone), found by comparing what `GET /v1/leases` and `GET /v1/offers` return
 * now with a snapshot of the previous poll. Pure: no I/O, no clock of its own (the caller passes
 * "now", taken from ESI's clock), no n8n.
 *
 * The snapshot holds only live objects (those the last list returned): per lease its end time,
 * status and the lead times already warned for that end time; per offer its resource. An object
 * that leaves the list leaves the snapshot, so the size follows what ESI lists, not history.
 *
 * Rules (the model test in test/core/watch/diff.model.test.ts checks them against a perfect
 * observer that samples ESI at the same polls):
 * - first poll (no snapshot): a silent baseline, unless `emitCurrent` (then everything listed is
 *   new, once);
 * - `lease.created`: a lease listed now and not in the snapshot;
 * - `lease.end_time_changed`: a listed lease whose end time differs from the snapshot's
 *   (previous and new end time);
 * - `lease.ending_soon`: an `active` lease with `now >= end_time - lead`, once per lease, lead and
 *   end time (a changed end time clears the lead times warned, so an extended lease warns again).
 *   The baseline counts the lead times already reached as warned;
 * - `offer.available`: an offer listed now and not in the snapshot; `offer.gone`: the reverse.
 */

/** What the diff reads of a lease (ESI's lease object has more; it is passed through). */
export interface LeaseFacts {
	uuid: string;
	status: string;
	/** ISO-8601 UTC, as the client's schemas return it. */
	end_time: string;
}

export interface OfferFacts {
	uuid: string;
	resource_type: string;
	resource_uuid: string;
}

/** A lease in the snapshot: end time, status, lead times (seconds) warned for that end time. */
export interface LeaseMemo {
	e: string;
	s: string;
	w?: number[];
}

/** An offer in the snapshot: its resource, so an `offer.gone` item names the node. */
export interface OfferMemo {
	t: string;
	r: string;
}

export type LeaseChange<L extends LeaseFacts> =
	| { kind: 'lease.created'; lease: L }
	| { kind: 'lease.end_time_changed'; lease: L; previousEndTime: string }
	| { kind: 'lease.ending_soon'; lease: L; leadSeconds: number };

export interface LeaseDiffOptions {
	/** ESI's "now", epoch milliseconds. */
	now: number;
	/** Lead times in seconds; any order. */
	leadSeconds: readonly number[];
	/** First poll only: report what is listed instead of a silent baseline. */
	emitCurrent?: boolean;
}

export interface LeaseDiff<L extends LeaseFacts> {
	changes: Array<LeaseChange<L>>;
	next: Record<string, LeaseMemo>;
}

/** Milliseconds of an ISO time; NaN when unreadable (such a lease is never warned). */
function epochMs(iso: string): number {
	return Date.parse(iso);
}

/** The lead times (descending) whose warning point `end - lead` has been reached at `now`. */
export function reachedLeads(
	lease: LeaseFacts,
	now: number,
	leadsDescending: readonly number[],
): number[] {
	if (lease.status !== 'active') return [];
	const end = epochMs(lease.end_time);
	if (Number.isNaN(end)) return [];
	return leadsDescending.filter((lead) => now >= end - lead * 1000);
}

function descending(leads: readonly number[]): number[] {
	return [...new Set(leads)].sort((a, b) => b - a);
}

export function diffLeases<L extends LeaseFacts>(
	previous: Record<string, LeaseMemo> | undefined,
	current: readonly L[],
	options: LeaseDiffOptions,
): LeaseDiff<L> {
	const leads = descending(options.leadSeconds);
	const baseline = previous === undefined && !options.emitCurrent;
	const before = previous ?? {};
	const changes: Array<LeaseChange<L>> = [];
	const next: Record<string, LeaseMemo> = {};
	for (const lease of current) {
		if (Object.prototype.hasOwnProperty.call(next, lease.uuid)) continue;
		const memo = Object.prototype.hasOwnProperty.call(before, lease.uuid)
			? before[lease.uuid]
			: undefined;
		const reached = reachedLeads(lease, options.now, leads);
		let warned: number[];
		if (baseline) {
			warned = reached;
		} else {
			if (!memo) changes.push({ kind: 'lease.created', lease });
			const sameEnd = memo !== undefined && memo.e === lease.end_time;
			if (memo && !sameEnd) {
				changes.push({ kind: 'lease.end_time_changed', lease, previousEndTime: memo.e });
			}
			const already = new Set(sameEnd ? (memo.w ?? []) : []);
			for (const lead of reached) {
				if (!already.has(lead))
					changes.push({ kind: 'lease.ending_soon', lease, leadSeconds: lead });
			}
			// Only configured lead times are kept (a change of lead times is a new scope anyway).
			warned = leads.filter((lead) => already.has(lead) || reached.includes(lead));
		}
		next[lease.uuid] =
			warned.length > 0
				? { e: lease.end_time, s: lease.status, w: warned }
				: { e: lease.end_time, s: lease.status };
	}
	return { changes, next };
}

export interface OfferDiff<O extends OfferFacts> {
	available: O[];
	gone: Array<{ uuid: string; memo: OfferMemo }>;
	next: Record<string, OfferMemo>;
}

export function diffOffers<O extends OfferFacts>(
	previous: Record<string, OfferMemo> | undefined,
	current: readonly O[],
	options: { emitCurrent?: boolean } = {},
): OfferDiff<O> {
	const baseline = previous === undefined && !options.emitCurrent;
	const before = previous ?? {};
	const next: Record<string, OfferMemo> = {};
	const available: O[] = [];
	for (const offer of current) {
		if (Object.prototype.hasOwnProperty.call(next, offer.uuid)) continue;
		next[offer.uuid] = { t: offer.resource_type, r: offer.resource_uuid };
		if (!baseline && !Object.prototype.hasOwnProperty.call(before, offer.uuid)) {
			available.push(offer);
		}
	}
	const gone = Object.keys(before)
		.filter((uuid) => !Object.prototype.hasOwnProperty.call(next, uuid))
		.map((uuid) => ({ uuid, memo: before[uuid] }));
	return { available, gone, next };
}

/** What the watch keeps in the node's static data. */
export interface WatchState {
	version: 1;
	/**
	 * The settings the snapshot was taken under (filters, scope, lead times): a different one
	 * takes a new silent baseline instead of reporting the difference as events.
	 */
	scope: string;
	/** Absent until the first lease poll. */
	leases?: Record<string, LeaseMemo>;
	/** Absent until the first offer poll. */
	offers?: Record<string, OfferMemo>;
}

function isRecordOf<T>(
	value: unknown,
	check: (entry: unknown) => entry is T,
): value is Record<string, T> {
	return (
		value !== null &&
		typeof value === 'object' &&
		!Array.isArray(value) &&
		Object.values(value as Record<string, unknown>).every(check)
	);
}

function isLeaseMemo(value: unknown): value is LeaseMemo {
	const memo = value as Partial<LeaseMemo> | null;
	return (
		memo !== null &&
		typeof memo === 'object' &&
		typeof memo.e === 'string' &&
		typeof memo.s === 'string' &&
		(memo.w === undefined ||
			(Array.isArray(memo.w) && memo.w.every((lead) => typeof lead === 'number')))
	);
}

function isOfferMemo(value: unknown): value is OfferMemo {
	const memo = value as Partial<OfferMemo> | null;
	return (
		memo !== null &&
		typeof memo === 'object' &&
		typeof memo.t === 'string' &&
		typeof memo.r === 'string'
	);
}

/**
 * The stored state when it is one of ours and was taken under `scope`; undefined otherwise
 * (missing, damaged or other settings), which makes the next poll a baseline.
 */
export function parseWatchState(stored: unknown, scope: string): WatchState | undefined {
	const state = stored as Partial<WatchState> | null | undefined;
	if (!state || typeof state !== 'object' || state.version !== 1 || state.scope !== scope) {
		return undefined;
	}
	if (state.leases !== undefined && !isRecordOf(state.leases, isLeaseMemo)) return undefined;
	if (state.offers !== undefined && !isRecordOf(state.offers, isOfferMemo)) return undefined;
	return { version: 1, scope, leases: state.leases, offers: state.offers };
}
