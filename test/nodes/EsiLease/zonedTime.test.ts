import { describe, expect, it } from 'vitest';

import { EsiLeapError } from '../../../nodes/core/errors';
import { toInstant } from '../../../nodes/EsiLease/helpers/zonedTime';

const iso = (value: unknown, zone = 'America/New_York') =>
	toInstant(value, zone, 'startTime')?.toISOString();

describe('toInstant', () => {
	it('reads offset-less picker values in the workflow time zone', () => {
		expect(iso('2026-11-24T12:00:00')).toBe('2026-11-24T17:00:00.000Z'); // EST
		expect(iso('2026-07-01T12:00:00')).toBe('2026-07-01T16:00:00.000Z'); // EDT
		expect(iso('2026-07-01T12:00:00', 'UTC')).toBe('2026-07-01T12:00:00.000Z');
		expect(iso('2026-07-01T12:00:00', 'Asia/Kolkata')).toBe('2026-07-01T06:30:00.000Z');
		expect(iso('2026-07-01', 'Europe/Berlin')).toBe('2026-06-30T22:00:00.000Z');
	});

	it('handles the hours around a daylight-saving change', () => {
		// 2026-03-08 02:30 does not exist in New York; 01:30 on 2026-11-01 exists twice.
		expect(iso('2026-03-08T03:30:00')).toBe('2026-03-08T07:30:00.000Z');
		expect(iso('2026-03-08T01:30:00')).toBe('2026-03-08T06:30:00.000Z');
		expect(iso('2026-11-01T03:00:00')).toBe('2026-11-01T08:00:00.000Z');
	});

	it('takes values with an offset or Z, Dates and Luxon-like DateTimes as the instants they are', () => {
		expect(iso('2027-01-02T00:00:00+02:00')).toBe('2027-01-01T22:00:00.000Z');
		expect(iso('2027-01-02T00:00:00Z')).toBe('2027-01-02T00:00:00.000Z');
		expect(iso(new Date('2027-01-02T00:00:00Z'))).toBe('2027-01-02T00:00:00.000Z');
		expect(iso({ toISO: () => '2027-01-02T00:00:00.000-05:00' })).toBe('2027-01-02T05:00:00.000Z');
	});

	it('treats empty values as absent', () => {
		expect(toInstant('', 'UTC', 'startTime')).toBeUndefined();
		expect(toInstant(undefined, 'UTC', 'startTime')).toBeUndefined();
		expect(toInstant(null, 'UTC', 'startTime')).toBeUndefined();
	});

	it('names the field for values that are not times and for unknown zones', () => {
		for (const [value, zone] of [
			['tomorrow', 'UTC'],
			['2026-02-31T00:00:00', 'UTC'],
			[42, 'UTC'],
			[new Date(Number.NaN), 'UTC'],
			['2026-02-01T00:00:00', 'Mars/Olympus_Mons'],
		] as const) {
			const error = (() => {
				try {
					toInstant(value, zone, 'startTime');
				} catch (caught) {
					return caught;
				}
			})();
			expect(error, String(value)).toBeInstanceOf(EsiLeapError);
			expect((error as EsiLeapError).kind).toBe('invalid_input');
			expect((error as EsiLeapError).field).toBe('startTime');
		}
	});
});
