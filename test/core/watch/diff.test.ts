import { describe, expect, it } from 'vitest';

import {
	diffLeases,
	diffOffers,
	parseWatchState,
	type LeaseFacts,
	type LeaseMemo,
} from '../../../nodes/core/watch/diff';
import { formatLeadTime, LeadTimeError, parseLeadTimes } from '../../../nodes/core/watch/leadTime';

const HOUR = 3_600;
const T0 = Date.parse('2026-12-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const lease = (uuid: string, endInHours: number, status = 'active'): LeaseFacts => ({
	uuid,
	status,
	end_time: iso(T0 + endInHours * HOUR * 1000),
});
const kinds = (changes: Array<{ kind: string; lease: LeaseFacts }>) =>
	changes.map((change) => `${change.kind}:${change.lease.uuid}`);

describe('watch diff: leases', () => {
	const leads = [7 * 24 * HOUR, 24 * HOUR, HOUR];

	it('takes a silent baseline on the first poll, counting lead times already reached as warned', () => {
		const { changes, next } = diffLeases(undefined, [lease('a', 3), lease('b', 30)], {
			now: T0,
			leadSeconds: leads,
		});
		expect(changes).toEqual([]);
		expect(next.a).toEqual({
			e: lease('a', 3).end_time,
			s: 'active',
			w: [7 * 24 * HOUR, 24 * HOUR],
		});
		expect(next.b.w).toEqual([7 * 24 * HOUR]);
		// Only the 1 h warning of lease a is left.
		const later = diffLeases(next, [lease('a', 3), lease('b', 30)], {
			now: T0 + 2.5 * HOUR * 1000,
			leadSeconds: leads,
		});
		expect(later.changes).toEqual([
			{ kind: 'lease.ending_soon', lease: lease('a', 3), leadSeconds: HOUR },
		]);
	});

	it('with emitCurrent, the first poll reports what is listed once', () => {
		const first = diffLeases(undefined, [lease('a', 3)], {
			now: T0,
			leadSeconds: leads,
			emitCurrent: true,
		});
		expect(kinds(first.changes)).toEqual([
			'lease.created:a',
			'lease.ending_soon:a',
			'lease.ending_soon:a',
		]);
		const second = diffLeases(first.next, [lease('a', 3)], {
			now: T0 + 1000,
			leadSeconds: leads,
			emitCurrent: true,
		});
		expect(second.changes).toEqual([]);
	});

	it('reports a new lease whatever its status, and warns only active ones', () => {
		const { changes } = diffLeases({}, [lease('c', 0.5, 'created'), lease('d', 0.5)], {
			now: T0,
			leadSeconds: [HOUR],
		});
		expect(kinds(changes)).toEqual(['lease.created:c', 'lease.created:d', 'lease.ending_soon:d']);
	});

	it('warns once per lease, lead time and end time; an extended lease warns again', () => {
		const options = { now: T0, leadSeconds: [24 * HOUR] };
		const first = diffLeases({}, [lease('a', 10)], options);
		expect(kinds(first.changes)).toEqual(['lease.created:a', 'lease.ending_soon:a']);
		const repeat = diffLeases(first.next, [lease('a', 10)], { ...options, now: T0 + 60_000 });
		expect(repeat.changes).toEqual([]);
		const extended = diffLeases(repeat.next, [lease('a', 20)], { ...options, now: T0 + 120_000 });
		expect(extended.changes).toEqual([
			{
				kind: 'lease.end_time_changed',
				lease: lease('a', 20),
				previousEndTime: lease('a', 10).end_time,
			},
			{ kind: 'lease.ending_soon', lease: lease('a', 20), leadSeconds: 24 * HOUR },
		]);
		const extendedFar = diffLeases(extended.next, [lease('a', 200)], {
			...options,
			now: T0 + 180_000,
		});
		expect(kinds(extendedFar.changes)).toEqual(['lease.end_time_changed:a']);
		expect(extendedFar.next.a.w).toBeUndefined();
	});

	it('warns at the lead time exactly, not a millisecond before', () => {
		const memo: Record<string, LeaseMemo> = { a: { e: lease('a', 24).end_time, s: 'active' } };
		expect(
			diffLeases(memo, [lease('a', 24)], { now: T0 - 1, leadSeconds: [24 * HOUR] }).changes,
		).toEqual([]);
		expect(
			diffLeases(memo, [lease('a', 24)], { now: T0, leadSeconds: [24 * HOUR] }).changes,
		).toHaveLength(1);
	});

	it('still warns a lease past its end that ESI has not expired yet (the manager runs every 60 s)', () => {
		const memo: Record<string, LeaseMemo> = { a: { e: lease('a', -0.01).end_time, s: 'active' } };
		const { changes } = diffLeases(memo, [lease('a', -0.01)], { now: T0, leadSeconds: [HOUR] });
		expect(kinds(changes)).toEqual(['lease.ending_soon:a']);
	});

	it('a lease that becomes active inside a lead time is warned then', () => {
		const before = diffLeases({}, [lease('a', 0.5, 'created')], { now: T0, leadSeconds: [HOUR] });
		expect(kinds(before.changes)).toEqual(['lease.created:a']);
		const active = diffLeases(before.next, [lease('a', 0.5)], {
			now: T0 + 60_000,
			leadSeconds: [HOUR],
		});
		expect(kinds(active.changes)).toEqual(['lease.ending_soon:a']);
	});

	it('drops leases that are no longer listed, so the snapshot holds only live leases', () => {
		const { next } = diffLeases(
			{ gone: { e: lease('gone', 1).end_time, s: 'active' } },
			[lease('a', 5)],
			{
				now: T0,
				leadSeconds: [HOUR],
			},
		);
		expect(Object.keys(next)).toEqual(['a']);
	});

	it('does not warn a lease whose end time cannot be read', () => {
		const broken = { uuid: 'x', status: 'active', end_time: 'soon' };
		expect(
			diffLeases({ x: { e: 'soon', s: 'active' } }, [broken], { now: T0, leadSeconds: [HOUR] })
				.changes,
		).toEqual([]);
	});

	it('counts a lease listed twice once', () => {
		const { changes } = diffLeases({}, [lease('a', 100), lease('a', 100)], {
			now: T0,
			leadSeconds: [HOUR],
		});
		expect(kinds(changes)).toEqual(['lease.created:a']);
	});
});

