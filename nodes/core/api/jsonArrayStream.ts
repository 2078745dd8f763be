/**
 * Reads a JSON document of the form `{"<key>": [ ... ], ...}` in chunks and hands over the
 * elements of that one array one by one, so a response of any size is never held whole (ESI's
 * `GET /v1/events` has no paging, spec §2.2). Each element is parsed with JSON.parse on its own;
 * everything outside the array (the "skeleton", a few bytes for ESI) is parsed at the end, so
 * the document as a whole is checked as strictly as JSON.parse would.
 *
 * With an ElementPeek, one whole-number member of each element object is read as the element
 * streams by, and the reader may skip the element's JSON.parse: a poll over a backlog wants a
 * thousand rows of an answer of any size, and parsing the rest was most of its time and garbage.
 * A skipped element is checked for structure only (brackets, strings), not parsed.
 */

export class MalformedJsonError extends Error {
	/** `events[12]` when an element is at fault, else undefined. */
	readonly field?: string;
	/** What is wrong, without the field. */
	readonly reason: string;

	constructor(reason: string, field?: string) {
		super(field ? `${field}: ${reason}` : reason);
		this.name = 'MalformedJsonError';
		this.field = field;
		this.reason = reason;
	}
}

/**
 * Reads the member `key` of each element object at the element's own level (`{"id": 12, ...}`,
 * not a nested one), as JSON.parse would see it: the last one when it repeats. `skip` gets its
 * value; true: the element is not parsed (onElement is not called for it, its position counts).
 * An element without such a member, with a value that is not a plain whole number, or with an
 * escaped key at its own level (which could spell `key`) is always parsed.
 */
export interface ElementPeek {
	key: string;
	skip(value: number, position: number): boolean;
}

/** A JSON whole number as written: optional minus, no leading zeros, no fraction or exponent. */
const PLAIN_INTEGER = /^-?(0|[1-9]\d*)$/;

