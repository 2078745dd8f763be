/**
 * The edge-case captures of a real ESI Leap (test/fixtures/esi-leap-real-edge, copied byte-exact
 * from the shared fixtures; their README describes each file and the format).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const EDGE_CAPTURES = join(__dirname, '..', 'fixtures', 'esi-leap-real-edge');

export interface EdgeCapture {
	file: string;
	/** The NNN of edge-NNN. */
	number: number;
	seq: number;
	captured_at: string;
	request: {
		method: string;
		/** With the query string exactly as sent. */
		path: string;
		/** admin | owner | lessee | lessee-appcred | a label such as "owner (revoked token)" | null. */
		as: string | null;
		project_id: string | null;
		headers_sent: Record<string, string>;
		/** The exact bytes sent, or null when no body was sent at all. */
		body_raw: string | null;
	};
	response: {
		/** null when no answer came (edge-086). */
		status: number | null;
		reason: string;
		headers: Record<string, string>;
		body_text: string;
		body: unknown;
	};
}

let cache: EdgeCapture[] | undefined;

export function edgeCaptures(): EdgeCapture[] {
	cache ??= readdirSync(EDGE_CAPTURES)
		.filter((name) => /^edge-\d{3}-.*\.json$/.test(name))
		.sort()
		.map((file) => ({
			file,
			number: Number(file.slice(5, 8)),
			...(JSON.parse(readFileSync(join(EDGE_CAPTURES, file), 'utf8')) as Omit<
				EdgeCapture,
				'file' | 'number'
			>),
		}));
	return cache;
}

export function edgeCapture(number: number): EdgeCapture {
	const found = edgeCaptures().find((capture) => capture.number === number);
	if (!found) throw new Error(`no capture edge-${String(number).padStart(3, '0')}`);
	return found;
}

/** ESI's error text (WSME faultstring) of a capture. */
export function faultstringOf(capture: EdgeCapture): string | undefined {
	const body = capture.response.body as { faultstring?: unknown } | null;
	return typeof body?.faultstring === 'string' ? body.faultstring : undefined;
}
