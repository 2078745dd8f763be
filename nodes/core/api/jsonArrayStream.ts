/**
 * Reads a JSON document of the form `{"<key>": [ ... ], ...}` in chunks and hands over the
 * elements of that one array one by one, so a response of any size is never held whole (ESI's
 * `GET /v1/events` has no paging, spec §2.2). Each element is parsed with JSON.parse on its own;
 * everything outside the array (the "skeleton", a few bytes for ESI) is parsed at the end, so
 * the document as a whole is checked as strictly as JSON.parse would.
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
	private capturingKey = false;
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

	constructor(
		private readonly key: string,
		private readonly onElement: (value: unknown, position: number) => void,
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
				if (this.capturingKey) {
					this.keyText += text.slice(index, quote);
					this.capturingKey = false;
					this.lastKey = this.decodeKey(this.keyText);
				}
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
				}
			}

			if (code === QUOTE) {
				this.inString = true;
				if (this.open.length === 1 && this.expectKey && !this.inArray) {
					this.capturingKey = true;
					this.keyText = '';
				}
			} else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
				const atTop = this.open.length === 1 && this.open[0] === OPEN_BRACE;
				this.open.push(code);
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
		const elementText = this.pending + text.slice(start, endExclusive);
		this.pending = '';
		this.elementInProgress = false;
		this.afterComma = false;
		const value = parseJson(elementText, `${this.key}[${this.position}]`);
		this.onElement(value, this.position++);
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
): Promise<number> {
	let count = 0;
	const splitter = new JsonArraySplitter(key, (value, position) => {
		count = position + 1;
		onElement(value, position);
	});
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
