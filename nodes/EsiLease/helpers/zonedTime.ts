/**
 * n8n's date-time picker yields wall-clock strings without an offset ("2026-12-01T10:00:00"),
 * meant in the workflow's time zone. ESI Leap wants UTC, so such values are converted from that
 * zone; values that carry an offset (or `Z`), Date objects and Luxon DateTimes are taken as the
 * instants they are. n8n-free on purpose, so it is tested on its own.
 */
import { toEsiTime } from '../../core/api/time';
import { EsiLeapError } from '../../core/errors';

const HAS_OFFSET = /[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|z|[+-]\d{2}:?\d{2})$/;

/** Empty values give undefined; anything else becomes a valid instant or an invalid_input error. */
export function toInstant(value: unknown, timeZone: string, field: string): Date | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	if (value instanceof Date) {
		if (Number.isNaN(value.getTime())) throw notATime(value, field);
		return value;
	}
	// Luxon DateTime (what `{{ $now }}` and friends evaluate to).
	const toISO = (value as { toISO?: unknown }).toISO;
	const text = typeof toISO === 'function' ? String(toISO.call(value)) : value;
	if (typeof text !== 'string') throw notATime(value, field);
	// toEsiTime validates the shape and the calendar, and reads offset-less values as UTC.
	const utcWallClock = toEsiTime(text, field);
	const asUtc = new Date(`${utcWallClock}Z`);
	return HAS_OFFSET.test(text.trim()) ? asUtc : fromWallClock(asUtc, timeZone, field);
}

/** `wallClock` holds the wall-clock fields in its UTC slots; returns that moment in `timeZone`. */
function fromWallClock(wallClock: Date, timeZone: string, field: string): Date {
	const guess = wallClock.getTime();
	const first = guess - offsetAt(guess, timeZone, field);
	// Near a DST change the offset at the guess and at the result differ; one correction settles it.
	return new Date(guess - offsetAt(first, timeZone, field));
}

/** The zone's UTC offset in ms at the instant `epochMs`. */
function offsetAt(epochMs: number, timeZone: string, field: string): number {
	let format: Intl.DateTimeFormat | undefined;
	try {
		format = new Intl.DateTimeFormat('en-US', {
			timeZone,
			hourCycle: 'h23',
			year: 'numeric',
			month: '2-digit',
			day: '2-digit',
			hour: '2-digit',
			minute: '2-digit',
			second: '2-digit',
		});
	} catch {
		format = undefined;
	}
	if (!format) {
		throw new EsiLeapError(
			'invalid_input',
			`${field}: the workflow time zone "${timeZone}" is unknown`,
			{ field },
		);
	}
	const parts = format.formatToParts(new Date(epochMs));
	const get = (type: string) => Number(parts.find((part) => part.type === type)?.value);
	const zoned = Date.UTC(
		get('year'),
		get('month') - 1,
		get('day'),
		get('hour'),
		get('minute'),
		get('second'),
	);
	return zoned - (epochMs - (epochMs % 1000));
}

function notATime(value: unknown, field: string): EsiLeapError {
	return new EsiLeapError(
		'invalid_input',
		`${field}: "${String(value)}" is not a date-time (expected ISO 8601, e.g. 2026-11-24T17:00:00Z)`,
		{ field },
	);
}