/** Text outside the array is kept to check it; a document that is mostly outside it is refused. */
const MAX_SKELETON_CHARS = 1 << 20;

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isWhitespace(code: number): boolean {
	return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

/**
 * The synchronous splitter: `write` text as it arrives, `end` once it is complete. Only
 * structure is tracked here (containers, strings, escapes); JSON.parse judges everything else.
 */
export class JsonArraySplitter {
	/** Open containers, outermost first: `{` or `[`. */
	private readonly open: number[] = [];
	private inString = false;
	private escaped = false;
	/** At the top level of the document object, the next string is a key. */
	private expectKey = false;
	/** Whose key the string being read is: the document's, or an element's own member's. */
	private capturingKey: 'document' | 'member' | null = null;
	private keyText = '';
	private lastKey: string | undefined;
	/** Inside the wanted array, at its own level or deeper. */
	private inArray = false;
	private arraySeen = false;
	private arrayDepth = 0;
	/** At the array's own level: an element may start (after `[` or `,`). */
	private elementExpected = false;
	private elementInProgress = false;
	private afterComma = false;
	/** The part of the current element that arrived in earlier chunks. */
	private pending = '';
	private skeleton = '';
	private position = 0;
	/** The current element's own level (ElementPeek): a key may follow; its last key; the value. */
	private memberKeyExpected = false;
	private lastMemberKey: string | undefined;
	/** The peeked member's value text while it is read, else null. */
	private peekText: string | null = null;
	private peeked: number | undefined;
	/** Something at the element's own level the peek cannot vouch for: parse the element. */
	private peekBlocked = false;

	constructor(
		private readonly key: string,
		private readonly onElement: (value: unknown, position: number) => void,
		private readonly peek?: ElementPeek,
	) {}

	write(text: string): void {
		let elementStart = this.elementInProgress ? 0 : -1;
		let skeletonFrom = this.inArray ? -1 : 0;
		let nextBackslash = -2;
		const length = text.length;
		let index = 0;
		while (index < length) {
			if (this.inString) {
				if (this.escaped) {
					if (this.capturingKey) this.keyText += text[index];
					this.escaped = false;
					index++;
					continue;
				}
				// Jump to the next quote or backslash instead of stepping through the string.
				if (nextBackslash !== -1 && nextBackslash < index)
					nextBackslash = text.indexOf('\\', index);
				const quote = text.indexOf('"', index);
				if (nextBackslash !== -1 && (quote === -1 || nextBackslash < quote)) {
					if (this.capturingKey) this.keyText += text.slice(index, nextBackslash + 1);
					this.escaped = true;
					index = nextBackslash + 1;
					continue;
				}
				if (quote === -1) {
					if (this.capturingKey) this.keyText += text.slice(index);
					index = length;
					continue;
				}
				if (this.capturingKey === 'document')
					this.lastKey = this.decodeKey(this.keyText + text.slice(index, quote));
				if (this.capturingKey === 'member')
					this.memberKeyRead(this.keyText + text.slice(index, quote));
				this.capturingKey = null;
				this.inString = false;
				index = quote + 1;
				continue;
			}

			const code = text.charCodeAt(index);
			if (this.inArray && this.open.length === this.arrayDepth) {
				// At the array's own level: element boundaries.
				if (code === COMMA || code === CLOSE_BRACKET) {
					if (this.elementInProgress) {
						this.finishElement(text, elementStart, index);
						elementStart = -1;
					} else if (code === COMMA || this.afterComma) {
						throw new MalformedJsonError(
							`unexpected "${String.fromCharCode(code)}"`,
							`${this.key}[${this.position}]`,
						);
					}
					if (code === COMMA) {
						this.afterComma = true;
						this.elementExpected = true;
						index++;
						continue;
					}
					// The array closes: back to the skeleton.
					this.open.pop();
					this.inArray = false;
					skeletonFrom = index;
					index++;
					continue;
				}
				if (!this.elementInProgress && !isWhitespace(code)) {
					if (!this.elementExpected) {
						throw new MalformedJsonError(
							'expected "," between elements',
							`${this.key}[${this.position}]`,
						);
					}
					this.elementInProgress = true;
					this.elementExpected = false;
					elementStart = index;
					this.startPeek();
				}
			}

			if (this.peek && this.atElementLevel()) this.peekAt(code);
			if (code === QUOTE) {
				this.inString = true;
				if (this.open.length === 1 && this.expectKey && !this.inArray) {
					this.capturingKey = 'document';
					this.keyText = '';
				}
			} else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
				const atTop = this.open.length === 1 && this.open[0] === OPEN_BRACE;
				this.open.push(code);
				// An element object opens: its first key may follow.
				if (this.inArray && code === OPEN_BRACE && this.open.length === this.arrayDepth + 1)
					this.memberKeyExpected = true;
				if (code === OPEN_BRACE && this.open.length === 1) this.expectKey = true;
				if (atTop && code === OPEN_BRACKET && !this.expectKey && this.lastKey === this.key) {
					if (this.arraySeen) throw new MalformedJsonError(`"${this.key}" appears twice`);
					this.arraySeen = true;
					this.inArray = true;
					this.arrayDepth = this.open.length;
					this.elementExpected = true;
					this.afterComma = false;
					this.appendSkeleton(text.slice(skeletonFrom, index + 1));
					skeletonFrom = -1;
				}
			} else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
				const expected = code === CLOSE_BRACE ? OPEN_BRACE : OPEN_BRACKET;
				if (this.open.pop() !== expected) {
					throw new MalformedJsonError(
						`unexpected "${String.fromCharCode(code)}"`,
						this.inArray ? `${this.key}[${this.position}]` : undefined,
					);
				}
			} else if (this.open.length === 1 && !this.inArray) {
				if (code === COLON) this.expectKey = false;
				else if (code === COMMA) this.expectKey = true;
			}
			index++;
		}
		if (this.elementInProgress) this.pending += text.slice(elementStart);
		if (skeletonFrom !== -1) this.appendSkeleton(text.slice(skeletonFrom));
	}

	/** Checks that the document was complete and well-formed outside the array. */
	end(): void {
		if (this.inArray || this.inString || this.open.length > 0) {
			throw new MalformedJsonError('the document ends early');
		}
		const skeleton = parseJson(this.skeleton);
		const value =
			typeof skeleton === 'object' && skeleton !== null && !Array.isArray(skeleton)
				? (skeleton as Record<string, unknown>)[this.key]
				: undefined;
		if (!this.arraySeen || !Array.isArray(value)) {
			throw new MalformedJsonError('Required (an array)', this.key);
		}
	}

	private finishElement(text: string, start: number, endExclusive: number): void {
		const skipped =
			this.peek !== undefined &&
			!this.peekBlocked &&
			this.peeked !== undefined &&
			this.peek.skip(this.peeked, this.position);
		const elementText = skipped ? '' : this.pending + text.slice(start, endExclusive);
		this.pending = '';
		this.elementInProgress = false;
		this.afterComma = false;
		if (skipped) {
			this.position++;
			return;
		}
		const value = parseJson(elementText, `${this.key}[${this.position}]`);
		this.onElement(value, this.position++);
	}

	private startPeek(): void {
		this.memberKeyExpected = false;
		this.lastMemberKey = undefined;
		this.peekText = null;
		this.peeked = undefined;
		this.peekBlocked = false;
	}

	/** Directly inside the current element, which is an object. */
	private atElementLevel(): boolean {
		return (
			this.inArray &&
			this.open.length === this.arrayDepth + 1 &&
			this.open[this.arrayDepth] === OPEN_BRACE
		);
	}

	/** One character (outside strings) at the element object's own level, before it is handled. */
	private peekAt(code: number): void {
		if (code === QUOTE) {
			if (this.memberKeyExpected) {
				this.capturingKey = 'member';
				this.keyText = '';
				this.memberKeyExpected = false;
			} else if (this.peekText !== null) this.peekBlocked = true; // a string value
		} else if (code === COLON) {
			if (this.lastMemberKey === this.peek!.key) this.peekText = '';
		} else if (code === COMMA || code === CLOSE_BRACE) {
			this.finishPeekValue();
			this.memberKeyExpected = code === COMMA;
		} else if (this.peekText !== null) {
			if (code === OPEN_BRACE || code === OPEN_BRACKET) this.peekBlocked = true;
			else this.peekText += String.fromCharCode(code);
		}
	}

	private memberKeyRead(raw: string): void {
		// An escape could spell the peeked key: leave the element to JSON.parse.
		if (raw.includes('\\')) this.peekBlocked = true;
		this.lastMemberKey = raw;
	}

	private finishPeekValue(): void {
		if (this.peekText === null) return;
		const text = this.peekText.trim();
		const value = Number(text);
		if (PLAIN_INTEGER.test(text) && Number.isSafeInteger(value)) this.peeked = value;
		else this.peekBlocked = true;
		this.peekText = null;
	}

	private appendSkeleton(text: string): void {
		this.skeleton += text;
		if (this.skeleton.length > MAX_SKELETON_CHARS) {
			throw new MalformedJsonError(
				`more than ${MAX_SKELETON_CHARS} characters outside "${this.key}"`,
			);
		}
	}

	private decodeKey(raw: string): string {
		return parseJson(`"${raw}"`) as string;
	}
}

