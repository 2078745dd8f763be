import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import {
	forEachJsonArrayElement,
	JsonArraySplitter,
	MalformedJsonError,
} from '../../../nodes/core/api/jsonArrayStream';
import { FIXTURES_DIR, loadCapture } from '../../helpers/captures';
import { seededRandom } from '../../helpers/seededRandom';

/** Cuts bytes at random places (sizes 1..maxSize), so boundaries land anywhere, mid-character too. */
function chunk(bytes: Uint8Array, next: () => number, maxSize: number): Uint8Array[] {
	const chunks: Uint8Array[] = [];
	for (let offset = 0; offset < bytes.length; ) {
		const size = 1 + Math.floor(next() * maxSize);
		chunks.push(bytes.subarray(offset, offset + size));
		offset += size;
	}
	return chunks;
}

async function* stream(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
	for (const part of chunks) yield part;
}

async function elements(chunks: Uint8Array[], key = 'events') {
	const seen: Array<{ value: unknown; position: number }> = [];
	const count = await forEachJsonArrayElement(stream(chunks), key, (value, position) =>
		seen.push({ value, position }),
	);
	return {
		count,
		values: seen.map((entry) => entry.value),
		positions: seen.map((e) => e.position),
	};
}

const encode = (text: string) => new TextEncoder().encode(text);

async function failure(text: string | Uint8Array, key = 'events'): Promise<MalformedJsonError> {
	const bytes = typeof text === 'string' ? encode(text) : text;
	const error = await elements([bytes], key).then(
		() => undefined,
		(caught: unknown) => caught,
	);
	expect(error).toBeInstanceOf(MalformedJsonError);
	return error as MalformedJsonError;
}

const EVENT_CAPTURES = readdirSync(FIXTURES_DIR).filter((file) =>
	/^rest-.*events.*\.json$/.test(file),
);

describe('forEachJsonArrayElement', () => {
	it('finds the captured event lists', () => {
		expect(EVENT_CAPTURES.length).toBeGreaterThanOrEqual(8);
	});

	it.each(EVENT_CAPTURES)(
		'yields exactly JSON.parse’s elements of %s under random chunkings',
		async (file) => {
			const text = loadCapture(file).response.body_text;
			const expected = (JSON.parse(text) as { events: unknown[] }).events;
			const bytes = encode(text);
			const next = seededRandom(file.length * 7919);
			for (const maxSize of [1, 2, 3, 7, 64, 4096, bytes.length]) {
				for (let round = 0; round < 5; round++) {
					const result = await elements(chunk(bytes, next, maxSize));
					expect(result.values).toEqual(expected);
					expect(result.count).toBe(expected.length);
					expect(result.positions).toEqual(expected.map((_, index) => index));
				}
			}
		},
	);

	it('handles escaped quotes and brackets in strings, nesting, other keys and multi-byte characters', async () => {
		const document = {
			before: { events: [1, 2], text: 'not "this" one ]}' },
			events: [
				{ id: 1, note: 'quote \\" and ] and } and [ and {', deep: { a: [1, [2, { b: '}' }]] } },
				{ id: 2, name: 'ünïcödé 漢字 😀 \u2028', escaped: '\\', slash: '\\\\"' },
				'a string element with , and ]',
				[],
				{},
				null,
				-1.5e3,
				true,
			],
			after: ['x', { events: 'not this either' }],
		};
		const text = JSON.stringify(document, null, 2);
		const bytes = encode(text);
		const next = seededRandom(42);
		for (const maxSize of [1, 2, 3, 5, 17, bytes.length]) {
			for (let round = 0; round < 20; round++) {
				const result = await elements(chunk(bytes, next, maxSize));
				expect(result.values).toEqual(document.events);
			}
		}
	});

	it('reads an escaped key and an empty array', async () => {
		expect((await elements([encode('{"\\u0065vents": [7]}')])).values).toEqual([7]);
		expect(await elements([encode(' { "events" : [ ] } ')])).toEqual({
			count: 0,
			values: [],
			positions: [],
		});
	});

	it('rejects malformed documents, naming the element at fault', async () => {
		expect((await failure('{"events": [{"id": 1}, {"id": }]}')).field).toBe('events[1]');
		expect((await failure('{"events": [1,,2]}')).field).toBe('events[1]');
		expect((await failure('{"events": [,1]}')).field).toBe('events[0]');
		expect((await failure('{"events": [1,]}')).field).toBe('events[1]');
		expect((await failure('{"events": [1 2]}')).field).toBe('events[0]');
		expect((await failure('{"events": [{"id": 1]}]}')).field).toBe('events[0]');
		expect((await failure('{"events": [{"id": 1}')).message).toMatch(/ends early/);
		expect((await failure('{"events": [1]} trailing')).message).toMatch(/JSON/);
		expect((await failure('{"events" [1]}')).message).toMatch(/JSON/);
		expect((await failure('{"events": [1], "events": [2]}')).message).toMatch(/twice/);
		expect((await failure('{"other": [1]}')).field).toBe('events');
		expect((await failure('[1, 2]')).field).toBe('events');
		expect((await failure('{"events": {"0": 1}}')).field).toBe('events');
		expect((await failure('')).message).toMatch(/JSON/);
		expect(
			(await failure(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))).message,
		).toMatch(/UTF-8/);
	});

	it('stops reading and closes the stream when the element handler throws', async () => {
		let closed = false;
		let pulled = 0;
		async function* source() {
			try {
				for (let index = 0; index < 100; index++) {
					pulled++;
					yield encode(index === 0 ? '{"events": [1' : `, ${index + 1}`);
				}
				yield encode(']}');
			} finally {
				closed = true;
			}
		}
		const outcome = forEachJsonArrayElement(source(), 'events', (value) => {
			if (value === 3) throw new Error('stop here');
		});
		await expect(outcome).rejects.toThrow('stop here');
		expect(closed).toBe(true);
		expect(pulled).toBeLessThan(10);
	});
});

