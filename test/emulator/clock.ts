/**
 * Naive datetimes as ESI Leap stores them. Internally every time is the canonical 26-character
 * string `YYYY-MM-DDTHH:MM:SS.ffffff`: it keeps microseconds (the captures have them), covers
 * Python's `datetime.max`, and sorts lexically in time order. The server runs in UTC, so "local"
 * and UTC coincide.
 */
import { performance } from 'node:perf_hooks';

export type NaiveTime = string;

export const DATETIME_MAX: NaiveTime = '9999-12-31T23:59:59.999999';

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

function fromEpochMicros(micros: number): NaiveTime {
	const millis = Math.floor(micros / 1000);
	const date = new Date(millis);
	const fraction = pad(date.getUTCMilliseconds(), 3) + pad(Math.floor(micros) % 1000, 3);
	return (
		`${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
		`T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${fraction}`
	);
}

function toEpochMicros(time: NaiveTime): number {
	const millis = Date.parse(time.slice(0, 23) + 'Z');
	return millis * 1000 + Number(time.slice(23, 26));
}

let lastMicros = 0;
/** Test hook: shifts the emulated clock (process-wide; vitest isolates test files). */
let offsetMicros = 0;

const realMicros = () => Math.floor((performance.timeOrigin + performance.now()) * 1000);

/** Wall clock with microseconds, strictly increasing so consecutive stamps differ. */
export function now(): NaiveTime {
	const micros = realMicros() + offsetMicros;
	lastMicros = Math.max(micros, lastMicros + 1);
	return fromEpochMicros(lastMicros);
}

/** Moves the emulated clock to `time`; stamps stay strictly increasing even if that is backwards. */
export function setClock(time: NaiveTime): void {
	offsetMicros = toEpochMicros(time) - realMicros();
}

export function addSeconds(time: NaiveTime, seconds: number): NaiveTime {
	const shifted = toEpochMicros(time) + Math.round(seconds * 1_000_000);
	const maxMicros = toEpochMicros(DATETIME_MAX);
	return shifted >= maxMicros ? DATETIME_MAX : fromEpochMicros(shifted);
}

export function secondsBetween(from: NaiveTime, to: NaiveTime): number {
	return (toEpochMicros(to) - toEpochMicros(from)) / 1_000_000;
}

export function fromDate(date: Date): NaiveTime {
	return fromEpochMicros(date.getTime() * 1000);
}

/** REST form: microseconds only when non-zero, like Python's `isoformat()`. */
export function restFormat(time: NaiveTime): string {
	return time.endsWith('.000000') ? time.slice(0, 19) : time;
}

/** Notification payload form: seconds truncated, `Z` appended (oslo.versionedobjects). */
export function payloadFormat(time: NaiveTime): string {
	return time.slice(0, 19) + 'Z';
}

/** Python `str(datetime)`: a space separator, microseconds only when non-zero. */
export function pythonStr(time: NaiveTime): string {
	return restFormat(time).replace('T', ' ');
}

/** `datetime.utcnow()` in oslo's envelope `timestamp` format. */
export function envelopeTimestamp(time: NaiveTime = now()): string {
	return pythonStr(time);
}

const LENIENT =
	/^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * What ESI's WSME datetime type and dateutil accept (the common ISO shapes). A zone designator
 * is accepted and dropped without conversion, exactly as ESI Leap does. Undefined when invalid.
 */
export function parseLenient(text: string): NaiveTime | undefined {
	const match = LENIENT.exec(text.trim());
	if (!match) return undefined;
	const [, y, mo, d, h = '00', mi = '00', s = '00', frac = ''] = match;
	const candidate = `${y}-${mo}-${d}T${h}:${mi}:${s}.${frac.padEnd(6, '0')}`;
	const check = new Date(candidate.slice(0, 23) + 'Z');
	if (Number.isNaN(check.getTime()) || fromDate(check).slice(0, 19) !== candidate.slice(0, 19)) {
		return undefined;
	}
	return candidate;
}

/** `strptime(value, '%Y-%m-%dT%H:%M:%S')`, the only form `PATCH end_time` accepts. */
export function parseStrict(text: string): {
	time?: NaiveTime;
	error?: string;
} {
	const match = /^(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})/.exec(text);
	if (!match) {
		return {
			error: `time data ${JSON.stringify(text).replace(/^"|"$/g, "'")} does not match format '%Y-%m-%dT%H:%M:%S'`,
		};
	}
	if (match[0].length !== text.length) {
		return {
			error: `unconverted data remains: ${text.slice(match[0].length)}`,
		};
	}
	const [, y, mo, d, h, mi, s] = match;
	const time = parseLenient(
		`${y}-${pad(Number(mo))}-${pad(Number(d))}T${pad(Number(h))}:${pad(Number(mi))}:${pad(Number(s))}`,
	);
	return time
		? { time }
		: {
				error: `time data '${text}' does not match format '%Y-%m-%dT%H:%M:%S'`,
			};
}

/** An HTTP `Date` header value (RFC 9110 IMF-fixdate, whole seconds) for a naive UTC time. */
export function httpDate(time: NaiveTime): string {
	return new Date(toEpochMicros(time) / 1000).toUTCString();
}