describe('watch diff: offers', () => {
	const offer = (uuid: string) => ({
		uuid,
		resource_type: 'dummy_node',
		resource_uuid: `node-${uuid}`,
	});

	it('baselines silently, then reports new and vanished offers', () => {
		const first = diffOffers(undefined, [offer('a'), offer('b')]);
		expect(first.available).toEqual([]);
		const second = diffOffers(first.next, [offer('b'), offer('c')]);
		expect(second.available.map((o) => o.uuid)).toEqual(['c']);
		expect(second.gone).toEqual([{ uuid: 'a', memo: { t: 'dummy_node', r: 'node-a' } }]);
		expect(Object.keys(second.next).sort()).toEqual(['b', 'c']);
	});

	it('with emitCurrent the first poll reports every listed offer once', () => {
		const first = diffOffers(undefined, [offer('a'), offer('a')], { emitCurrent: true });
		expect(first.available.map((o) => o.uuid)).toEqual(['a']);
		expect(diffOffers(first.next, [offer('a')], { emitCurrent: true }).available).toEqual([]);
	});
});

describe('watch state', () => {
	it('is read back only under the same scope and when well formed', () => {
		const state = {
			version: 1,
			scope: 's1',
			leases: { a: { e: 'x', s: 'active', w: [3600] } },
			offers: {},
		};
		expect(parseWatchState(JSON.parse(JSON.stringify(state)), 's1')).toEqual(state);
		expect(parseWatchState(state, 's2')).toBeUndefined();
		expect(parseWatchState({ ...state, leases: { a: { e: 1 } } }, 's1')).toBeUndefined();
		expect(parseWatchState({ ...state, offers: { a: { t: 'x' } } }, 's1')).toBeUndefined();
		expect(parseWatchState({ ...state, version: 2 }, 's1')).toBeUndefined();
		expect(parseWatchState(undefined, 's1')).toBeUndefined();
	});
});

describe('lead times', () => {
	it('parses days, hours, minutes, seconds, combinations and bare hours, descending', () => {
		expect(parseLeadTimes('1h, 7d,24h')).toEqual([604_800, 86_400, 3_600]);
		expect(parseLeadTimes('1d12h, 90m, 30s, 2')).toEqual([129_600, 7_200, 5_400, 30]);
		expect(parseLeadTimes('24h, 1d')).toEqual([86_400]);
	});

	it('rejects empty, zero and unreadable entries, naming them', () => {
		expect(() => parseLeadTimes(' , ')).toThrow(LeadTimeError);
		expect(() => parseLeadTimes('0h')).toThrow('"0h" must be longer than 0 s');
		expect(() => parseLeadTimes('24h, tomorrow')).toThrow('"tomorrow" is not a duration');
		expect(() => parseLeadTimes('5w')).toThrow('"5w"');
	});

	it('formats seconds back to the shortest text', () => {
		expect([604_800, 172_800, 129_600, 86_400, 5_400, 45, 0].map(formatLeadTime)).toEqual([
			'7d',
			'2d',
			'36h',
			'24h',
			'1h30m',
			'45s',
			'0s',
		]);
	});
});