describe('JsonArraySplitter', () => {
	it('hands over each element as soon as it is complete, before the document ends', () => {
		const seen: unknown[] = [];
		const splitter = new JsonArraySplitter('events', (value) => seen.push(value));
		splitter.write('{"events": [{"id": 1}, {"id"');
		expect(seen).toEqual([{ id: 1 }]);
		splitter.write(': 2}');
		expect(seen).toEqual([{ id: 1 }]);
		splitter.write(']}');
		expect(seen).toEqual([{ id: 1 }, { id: 2 }]);
		splitter.end();
	});
});

describe('JsonArraySplitter with an ElementPeek', () => {
	/** Each element, with what the peek must make of it: the id it reads, or unreadable. */
	const CASES: Array<{ text: string; peeked?: number }> = [
		{ text: '{"id": 1, "event_type": "a"}', peeked: 1 },
		{ text: '{"event_type": "b", "id": 2}', peeked: 2 },
		{ text: '{"nested": {"id": 99}, "list": [{"id": 98}], "id": 3}', peeked: 3 },
		{
			text: '{"id": 16, "nested": {"a": 1, "id": 96}, "list": [1, {"b": 2, "id": 95}]}',
			peeked: 16,
		},
		{ text: '{"text": "\\"id\\": 97, {[", "id": 4}', peeked: 4 },
		{ text: '{"id": 5, "id": 6}', peeked: 6 },
		{ text: '{ "id" :\n\t13 }', peeked: 13 },
		{ text: '{"id": -10}', peeked: -10 },
		{ text: '{"id": 0}', peeked: 0 },
		{ text: '{"i\\u0064": 7}' },
		{ text: '{"id": 8.0}' },
		{ text: '{"id": 1e3}' },
		{ text: '{"id": "9"}' },
		{ text: '{"id": [11]}' },
		{ text: '{"id": {"v": 12}}' },
		{ text: '{"id": 9007199254740993}' },
		{ text: '{"id": true}' },
		{ text: '{"x": 1}' },
		{ text: '{}' },
		{ text: '14' },
		{ text: '[{"id": 15}]' },
		{ text: '"id"' },
	];
	const document = `{"events": [${CASES.map((entry) => entry.text).join(', ')}], "other": {"id": 1}}`;

	function run(chunks: string[], skip: (id: number) => boolean) {
		const parsed: Array<{ value: unknown; position: number }> = [];
		const peeked: Array<{ id: number; position: number }> = [];
		const splitter = new JsonArraySplitter(
			'events',
			(value, position) => parsed.push({ value, position }),
			{
				key: 'id',
				skip: (id, position) => {
					peeked.push({ id, position });
					return skip(id);
				},
			},
		);
		for (const part of chunks) splitter.write(part);
		splitter.end();
		return { parsed, peeked };
	}

	const expectedPeeks = CASES.flatMap((entry, position) =>
		entry.peeked === undefined ? [] : [{ id: entry.peeked, position }],
	);

	it("reads the element's own whole-number id, as JSON.parse would, and parses only what it does not skip", () => {
		const { parsed, peeked } = run([document], () => true);
		expect(peeked).toEqual(expectedPeeks);
		// Every element it could not read is parsed, whatever `skip` would have said.
		expect(parsed).toEqual(
			CASES.flatMap((entry, position) =>
				entry.peeked === undefined ? [{ value: JSON.parse(entry.text), position }] : [],
			),
		);
		const none = run([document], () => false);
		expect(none.parsed.map((entry) => entry.value)).toEqual(
			CASES.map((entry) => JSON.parse(entry.text)),
		);
	});

	it('reads the same wherever the chunks break (random cases)', () => {
		const next = seededRandom(77);
		for (let round = 0; round < 200; round++) {
			const chunks: string[] = [];
			for (let offset = 0; offset < document.length; ) {
				const size = 1 + Math.floor(next() * 12);
				chunks.push(document.slice(offset, offset + size));
				offset += size;
			}
			const { parsed, peeked } = run(chunks, (id) => id % 2 === 0);
			expect(peeked).toEqual(expectedPeeks);
			expect(parsed.map((entry) => entry.position)).toEqual(
				CASES.flatMap((entry, position) =>
					entry.peeked !== undefined && entry.peeked % 2 === 0 ? [] : [position],
				),
			);
		}
	});

	it('checks a skipped element for structure only: bad brackets fail, a bad literal goes unnoticed', async () => {
		const peek = { key: 'id', skip: () => true };
		const skippedLiteral = new JsonArraySplitter('events', () => undefined, peek);
		skippedLiteral.write('{"events": [{"id": 1, "ok": tru}]}');
		expect(() => skippedLiteral.end()).not.toThrow();
		const unskipped = new JsonArraySplitter('events', () => undefined);
		expect(() => unskipped.write('{"events": [{"id": 1, "ok": tru}]}')).toThrow(MalformedJsonError);
		const brackets = new JsonArraySplitter('events', () => undefined, peek);
		expect(() => brackets.write('{"events": [{"id": 1, "x": [}]}')).toThrow(MalformedJsonError);
	});

	it('counts skipped elements in forEachJsonArrayElement', async () => {
		const count = await forEachJsonArrayElement(
			stream([encode(document)]),
			'events',
			() => undefined,
			{ key: 'id', skip: () => true },
		);
		expect(count).toBe(CASES.length);
	});
});
