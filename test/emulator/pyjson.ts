/**
 * Python-compatible serializers. ESI Leap answers with `json.dumps` output (", " and ": "
 * separators, non-ASCII escaped) and quotes values with `repr()` in WSME error messages; the
 * emulator reproduces both so byte-level comparisons with the captures hold.
 */

function escapeNonAscii(text: string): string {
	return text.replace(/[\u007f-\uffff]/g, (char) => {
		const code = char.charCodeAt(0);
		// Python's ensure_ascii leaves DEL (0x7f) alone.
		return code === 0x7f ? char : '\\u' + code.toString(16).padStart(4, '0');
	});
}

export function pyString(text: string): string {
	return escapeNonAscii(JSON.stringify(text));
}

/** `json.dumps(value)` with Python's defaults; object keys keep insertion order. */
export function pyDumps(value: unknown): string {
	if (value === null || value === undefined) return 'null';
	if (typeof value === 'string') return pyString(value);
	if (typeof value === 'number') {
		if (!Number.isFinite(value))
			return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
		return String(value);
	}
	if (typeof value === 'boolean') return value ? 'true' : 'false';
	if (Array.isArray(value)) return '[' + value.map(pyDumps).join(', ') + ']';
	if (typeof value === 'object') {
		const parts: string[] = [];
		for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
			if (item === undefined) continue;
			parts.push(pyString(key) + ': ' + pyDumps(item));
		}
		return '{' + parts.join(', ') + '}';
	}
	return 'null';
}

function pyReprString(text: string): string {
	const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
	let out = '';
	for (const char of text) {
		if (char === '\\') out += '\\\\';
		else if (char === quote) out += '\\' + quote;
		else if (char === '\n') out += '\\n';
		else if (char === '\r') out += '\\r';
		else if (char === '\t') out += '\\t';
		else out += char;
	}
	return quote + out + quote;
}

/** `repr(value)` for JSON-shaped values, as WSME puts them into 400 messages. */
export function pyRepr(value: unknown): string {
	if (value === null || value === undefined) return 'None';
	if (typeof value === 'string') return pyReprString(value);
	if (typeof value === 'boolean') return value ? 'True' : 'False';
	if (typeof value === 'number') return String(value);
	if (Array.isArray(value)) return '[' + value.map(pyRepr).join(', ') + ']';
	if (typeof value === 'object') {
		return (
			'{' +
			Object.entries(value as Record<string, unknown>)
				.map(([key, item]) => pyReprString(key) + ': ' + pyRepr(item))
				.join(', ') +
			'}'
		);
	}
	return 'None';
}
