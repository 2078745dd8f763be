/**
 * Memory stays bounded however large ESI's unpaged `GET /v1/events` answer is: the poller reads it
 * through the real client as a byte stream and keeps at most maxEventsPerPoll + 1 rows (plus gap
 * fillers). Rows are served in a random order (ESI promises none). Counts, not timings.
 */
import { describe, expect, it } from 'vitest';

import {
	createEsiLeapClient,
	type EsiLeapClient,
	type ScannedEventRow,
} from '../../../nodes/core/api/client';
import type { HttpRequest, Transport } from '../../../nodes/core/api/transport';
import { compileSelection } from '../../../nodes/core/events/filters';
import type { EsiLeapEvent } from '../../../nodes/core/events/types';
import {
	HistoryPoller,
	type StartPosition,
	type StoredCursor,
} from '../../../nodes/core/history/poller';
import { seededRandom } from '../../helpers/seededRandom';

const BACKLOG = 100_000;
const MAX_PER_POLL = 1000;

function row(id: number) {
	return {
		id,
		event_type: id % 2 ? 'esi_leap.lease.fulfill.start' : 'esi_leap.lease.fulfill.end',
		event_time: '2026-11-24T17:25:49.806336',
		object_type: 'lease',
		object_uuid: '57a46b26-b83b-4b10-a983-7179a79b3190',
		resource_type: 'dummy_node',
		resource_uuid: 'node-1',
		lessee_id: 'lessee',
		owner_id: 'owner',
	};
}

/**
 * A streaming ESI: each answer is generated row by row while it is read (about 100 rows per
 * chunk, with multi-byte text in every row), in a fresh random order, and never exists whole.
 */
function streamingEsi(ids: () => number[], seed = 7) {
	const next = seededRandom(seed);
	const stats = { requests: [] as HttpRequest[], produced: 0 };
	const transport: Transport = async (request) => {
		stats.requests.push(request);
		expect(request.responseType).toBe('stream');
		const after = Number(request.query?.last_event_id ?? 0);
		const answer = ids().filter((id) => id > after);
		for (let index = answer.length - 1; index > 0; index--) {
			const other = Math.floor(next() * (index + 1));
			[answer[index], answer[other]] = [answer[other], answer[index]];
		}
		stats.produced = 0;
		async function* body(): AsyncGenerator<Uint8Array> {
			const encoder = new TextEncoder();
			yield encoder.encode('{"events": [');
			for (let start = 0; start < answer.length; start += 100) {
				const part = answer
					.slice(start, start + 100)
					.map((id) => JSON.stringify({ ...row(id), note: 'é漢😀' }))
					.join(', ');
				stats.produced += Math.min(100, answer.length - start);
				yield encoder.encode(start === 0 ? part : `, ${part}`);
			}
			yield encoder.encode(']}');
		}
		return { status: 200, headers: {}, body: body() };
	};
	return { transport, stats };
}

/** Counts the rows the poller is shown and how far the stream ever ran ahead of them. */
function counting(client: EsiLeapClient, stats: { produced: number }) {
	const seen = { visits: 0, mostAhead: 0 };
	const scanEvents: EsiLeapClient['scanEvents'] = (filters, visit) => {
		seen.visits = 0;
		return client.scanEvents(filters, (scanned: ScannedEventRow) => {
			seen.visits++;
			seen.mostAhead = Math.max(seen.mostAhead, stats.produced - seen.visits);
			visit(scanned);
		});
	};
	return { client: { scanEvents, getLease: client.getLease }, seen };
}

function poller(
	ids: () => number[],
	start: StartPosition,
	stored: { value?: StoredCursor } = {},
	seed?: number,
) {
	const esi = streamingEsi(ids, seed);
	const wrapped = counting(createEsiLeapClient(esi.transport), esi.stats);
	const batches: EsiLeapEvent[][] = [];
	const events = ['fulfill.start', 'fulfill.end'] as const;
	const history = new HistoryPoller({
		client: wrapped.client,
		store: { read: () => stored.value, write: (value) => (stored.value = structuredClone(value)) },
		start,
		selection: { events: [...events], select: compileSelection({ events: [...events] }) },
		limits: { maxEventsPerPoll: MAX_PER_POLL },
		deliver: (batch) => batches.push(batch),
	});
	return { history, batches, stored, seen: wrapped.seen, stats: esi.stats };
}

const range = (from: number, to: number) =>
	Array.from({ length: to - from + 1 }, (_, index) => from + index);

describe('Event History over a 100 000-event backlog', () => {
	it('keeps at most maxEventsPerPoll + 1 of the rows one poll streams, and takes the smallest ids', async () => {
		const backlog = range(1, BACKLOG);
		const h = poller(() => backlog, { kind: 'beginning' });
		const report = await h.history.poll();

		expect(h.seen.visits).toBe(BACKLOG);
		expect(report.fetched).toBe(BACKLOG);
		expect(report.kept).toBe(MAX_PER_POLL + 1);
		expect(report.accepted).toBe(MAX_PER_POLL);
		expect(report.truncated).toBe(true);
		expect(report.cursor).toBe(MAX_PER_POLL);
		expect(h.batches.flat().map((event) => event.event_id)).toEqual(range(1, MAX_PER_POLL));
		// Streamed, not buffered: the source was never more than a chunk ahead of the reader.
		expect(h.seen.mostAhead).toBeLessThanOrEqual(100);
	});

	it('starts "now" at the newest of 100 000 unordered ids, keeping none of them', async () => {
		const backlog = range(1, BACKLOG);
		const h = poller(() => backlog, { kind: 'now' });
		await h.history.initialize();
		expect(h.stored.value?.state).toEqual({ version: 1, cursor: BACKLOG, gaps: [] });
		expect(h.seen.visits).toBe(BACKLOG);
		expect(h.seen.mostAhead).toBeLessThanOrEqual(100);
	});

	it('finds the newest matching event of 100 000 for a manual test', async () => {
		const backlog = range(1, BACKLOG);
		const h = poller(() => backlog, { kind: 'now' });
		const found = await h.history.findNewestMatching();
		expect(found.searched).toBe(BACKLOG);
		expect(found.event?.event_id).toBe(BACKLOG);
		expect(h.stored.value).toBeUndefined();
	});

	it('keeps gap fillers on top of the bound, and no more', async () => {
		// 1..5000 with 20 ids missing just below the first poll's cursor; they appear later.
		const missing = range(981, 1000);
		const visible = new Set(range(1, 5000).filter((id) => !missing.includes(id)));
		const h = poller(() => [...visible], { kind: 'beginning' });
		const first = await h.history.poll();
		expect(first.cursor).toBe(MAX_PER_POLL + missing.length);
		expect(first.kept).toBe(MAX_PER_POLL + 1);
		expect(h.stored.value?.state.gaps).toEqual([
			{ from: 981, to: 1000, seenAt: expect.any(Number) },
		]);

		for (const id of missing) visible.add(id);
		const second = await h.history.poll();
		expect(second.lateArrivals).toBe(missing.length);
		expect(second.kept).toBe(MAX_PER_POLL + 1 + missing.length);
		expect(h.stored.value?.state.gaps).toEqual([]);
		const emitted = h.batches.flat().map((event) => event.event_id);
		expect(emitted).toHaveLength(2 * MAX_PER_POLL + missing.length);
		expect(new Set(emitted).size).toBe(emitted.length);
	});
});