/** JSON.parse whose failure is a MalformedJsonError naming `field`. */
function parseJson(text: string, field?: string): unknown {
	let reason: string;
	try {
		return JSON.parse(text) as unknown;
	} catch (error) {
		reason = (error as Error).message;
	}
	throw new MalformedJsonError(reason, field);
}

/**
 * Feeds a byte stream to a JsonArraySplitter. UTF-8 sequences split across chunks are joined by
 * the streaming TextDecoder; invalid UTF-8 is an error, as a strict JSON reader would make it.
 * Leaving early (an error, here or in `onElement`) closes the stream.
 */
export async function forEachJsonArrayElement(
	chunks: AsyncIterable<Uint8Array>,
	key: string,
	onElement: (value: unknown, position: number) => void,
	peek?: ElementPeek,
): Promise<number> {
	let count = 0;
	const splitter = new JsonArraySplitter(
		key,
		(value, position) => {
			count = position + 1;
			onElement(value, position);
		},
		peek && {
			key: peek.key,
			skip: (value, position) => {
				count = position + 1;
				return peek.skip(value, position);
			},
		},
	);
	const decoder = new TextDecoder('utf-8', { fatal: true });
	const decode = (chunk: Uint8Array | undefined, stream: boolean) => {
		let reason: string;
		try {
			return decoder.decode(chunk, { stream });
		} catch (error) {
			reason = (error as Error).message;
		}
		throw new MalformedJsonError(`not UTF-8 (${reason})`);
	};
	for await (const chunk of chunks) splitter.write(decode(chunk, true));
	splitter.write(decode(undefined, false));
	splitter.end();
	return count;
}
