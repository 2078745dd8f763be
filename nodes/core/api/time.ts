/**
 * ESI Leap stores and returns naive datetimes meant as UTC, and drops (without converting) any
 * offset it is sent (spec §10 items 1-2). So everything we send is naive UTC, and everything we
 * read gets an explicit `Z`.
 */
import { EsiLeapError } from '../errors';

const PAD2 = (n: number) => String(n).padStart(2, '0');

// Date, optional time (T or space), optional fraction, optional zone.
const ISO_LIKE =
	/^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|z|[+-]\d{2}:?\d{2})?$/;

function invalidTime(value: unknown, field: string | undefined): EsiLeapError {
	const name = field ?? 'time';
	return new EsiLeapError(
		'invalid_input',
		`${name}: "${String(value)}" is not a date-time (expected ISO 8601, e.g. 2026-11-24T17:00:00Z)`,
		{ field: name },
	);
}

function formatNaiveUtc(date: Date): string {
	const year = String(date.getUTCFullYear()).padStart(4, '0');
	return (
		`${year}-${PAD2(date.getUTCMonth() + 1)}-${PAD2(date.getUTCDate())}` +
		`T${PAD2(date.getUTCHours())}:${PAD2(date.getUTCMinutes())}:${PAD2(date.getUTCSeconds())}`
	);
}

/**
 * Formats a time for ESI Leap: naive UTC `YYYY-MM-DDTHH:MM:SS` (the only shape PATCH end_time
 * accepts). Strings with an offset are converted to UTC; strings without one are taken as UTC,
 * never as the machine's local time. Fractions of a second are truncated.
 */
export function toEsiTime(value: Date | string, field?: string): string {
	if (value instanceof Date) {
		if (Number.isNaN(value.getTime())) throw invalidTime(value, field);
		return formatNaiveUtc(value);
	}
	const match = ISO_LIKE.exec(String(value).trim());
	if (!match) throw invalidTime(value, field);
	const [, y, mo, d, h = '00', mi = '00', s = '00', , zone] = match;
	const offset = zone === undefined || /^z$/i.test(zone) ? 'Z' : normalizeOffset(zone);
	if (!isRealDateTime(+y, +mo, +d, +h, +mi, +s)) throw invalidTime(value, field);
	const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${offset}`);
	if (Number.isNaN(date.getTime())) throw invalidTime(value, field);
	return formatNaiveUtc(date);
}

function normalizeOffset(zone: string): string {
	return zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
}

// `new Date('2026-02-31T00:00:00Z')` rolls over instead of failing; reject such values.
function isRealDateTime(y: number, mo: number, d: number, h: number, mi: number, s: number) {
	const probe = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
	return (
		probe.getUTCMonth() === mo - 1 &&
		probe.getUTCDate() === d &&
		probe.getUTCHours() === h &&
		probe.getUTCMinutes() === mi &&
		probe.getUTCSeconds() === s
	);
}

// REST `2026-11-24T17:18:37[.889985]`, payload `2026-11-24T17:18:37Z`,
// envelope `2026-11-24 17:18:59.149696`.
const ESI_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d{1,6})?(Z)?$/;

/**
 * Converts any of ESI Leap's three wire formats to ISO 8601 UTC, keeping the fraction exactly
 * as sent (microseconds matter for `last_event_time` comparisons). Returns undefined when the
 * value is not one of those formats.
 */
export function tryParseEsiTime(value: string): string | undefined {
	const match = ESI_TIME.exec(value);
	if (!match) return undefined;
	const [, day, clock, fraction = ''] = match;
	const [y, mo, d] = day.split('-').map(Number);
	const [h, mi, s] = clock.split(':').map(Number);
	if (!isRealDateTime(y, mo, d, h, mi, s)) return undefined;
	return `${day}T${clock}${fraction}Z`;
}

/** Like tryParseEsiTime, but throws `invalid_response` naming the field. */
export function parseEsiTime(value: string, field = 'time'): string {
	const iso = tryParseEsiTime(value);
	if (iso === undefined) {
		throw new EsiLeapError(
			'invalid_response',
			`${field}: "${value}" is not an ESI Leap date-time`,
			{
				field,
			},
		);
	}
	return iso;
}

/** ESI's "open-ended" end (`datetime.max`), as returned by parseEsiTime. */
export const ESI_END_OF_TIME = '9999-12-31T23:59:59.999999Z';
