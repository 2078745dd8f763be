/**
 * One watch poll: list leases and/or offers (only what the chosen events need, with the filters
 * ESI applies itself, spec §3.1-3.2), diff with the stored snapshot (diff.ts), look up the offers
 * that left the list to say why, then, in ONE synchronous block, store the new snapshot and hand
 * the items over: the same ordering rule as the history poller (core/history/poller.ts), so the
 * snapshot n8n saves on emit always matches what was emitted, and a failed poll changes nothing.
 *
 * "Now" is ESI's clock: the `Date` header of the lease (or offer) list answer, in whole seconds
 * (client.serverTime()); the injected local clock is used only when ESI sent none.
 */
import type { EsiLeapClient, LeaseListFilters, OfferListFilters } from '../api/client';
import type { Lease, Offer } from '../api/schemas';
import { toEsiTime } from '../api/time';
import type { ItemPredicate } from '../events/filters';
import type { HistoryLogger } from '../history/poller';
import { diffLeases, diffOffers, parseWatchState, type WatchState } from './diff';
import {
	leaseItem,
	offerItem,
	type OfferGoneReason,
	type WatchEventName,
	type WatchItem,
} from './items';

export type WatchClient = Pick<
	EsiLeapClient,
	'listLeases' | 'listOffers' | 'getOffer' | 'serverTime'
>;

export interface WatchSettings {
	events: readonly WatchEventName[];
	/** Lease lead times, seconds (lease.ending_soon). */
	leadSeconds: readonly number[];
	/** Admin: every project's leases (`view=all`); otherwise ESI's own scope (lessee or owner). */
	allProjects?: boolean;
	/** Both lists: resource type and node (ESI filters the node only with a type, spec §3.1). */
	resourceType?: string;
	resourceUuid?: string;
	/** Offers only. */
	resourceClass?: string;
	ownerProject?: string;
	/** Offers reserved for this lessee project (checked here: ESI has no such filter). */
	lesseeProject?: string;
	/** Offers free for this long from now (ESI's available_start_time/available_end_time). */
	freeForSeconds?: number;
	/** First poll: emit what is there instead of a silent baseline. */
	emitCurrent?: boolean;
}

export interface WatchStore {
	read(): unknown;
	/** Synchronous (see the ordering rule above). */
	write(state: WatchState): void;
}

export interface WatcherOptions {
	client: WatchClient;
	store: WatchStore;
	settings: WatchSettings;
	/** Payload filters on the items. */
	select?: ItemPredicate;
	deliver(items: WatchItem[]): void;
	/** Local clock, epoch ms; only when ESI sent no Date header. */
	now?: () => number;
	isStopped?: () => boolean;
	logger?: HistoryLogger;
}

export interface WatchReport {
	leases: number;
	offers: number;
	emitted: number;
	/** The poll took the baseline (nothing emitted for what was there). */
	baseline: boolean;
	/** Requests this poll sent. */
	requests: number;
	discarded: boolean;
}

const OFFER_LOOKUP_CONCURRENCY = 4;
const LEASE_EVENTS = new Set<WatchEventName>([
	'lease.created',
	'lease.end_time_changed',
	'lease.ending_soon',
]);
const OFFER_EVENTS = new Set<WatchEventName>(['offer.available', 'offer.gone']);

/** What identifies the snapshot: a change of any of these starts over with a silent baseline. */
export function watchScope(settings: WatchSettings): string {
	const { emitCurrent: _ignored, ...rest } = settings;
	void _ignored;
	return JSON.stringify({
		...rest,
		events: [...rest.events].sort(),
		leadSeconds: [...rest.leadSeconds].sort(),
	});
}

