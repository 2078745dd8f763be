/**
 * Loading the real captures and comparing emulator output with them: same keys in the same order,
 * same value types, same array lengths, the same numbers, and the same strings once ids, times,
 * ports and hosts are replaced by placeholders of their format (so a format difference still
 * fails).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

export const CAPTURES = join(__dirname, '..', 'fixtures', 'esi-leap-real');

export interface RestCapture {
	file: string;
	number: number;
	request: { method: string; path: string; as: 'admin' | 'owner' | 'lessee' | null; body: unknown };
	response: { status: number; headers: Record<string, string>; body_text: string; body: unknown };
}

export interface AmqpCapture {
	file: string;
	capture_run: string;
	amqp: { exchange: string; routing_key: string; properties: Record<string, unknown> };
	body_text: string;
}

export function restCaptures(): RestCapture[] {
	return readdirSync(CAPTURES)
		.filter((name) => /^rest-\d+-.*\.json$/.test(name))
		.sort()
		.map((file) => ({
			file,
			number: Number(file.slice(5, 7)),
			...JSON.parse(readFileSync(join(CAPTURES, file), 'utf8')),
		}));
}

export function amqpCaptures(): AmqpCapture[] {
	return readdirSync(CAPTURES)
		.filter((name) => /^amqp-lease-.*\.json$/.test(name))
		.sort()
		.map((file) => {
			const capture = {
				file,
				...JSON.parse(readFileSync(join(CAPTURES, file), 'utf8')),
			} as AmqpCapture;
			const raw = readFileSync(join(CAPTURES, file.replace(/\.json$/, '.body')), 'utf8');
			expect(raw, `${file}: .body and body_text differ`).toBe(capture.body_text);
			return capture;
		});
}

/** Replaces variable parts with placeholders naming their format. */
export function normalize(text: string): string {
	return text
		.replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<uuid>')
		.replace(/\b[0-9a-f]{32}\b/g, '<hex32>')
		.replace(/req-<uuid>/g, '<request-id>')
		.replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\b/g, '<datetime.us>')
		.replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/g, '<datetime-Z>')
		.replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\b/g, '<datetime>')
		.replace(/\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?\b/g, (_m, us) =>
			us ? '<py-datetime.us>' : '<py-datetime>',
		)
		.replace(/127\.0\.0\.1:\d+/g, '<host:port>')
		.replace(/esi-leap-manager\.[\w.-]+/g, 'esi-leap-manager.<host>');
}

function typeName(value: unknown): string {
	if (value === null) return 'null';
	if (Array.isArray(value)) return 'array';
	return typeof value;
}

/**
 * Python's `json.dumps` with its defaults (", " and ": " separators, ensure_ascii), which is how
 * ESI Leap writes its answers (see any rest-*.json: body_text). Written here rather than taken
 * from the emulator so that the emulator is not its own oracle; the replay checks it against the
 * captured bytes first.
 */
export function pythonJson(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
	if (value !== null && typeof value === 'object') {
		const entries = Object.entries(value as Record<string, unknown>).map(
			([key, entry]) => `${pythonJson(key)}: ${pythonJson(entry)}`,
		);
		return `{${entries.join(', ')}}`;
	}
	return JSON.stringify(value).replace(
		/[\u0080-\uffff]/g,
		(char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
	);
}

/**
 * Structural comparison: same keys in the same order, same types, same array lengths.
 * `values: true` also compares normalized strings, booleans and numbers (callers map the few
 * numbers that differ between runs, such as lease DB ids, before comparing).
 */
export function expectSameShape(
	actual: unknown,
	expected: unknown,
	where: string,
	values = true,
): void {
	expect(typeName(actual), `${where}: type`).toBe(typeName(expected));
	if (Array.isArray(expected) && Array.isArray(actual)) {
		expect(actual.length, `${where}: length`).toBe(expected.length);
		for (let index = 0; index < expected.length; index++) {
			expectSameShape(actual[index], expected[index], `${where}[${index}]`, values);
		}
		return;
	}
	if (expected && typeof expected === 'object') {
		const actualObject = actual as Record<string, unknown>;
		const expectedObject = expected as Record<string, unknown>;
		expect(Object.keys(actualObject), `${where}: keys and order`).toEqual(
			Object.keys(expectedObject),
		);
		for (const key of Object.keys(expectedObject)) {
			expectSameShape(actualObject[key], expectedObject[key], `${where}.${key}`, values);
		}
		return;
	}
	if (typeof expected === 'string') {
		if (values) expect(normalize(actual as string), `${where}: value`).toBe(normalize(expected));
		else
			expect(
				normalize(actual as string).replace(/[^<]*(<[\w.:-]+>)?/g, '$1'),
				`${where}: format`,
			).toBe(normalize(expected).replace(/[^<]*(<[\w.:-]+>)?/g, '$1'));
		return;
	}
	if (typeof expected === 'boolean' && values) expect(actual, `${where}: value`).toBe(expected);
	if (typeof expected === 'number' && values) expect(actual, `${where}: number`).toBe(expected);
}
