/**
 * Randomized model test of the watch diff: random create / activate / change-end / delete /
 * expire sequences for leases and create / claim / delete for offers, polled at random moments,
 * with n8n restarts (the state goes through JSON, as static data does) between polls.
 *
 * Two observers are compared with what the diff emits:
 * - a *sampling* observer that sees ESI only at the polls (what any poller can know) but
 *   remembers every earlier poll, and applies the README's rules from that whole history:
 *   the diff must emit exactly its events;
 * - a *perfect* observer that sees every change as it happens: everything the diff emits must be
 *   true of it (soundness), and what the diff misses must be of the kinds the README names as not
 *   inferable from lists (objects created and gone between two polls, end-time changes overwritten
 *   before a poll, warnings of leases that ended before a poll reached the lead time).
 */
import { describe, expect, it } from 'vitest';

import {
	diffLeases,
	diffOffers,
	parseWatchState,
	type WatchState,
} from '../../../nodes/core/watch/diff';
import { seededRandom } from '../../helpers/seededRandom';

const HOUR_MS = 3_600_000;
const LEADS = [7 * 24 * 3600, 24 * 3600, 3600];
const START = Date.parse('2026-12-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

interface TrueLease {
	uuid: string;
	status: 'created' | 'active';
	end: number;
	/** Every end time it had, in order. */
	ends: number[];
}

interface World {
	now: number;
	leases: Map<string, TrueLease>;
	offers: Map<string, { uuid: string; resource_type: string; resource_uuid: string }>;
	createdAfterBaseline: Set<string>;
	offersCreatedAfterBaseline: Set<string>;
}

type Emitted = string;

/** The list ESI would return now (live leases only, as the default status filter does). */
function listLeases(world: World) {
	return [...world.leases.values()].map((lease) => ({
		uuid: lease.uuid,
		status: lease.status,
		end_time: iso(lease.end),
	}));
}

function listOffers(world: World) {
	return [...world.offers.values()];
}

interface Observation {
	now: number;
	leases: Map<string, { status: string; end: number }>;
	offers: Set<string>;
}

function observe(world: World): Observation {
	return {
		now: world.now,
		leases: new Map(
			[...world.leases.values()].map((l) => [l.uuid, { status: l.status, end: l.end }]),
		),
		offers: new Set(world.offers.keys()),
	};
}

/**
 * The sampling observer: given every poll's observation (index 0 = baseline), the events each
 * poll should yield, from the whole history rather than from one snapshot.
 */
function samplingObserver(polls: Observation[]): Emitted[] {
	const out: Emitted[] = [];
	for (let p = 1; p < polls.length; p++) {
		const poll = polls[p];
		for (const [uuid, lease] of poll.leases) {
			const seenBefore = polls.slice(0, p).some((earlier) => earlier.leases.has(uuid));
			if (!seenBefore) out.push(`created ${uuid}`);
			const previous = polls[p - 1].leases.get(uuid);
			if (previous && previous.end !== lease.end) {
				out.push(`end ${uuid} ${iso(previous.end)} -> ${iso(lease.end)}`);
			}
			// The run of consecutive polls (ending at p) in which the lease had this end time.
			let runStart = p;
			while (runStart > 0 && polls[runStart - 1].leases.get(uuid)?.end === lease.end) runStart--;
			for (const lead of [...LEADS].sort((a, b) => b - a)) {
				const reachedAt = (q: number) =>
					polls[q].leases.get(uuid)?.status === 'active' && polls[q].now >= lease.end - lead * 1000;
				if (!reachedAt(p)) continue;
				let firstReached = p;
				while (firstReached > runStart && reachedAt(firstReached - 1)) firstReached--;
				// Reached first at this poll, and not already at the silent baseline.
				if (firstReached === p && !(runStart === 0 && p === 0)) {
					out.push(`warn ${uuid} ${lead} ${iso(lease.end)}`);
				}
			}
		}
		for (const uuid of poll.offers) {
			if (!polls.slice(0, p).some((earlier) => earlier.offers.has(uuid)))
				out.push(`available ${uuid}`);
		}
		for (const uuid of polls[p - 1].offers) {
			if (!poll.offers.has(uuid)) out.push(`gone ${uuid}`);
		}
	}
	return out;
}

function run(seed: number, steps: number) {
	const random = seededRandom(seed);
	const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
	const world: World = {
		now: START,
		leases: new Map(),
		offers: new Map(),
		createdAfterBaseline: new Set(),
		offersCreatedAfterBaseline: new Set(),
	};
	let counter = 0;
	const truthEnds = new Map<string, number[]>();
	/** (uuid, lead, end) triples for which the perfect observer saw the lease active at or after the lead point. */
	const trulyReached = new Set<string>();
	const markReached = () => {
		for (const lease of world.leases.values()) {
			if (lease.status !== 'active') continue;
			for (const lead of LEADS) {
				if (world.now >= lease.end - lead * 1000)
					trulyReached.add(`${lease.uuid} ${lead} ${iso(lease.end)}`);
			}
		}
	};
	const createLease = () => {
		const uuid = `L${counter++}`;
		const end = world.now + Math.floor(random() * 10 * 24) * HOUR_MS + 30 * 60_000;
		world.leases.set(uuid, { uuid, status: 'created', end, ends: [end] });
		truthEnds.set(uuid, [end]);
		return uuid;
	};
	// Some leases exist before the first poll: the baseline must stay silent about them.
	for (let i = 0; i < 3; i++) createLease();
	world.offers.set('O-pre', { uuid: 'O-pre', resource_type: 'dummy_node', resource_uuid: 'n-pre' });

	const polls: Observation[] = [];
	const emitted: Emitted[] = [];
	let stored: unknown;
	let state: WatchState | undefined;
	const scope = 'model';
	const poll = () => {
		// A restart now and then: the state is read back from (JSON) static data.
		if (random() < 0.3) state = parseWatchState(JSON.parse(JSON.stringify(stored ?? null)), scope);
		const leases = diffLeases(state?.leases, listLeases(world), {
			now: world.now,
			leadSeconds: LEADS,
		});
		const offers = diffOffers(state?.offers, listOffers(world));
		for (const change of leases.changes) {
			if (change.kind === 'lease.created') emitted.push(`created ${change.lease.uuid}`);
			if (change.kind === 'lease.end_time_changed') {
				emitted.push(
					`end ${change.lease.uuid} ${change.previousEndTime} -> ${change.lease.end_time}`,
				);
			}
			if (change.kind === 'lease.ending_soon') {
				emitted.push(`warn ${change.lease.uuid} ${change.leadSeconds} ${change.lease.end_time}`);
			}
		}
		for (const offer of offers.available) emitted.push(`available ${offer.uuid}`);
		for (const gone of offers.gone) emitted.push(`gone ${gone.uuid}`);
		state = { version: 1, scope, leases: leases.next, offers: offers.next };
		stored = state;
		polls.push(observe(world));
	};
	poll(); // the baseline

	for (let step = 0; step < steps; step++) {
		const roll = random();
		const live = [...world.leases.values()];
		if (roll < 0.15) world.createdAfterBaseline.add(createLease());
		else if (roll < 0.3 && live.some((l) => l.status === 'created')) {
			const lease = pick(live.filter((l) => l.status === 'created'));
			if (lease.end > world.now) lease.status = 'active';
		} else if (roll < 0.42 && live.length > 0) {
			const lease = pick(live);
			const shift = (Math.floor(random() * 72) - 24) * HOUR_MS;
			lease.end = Math.max(world.now + 60_000, lease.end + shift);
			lease.ends.push(lease.end);
			truthEnds.get(lease.uuid)?.push(lease.end);
		} else if (roll < 0.5 && live.length > 0) {
			world.leases.delete(pick(live).uuid);
		} else if (roll < 0.6) {
			const uuid = `O${counter++}`;
			world.offers.set(uuid, { uuid, resource_type: 'dummy_node', resource_uuid: `n-${uuid}` });
			world.offersCreatedAfterBaseline.add(uuid);
		} else if (roll < 0.66 && world.offers.size > 0) {
			world.offers.delete(pick([...world.offers.keys()]));
		} else if (roll < 0.85) {
			// Time passes; the manager expires leases past their end (as ESI's 60 s job does).
			world.now += Math.floor(random() * 30 * 60_000 * (random() < 0.2 ? 48 : 1));
			markReached();
			for (const lease of [...world.leases.values()]) {
				if (lease.end <= world.now && random() < 0.7) world.leases.delete(lease.uuid);
			}
		} else {
			markReached();
			poll();
		}
	}
	markReached();
	poll();
	return { emitted, polls, truthEnds, trulyReached, world };
}

describe('watch diff against observers (randomized, seeded)', () => {
	const SEEDS = 300;

	it('emits exactly what a sampling observer with the whole poll history emits, across restarts', () => {
		for (let seed = 1; seed <= SEEDS; seed++) {
			const { emitted, polls } = run(seed, 120);
			expect({ seed, emitted: [...emitted].sort() }).toEqual({
				seed,
				emitted: samplingObserver(polls).sort(),
			});
		}
	});

	it('everything emitted is true of the perfect observer; each new lease seen at a poll is created once', () => {
		let created = 0;
		let warnings = 0;
		for (let seed = 1; seed <= SEEDS; seed++) {
			const { emitted, truthEnds, trulyReached, world, polls } = run(seed, 120);
			const seenAtSomePoll = new Set(polls.slice(1).flatMap((poll) => [...poll.leases.keys()]));
			for (const uuid of world.createdAfterBaseline) {
				const count = emitted.filter((event) => event === `created ${uuid}`).length;
				expect({ seed, uuid, count }).toEqual({
					seed,
					uuid,
					count: seenAtSomePoll.has(uuid) ? 1 : 0,
				});
			}
			for (const event of emitted) {
				const [kind, uuid, ...rest] = event.split(' ');
				if (kind === 'created') {
					expect(world.createdAfterBaseline.has(uuid)).toBe(true);
					created++;
				}
				if (kind === 'end') {
					// old -> new are two end times the lease really had, in that order.
					const ends = (truthEnds.get(uuid) ?? []).map(iso);
					const from = ends.indexOf(rest[0]);
					expect(from).toBeGreaterThanOrEqual(0);
					expect(ends.indexOf(rest[2], from + 1)).toBeGreaterThan(from);
				}
				if (kind === 'warn') {
					expect(trulyReached.has(`${uuid} ${rest[0]} ${rest[1]}`)).toBe(true);
					warnings++;
				}
				if (kind === 'available') expect(world.offersCreatedAfterBaseline.has(uuid)).toBe(true);
			}
		}
		// The runs exercise the interesting paths.
		expect(created).toBeGreaterThan(SEEDS * 2);
		expect(warnings).toBeGreaterThan(SEEDS);
	});
});
