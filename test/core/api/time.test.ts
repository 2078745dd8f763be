import { describe, expect, it } from 'vitest';

import { EsiLeapError } from '../../../nodes/core/errors';
import { parseEsiTime, toEsiTime, tryParseEsiTime } from '../../../nodes/core/api/time';

describe('toEsiTime', () => {
	it('formats a Date as naive UTC without fraction', () => {
		expect(toEsiTime(new Date('2026-11-24T17:18:37.889Z'))).toBe('2026-11-24T17:18:37');
	});

	it('converts an offset to UTC instead of dropping it (ESI would drop it)', () => {
		expect(toEsiTime('2027-01-02T00:00:00+02:00')).toBe('2027-01-01T22:00:00');
		expect(toEsiTime('2027-01-01T20:30:00-0330')).toBe('2027-01-02T00:00:00');
		expect(toEsiTime('2026-11-24T17:00:00Z')).toBe('2026-11-24T17:00:00');
	});

	it('treats naive strings as UTC, not as the local time zone', () => {
		expect(toEsiTime('2026-11-24T17:00:00')).toBe('2026-11-24T17:00:00');
		expect(toEsiTime('2026-11-24 17:00')).toBe('2026-11-24T17:00:00');
		expect(toEsiTime('2026-11-24')).toBe('2026-11-24T00:00:00');
	});

	it('truncates fractions of a second', () => {
		expect(toEsiTime('2026-11-24T17:18:37.999999Z')).toBe('2026-11-24T17:18:37');
	});

	it('rejects garbage and impossible dates with invalid_input naming the field', () => {
		for (const bad of ['tomorrow', '2026-02-31T00:00:00Z', '2026-11-24T25:00:00', '']) {
			try {
				toEsiTime(bad, 'endTime');
				expect.unreachable(`accepted ${bad}`);
			} catch (error) {
				expect(error).toBeInstanceOf(EsiLeapError);
				expect((error as EsiLeapError).kind).toBe('invalid_input');
				expect((error as EsiLeapError).field).toBe('endTime');
				expect((error as EsiLeapError).message).toContain('endTime');
			}
		}
		expect(() => toEsiTime(new Date('nope'))).toThrow(EsiLeapError);
	});
});

describe('parseEsiTime', () => {
	it('parses REST naive times with and without microseconds as UTC', () => {
		expect(parseEsiTime('2026-11-24T17:00:00')).toBe('2026-11-24T17:00:00Z');
		expect(parseEsiTime('2026-11-24T17:18:37.889985')).toBe('2026-11-24T17:18:37.889985Z');
		expect(Date.parse(parseEsiTime('2026-11-24T17:00:00'))).toBe(Date.UTC(2026, 10, 24, 17));
	});

	it("parses ESI's open end (datetime.max)", () => {
		const iso = parseEsiTime('9999-12-31T23:59:59.999999');
		expect(iso).toBe('9999-12-31T23:59:59.999999Z');
		expect(new Date(iso).getUTCFullYear()).toBe(9999);
	});

	it('parses the notification payload format (already Z)', () => {
		expect(parseEsiTime('2026-11-24T17:18:37Z')).toBe('2026-11-24T17:18:37Z');
	});

	it('parses the envelope timestamp format (space separator)', () => {
		expect(parseEsiTime('2026-11-24 17:18:59.149696')).toBe('2026-11-24T17:18:59.149696Z');
	});

	it('rejects other shapes with invalid_response naming the field', () => {
		expect(tryParseEsiTime('2026-11-24T17:00:00+02:00')).toBeUndefined();
		expect(tryParseEsiTime('2026-13-01T00:00:00')).toBeUndefined();
		expect(() => parseEsiTime('soon', 'leases[0].end_time')).toThrow(/leases\[0\]\.end_time/);
	});
});