function isoOf(ms: number): string {
	// ESI's Date header has whole seconds: no `.000` fraction then.
	return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export class Watcher {
	private readonly scope: string;
	private readonly wantsLeases: boolean;
	private readonly wantsOffers: boolean;
	private readonly now: () => number;

	constructor(private readonly options: WatcherOptions) {
		this.scope = watchScope(options.settings);
		this.wantsLeases = options.settings.events.some((event) => LEASE_EVENTS.has(event));
		this.wantsOffers = options.settings.events.some((event) => OFFER_EVENTS.has(event));
		this.now = options.now ?? Date.now;
	}

	leaseQuery(): LeaseListFilters {
		const settings = this.options.settings;
		return {
			...(settings.allProjects ? { view: 'all' as const } : {}),
			...this.resourceQuery(),
		};
	}

	offerQuery(now: number): OfferListFilters {
		const settings = this.options.settings;
		const query: OfferListFilters = {
			// Only offers that can be claimed: ESI's default list also has `error` ones.
			status: 'available',
			...this.resourceQuery(),
			...(settings.resourceClass ? { resourceClass: settings.resourceClass } : {}),
			...(settings.ownerProject ? { projectId: settings.ownerProject } : {}),
		};
		if (settings.freeForSeconds !== undefined) {
			// Whole seconds, naive UTC (toEsiTime), from ESI's clock.
			query.availableStartTime = toEsiTime(new Date(now));
			query.availableEndTime = toEsiTime(new Date(now + settings.freeForSeconds * 1000));
		}
		return query;
	}

	/** ESI filters `resource_uuid` only together with `resource_type` (spec §3.1); else we do. */
	private resourceQuery(): { resourceType?: string; resourceUuid?: string } {
		const { resourceType, resourceUuid } = this.options.settings;
		if (!resourceType) return {};
		return resourceUuid ? { resourceType, resourceUuid } : { resourceType };
	}

	private matchesLocally(object: { resource_uuid: string }): boolean {
		const wanted = this.options.settings.resourceUuid;
		return !wanted || object.resource_uuid === wanted;
	}

	/** ESI's clock if it sent one, else ours. */
	private esiNow(): number {
		return this.options.client.serverTime() ?? this.now();
	}

	/** No snapshot for these settings yet: the next poll is the baseline. */
	needsBaseline(): boolean {
		return parseWatchState(this.options.store.read(), this.scope) === undefined;
	}

	/** One poll. Throws (snapshot untouched) when ESI or Keystone fails. */
	async poll(): Promise<WatchReport> {
		const stored = parseWatchState(this.options.store.read(), this.scope);
		const settings = this.options.settings;
		let requests = 0;
		let leases: Lease[] | undefined;
		let offers: Offer[] | undefined;
		if (this.wantsLeases) {
			requests++;
			leases = (await this.options.client.listLeases(this.leaseQuery())).filter((lease) =>
				this.matchesLocally(lease),
			);
		}
		if (this.wantsOffers) {
			requests++;
			const before = this.esiNow();
			offers = (await this.options.client.listOffers(this.offerQuery(before))).filter(
				(offer) =>
					offer.status === 'available' &&
					offer.availabilities.length > 0 &&
					this.matchesLocally(offer) &&
					(!settings.lesseeProject || offer.lessee_id === settings.lesseeProject),
			);
		}
		const now = this.esiNow();
		const timestamp = isoOf(now);
		const emitCurrent = settings.emitCurrent === true;
		const wanted = new Set(settings.events);
		const items: WatchItem[] = [];
		const next: WatchState = { version: 1, scope: this.scope };
		const baseline =
			(leases !== undefined && stored?.leases === undefined) ||
			(offers !== undefined && stored?.offers === undefined);

		if (leases) {
			const byUuid = new Map(leases.map((lease) => [lease.uuid, lease]));
			const diff = diffLeases(stored?.leases, leases, {
				now,
				leadSeconds: wanted.has('lease.ending_soon') ? settings.leadSeconds : [],
				emitCurrent,
			});
			next.leases = diff.next;
			for (const change of diff.changes) {
				if (!wanted.has(change.kind)) continue;
				const lease = byUuid.get(change.lease.uuid) as Lease;
				items.push(
					leaseItem(change.kind, lease, timestamp, {
						previousEndTime:
							change.kind === 'lease.end_time_changed' ? change.previousEndTime : undefined,
						leadSeconds: change.kind === 'lease.ending_soon' ? change.leadSeconds : undefined,
					}),
				);
			}
		}
		if (offers) {
			const diff = diffOffers(stored?.offers, offers, { emitCurrent });
			next.offers = diff.next;
			if (wanted.has('offer.available')) {
				for (const offer of diff.available)
					items.push(offerItem('offer.available', { ...offer, offer }, timestamp));
			}
			if (wanted.has('offer.gone') && diff.gone.length > 0) {
				const gone = await this.lookUpGone(diff.gone.map((entry) => entry.uuid));
				requests += diff.gone.length;
				for (const { uuid, memo } of diff.gone) {
					const found = gone.get(uuid) as Offer | Error;
					items.push(
						offerItem(
							'offer.gone',
							{
								uuid,
								resource_type: memo.t,
								resource_uuid: memo.r,
								...(found instanceof Error ? {} : { offer: found }),
							},
							timestamp,
							found instanceof Error
								? { reason: 'unknown', error: found.message }
								: { reason: goneReason(found) },
						),
					);
				}
			}
		}
		const select = this.options.select ?? (() => true);
		const matching = items.filter((item) => select(item));
		const report: WatchReport = {
			leases: leases?.length ?? 0,
			offers: offers?.length ?? 0,
			emitted: matching.length,
			baseline,
			requests,
			discarded: false,
		};
		if (this.options.isStopped?.()) return { ...report, emitted: 0, discarded: true };
		// The ordering rule: store, then deliver, with no await in between.
		this.options.store.write(next);
		if (matching.length > 0) this.options.deliver(matching);
		if (baseline) {
			this.options.logger?.info('Watch baseline taken', {
				leases: report.leases,
				offers: report.offers,
			});
		}
		return report;
	}

	/** The final state of each offer that left the list, a few at a time; failures kept as errors. */
	private async lookUpGone(uuids: string[]): Promise<Map<string, Offer | Error>> {
		const results = new Map<string, Offer | Error>();
		let next = 0;
		const worker = async () => {
			while (next < uuids.length) {
				const uuid = uuids[next++];
				results.set(
					uuid,
					await this.options.client.getOffer(uuid).then(
						(offer) => offer,
						(error: unknown) => (error instanceof Error ? error : new Error(String(error))),
					),
				);
			}
		};
		await Promise.all(
			Array.from({ length: Math.min(OFFER_LOOKUP_CONCURRENCY, uuids.length) }, worker),
		);
		return results;
	}
}

/**
 * ESI sets `deleted` on DELETE /v1/offers and `expired` when the manager's `_expire_offers` job
 * passes the end time (spec §6.3); an offer still `available` left the list because leases now
 * cover the time asked for (claimed).
 */
function goneReason(offer: Offer): OfferGoneReason {
	switch (offer.status) {
		case 'deleted':
			return 'deleted';
		case 'expired':
			return 'expired';
		case 'error':
			return 'error';
		case 'available':
			return 'claimed';
		default:
			return 'unknown';
	}
}
