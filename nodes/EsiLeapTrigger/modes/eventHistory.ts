import type {
	IRun,
	IDataObject,
	INodeExecutionData,
	ITriggerFunctions,
	ITriggerResponse,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { createEsiLeapClient } from '../../core/api/client';
import { settlesWithin, type Clock } from '../../core/clock';
import type { EsiLeapEvent } from '../../core/events/types';
import {
	FailureStreak,
	HistoryPoller,
	PollScheduler,
	serverFilters,
	type CursorStore,
	type StartPosition,
} from '../../core/history/poller';
import type { WatchItem } from '../../core/watch/items';
import { LeadTimeError, parseLeadTimes } from '../../core/watch/leadTime';
import { Watcher, type WatchSettings, type WatchStore } from '../../core/watch/watcher';
import { n8nClock } from '../../shared/clock';
import { toNodeError } from '../../shared/errors';
import { esiLeapApiTransport } from '../../shared/transport';
import {
	canSaveFailedExecution,
	deduplicationScope,
	pollIntervalFloorSeconds,
	triggerLogger,
} from '../context';
import { readSharedParameters, type SharedParameters } from '../description';
import { readExecutions, type Executions } from '../executions';
import { optionalText, readNumber } from '../parameters';
import {
	DEFAULT_LEAD_TIMES,
	DEFAULT_GRACE_SECONDS,
	DEFAULT_MAX_EVENTS_PER_POLL,
	DEFAULT_POLL_INTERVAL_SECONDS,
	eventHistoryProperties,
	MIN_POLL_INTERVAL_SECONDS,
} from './eventHistoryDescription';
import type { TriggerModeDefinition } from '../trigger';

/**
 * Event History mode: poll `GET /v1/events` on our own timer (one node, two modes, so trigger()
 * rather than poll(); conventions §3.9). The cursor lives in the node's static data, which n8n
 * saves when the node emits: the poller writes it right before each emit (core/history/poller.ts).
 */

/** Key of the cursor in `getWorkflowStaticData('node')`. */
export const CURSOR_KEY = 'eventHistoryCursor';
/** Key of the watch snapshot (lease and offer events) in the same static data. */
export const WATCH_KEY = 'watchSnapshot';

/** How long close waits for a poll in flight; a later finish emits nothing. */
const CLOSE_WAIT_MS = 10_000;
/** How long a backlog batch may take in n8n before the next batch is fetched anyway. */
const BACKLOG_BATCH_WAIT_MS = 5 * 60_000;

interface HistoryParameters {
	intervalMs: number;
	start: StartPosition;
	leaseDetails: boolean;
	executions: Executions;
	resourceType?: string;
	resourceUuid?: string;
	graceMs: number;
	maxEventsPerPoll: number;
}

function readStart(context: ITriggerFunctions): StartPosition {
	const startFrom = context.getNodeParameter('startFrom', 'now') as string;
	if (startFrom === 'beginning') return { kind: 'beginning' };
	if (startFrom === 'afterEventId') {
		const eventId = readNumber(context, 'startEventId', 'Event ID', 0, { min: 0, integer: true });
		return { kind: 'afterEventId', eventId };
	}
	if (startFrom === 'now') return { kind: 'now' };
	throw new NodeOperationError(context.getNode(), `Start From: unknown value "${startFrom}"`);
}

function readPollInterval(context: ITriggerFunctions): number {
	const seconds = Number(
		context.getNodeParameter('pollIntervalSeconds', DEFAULT_POLL_INTERVAL_SECONDS),
	);
	const floor = pollIntervalFloorSeconds(context, MIN_POLL_INTERVAL_SECONDS);
	if (Number.isFinite(seconds) && seconds >= floor && seconds > 0) return seconds;
	throw new NodeOperationError(
		context.getNode(),
		`Poll Interval (Seconds) must be at least ${floor}, got ${String(seconds)}`,
		{
			description:
				'Each poll is one GET /v1/events that ESI Leap has Keystone validate, so a shorter interval loads both; ESI writes fulfil and expire events only once a minute.',
		},
	);
}

function readHistoryParameters(context: ITriggerFunctions): HistoryParameters {
	const maxEventsPerPoll = readNumber(
		context,
		'options.maxEventsPerPoll',
		'Max Events per Poll',
		DEFAULT_MAX_EVENTS_PER_POLL,
		{ min: 1, integer: true },
	);
	return {
		intervalMs: readPollInterval(context) * 1000,
		start: readStart(context),
		leaseDetails: context.getNodeParameter('includeLeaseDetails', false) as boolean,
		executions: readExecutions(context, { kind: 'eventHistory', maxEventsPerPoll }),
		resourceType: optionalText(context, 'options.resourceType'),
		resourceUuid: optionalText(context, 'options.resourceUuid'),
		graceMs:
			readNumber(
				context,
				'options.graceSeconds',
				'Late Event Grace (Seconds)',
				DEFAULT_GRACE_SECONDS,
				{ min: 0, integer: false },
			) * 1000,
		maxEventsPerPoll,
	};
}

function staticDataStore(context: ITriggerFunctions, key: string): CursorStore & WatchStore {
	const staticData = context.getWorkflowStaticData('node');
	return {
		read: () => staticData[key],
		write: (value: unknown) => {
			staticData[key] = value as IDataObject;
		},
	};
}

/** A manual test's watch keeps its snapshot in memory only (it reports what is there). */
function memoryStore(): WatchStore {
	let state: unknown;
	return { read: () => state, write: (value) => (state = value) };
}

function readWatchSettings(
	context: ITriggerFunctions,
	shared: SharedParameters,
	history: HistoryParameters,
): WatchSettings {
	let leadSeconds: number[] = [];
	if (shared.watchEvents.includes('lease.ending_soon')) {
		try {
			leadSeconds = parseLeadTimes(
				String(context.getNodeParameter('leadTimes', DEFAULT_LEAD_TIMES)),
			);
		} catch (error) {
			const message = error instanceof LeadTimeError ? error.message : String(error);
			throw new NodeOperationError(context.getNode(), `Lead Times: ${message}`);
		}
	}
	const wantsOffers = shared.watchEvents.some((event) => event.startsWith('offer.'));
	const freeForHours = wantsOffers
		? readNumber(context, 'offerFilters.freeForHours', 'Free For (Hours)', 0, {
				min: 0,
				integer: false,
			})
		: 0;
	const offerText = (name: string) =>
		wantsOffers ? optionalText(context, `offerFilters.${name}`) : undefined;
	const settings: WatchSettings = {
		events: shared.watchEvents,
		leadSeconds,
		allProjects: context.getNodeParameter('options.allProjects', false) as boolean,
		resourceType: history.resourceType,
		resourceUuid: history.resourceUuid,
		resourceClass: offerText('resourceClass'),
		ownerProject: offerText('ownerProject'),
		lesseeProject: offerText('lesseeProject'),
		freeForSeconds: freeForHours > 0 ? Math.round(freeForHours * 3600) : undefined,
		emitCurrent: context.getNodeParameter('options.emitCurrent', false) as boolean,
	};
	// Unset fields stay out, so the snapshot's scope does not change with the parameter layout.
	return Object.fromEntries(
		Object.entries(settings).filter(([, value]) => value !== undefined),
	) as unknown as WatchSettings;
}

/** A manual test must not move the cursor: it gets a store that refuses writes. */
const READ_ONLY_STORE: CursorStore = {
	read: () => undefined,
	write: () => {
		throw new Error('A manual test never stores a cursor');
	},
};

/**
 * Emits events as executions and remembers their completion promises, so a backlog is fed to
 * n8n poll by poll instead of starting thousands of executions at once. In batches, a poll's
 * events are split, in id order, into executions of at most Batch Size items, all emitted in the
 * same synchronous block as the cursor write (the poller's ordering rule), so the stored cursor
 * moves only with the executions that carry its events.
 */
function makeDeliver(context: ITriggerFunctions, executions: Executions, clock: Clock) {
	const keyPrefix = deduplicationScope(context);
	let pending: Array<Promise<unknown>> = [];
	// The 4th argument is n8n 2.x's deduplication key; n8n 1.x ignores it.
	const emit = (items: INodeExecutionData[], key: string) => {
		const done = context.helpers.createDeferredPromise<IRun>();
		pending.push(done.promise.catch(() => undefined));
		context.emit([items], undefined, done, keyPrefix + key);
	};
	/** One execution per value, or executions of at most Batch Size values, in the given order. */
	const emitAll = <T extends object>(
		values: T[],
		keyOf: (value: T) => string,
		batchKeyOf: (first: T, last: T) => string,
	) => {
		const item = (value: T): INodeExecutionData => ({ json: value as unknown as IDataObject });
		if (executions.kind === 'event') {
			for (const value of values) emit([item(value)], keyOf(value));
			return;
		}
		for (let start = 0; start < values.length; start += executions.maxItems) {
			const batch = values.slice(start, start + executions.maxItems);
			emit(batch.map(item), batchKeyOf(batch[0], batch[batch.length - 1]));
		}
	};
	// Events: keyed by the event id, a batch by its first and last event id (as "One per Poll" was).
	const deliver = (events: EsiLeapEvent[]) =>
		emitAll(
			events,
			(event) => String(event.event_id),
			(first, last) => `${first.event_id}-${last.event_id}`,
		);
	// Watch items: keyed by their dedupe key (lease + lead time + end time, ...).
	const deliverWatch = (items: WatchItem[]) =>
		emitAll(
			items,
			(watchItem) => `watch:${watchItem.dedupe_key}`,
			(first, last) => `watch:${first.dedupe_key}..${last.dedupe_key}`,
		);
	/** Waits, at most `waitMs`, for the executions started so far to finish. */
	const settled = async (waitMs: number) => {
		const batch = pending;
		pending = [];
		await settlesWithin(clock, Promise.all(batch), waitMs);
	};
	return { deliver, deliverWatch, settled };
}

function describeSearch(
	context: ITriggerFunctions,
	shared: SharedParameters,
	history: HistoryParameters,
): string {
	const query = serverFilters({
		events: shared.events,
		select: shared.select,
		resourceType: history.resourceType,
		resourceUuid: history.resourceUuid,
	});
	const sent = [
		['event_type', query.eventType],
		['resource_type', query.resourceType],
		['resource_uuid', query.resourceUuid],
	]
		.filter(([, value]) => value !== undefined)
		.map(([name, value]) => `${name}=${value}`)
		.join(', ');
	const filterCount = (context.getNodeParameter('payloadFilters.filter', []) as unknown[]).length;
	return (
		`Searched for the events ${shared.events.join(', ')}` +
		(history.resourceType ? `, resource type ${history.resourceType}` : '') +
		(history.resourceUuid ? `, resource UUID ${history.resourceUuid}` : '') +
		(filterCount ? `, with ${filterCount} payload filter(s)` : '') +
		` (sent to ESI Leap: ${sent || 'no filter'}). ESI Leap shows a non-admin login only the events of its own project's leases.`
	);
}

export async function startEventHistory(this: ITriggerFunctions): Promise<ITriggerResponse> {
	const shared = readSharedParameters(this);
	const history = readHistoryParameters(this);
	const manual = this.getMode() === 'manual';
	const logger = triggerLogger(this);
	const scheduler: { current?: PollScheduler } = {};
	const clock = n8nClock();
	const delivery = makeDeliver(this, history.executions, clock);
	const client = createEsiLeapClient(esiLeapApiTransport(this));
	const isStopped = () => scheduler.current?.isStopped ?? false;

	// ESI Leap's own events, from GET /v1/events (only when one of them is chosen).
	const poller =
		shared.events.length === 0
			? undefined
			: new HistoryPoller({
					client,
					store: manual ? READ_ONLY_STORE : staticDataStore(this, CURSOR_KEY),
					start: history.start,
					selection: {
						events: shared.events,
						select: shared.select,
						resourceType: history.resourceType,
						resourceUuid: history.resourceUuid,
					},
					leaseDetails: history.leaseDetails,
					includeRaw: shared.includeRaw,
					limits: { graceMs: history.graceMs, maxEventsPerPoll: history.maxEventsPerPoll },
					now: clock.now,
					deliver: delivery.deliver,
					isStopped,
					logger,
				});

	// The watch events, from the lease and offer lists (core/watch).
	const watchSettings =
		shared.watchEvents.length === 0 ? undefined : readWatchSettings(this, shared, history);
	const makeWatcher = (
		store: WatchStore,
		deliver: (items: WatchItem[]) => void,
		emitCurrent?: boolean,
	) =>
		watchSettings &&
		new Watcher({
			client,
			store,
			settings: emitCurrent ? { ...watchSettings, emitCurrent } : watchSettings,
			select: shared.matchesFilters,
			deliver,
			now: clock.now,
			isStopped,
			logger,
		});

	if (manual) {
		const manualTriggerFunction = async () => {
			const fail = (error: unknown) => {
				throw toNodeError(this.getNode(), error);
			};
			const found = poller ? await poller.findNewestMatching().catch(fail) : undefined;
			if (found?.event) {
				this.emit([[{ json: found.event as unknown as IDataObject }]]);
				return;
			}
			// The watch events: what is there now (as on a first poll with Emit Current Matches).
			let current: WatchItem[] = [];
			await makeWatcher(memoryStore(), (items) => (current = items), true)
				?.poll()
				.catch(fail);
			if (current.length > 0) {
				this.emit([[{ json: current[0] as unknown as IDataObject }]]);
				return;
			}
			throw new NodeOperationError(
				this.getNode(),
				found
					? `No ESI Leap event matched among the ${found.searched} events ESI Leap returned`
					: 'No lease or offer matches the chosen events now',
				{ description: describeSearch(this, shared, history) },
			);
		};
		return { manualTriggerFunction, closeFunction: async () => undefined };
	}

	const watcher = makeWatcher(staticDataStore(this, WATCH_KEY), delivery.deliverWatch);

	// First activation: fix the start position (and the watch baseline) now, so a wrong login
	// fails the activation.
	const activationFailed = (error: unknown) => {
		throw toNodeError(this.getNode(), error);
	};
	await poller?.initialize().catch(activationFailed);
	if (watcher?.needsBaseline()) await watcher.poll().catch(activationFailed);

	const streak = new FailureStreak({
		logger,
		report: (error, consecutiveFailures) => {
			const nodeError = toNodeError(this.getNode(), error);
			const summary = `${consecutiveFailures} event history polls in a row failed; the trigger keeps polling`;
			logger.error(summary, { error: nodeError.message });
			if (canSaveFailedExecution(this)) {
				nodeError.description = `${summary}. ${nodeError.description ?? ''}`.trim();
				this.saveFailedExecution(nodeError);
			}
		},
	});

	/** One tick: the history poll, then the watch poll; the first failure ends the tick. */
	const pollOnce = async () => {
		const report = await poller?.poll();
		const watched = await watcher?.poll();
		return { report, watched };
	};

	scheduler.current = new PollScheduler({
		intervalMs: history.intervalMs,
		clock,
		run: async () => {
			const outcome = await pollOnce().then(
				(result) => result,
				(error: Error) => error,
			);
			if (outcome instanceof Error) {
				streak.failed(outcome);
				return;
			}
			streak.succeeded();
			const { report, watched } = outcome;
			if (watched && watched.emitted > 0) logger.debug('Watch poll', { ...watched });
			if (!report) return undefined;
			if (report.emitted > 0 || report.lateArrivals > 0) {
				logger.debug('Event history poll', {
					...report,
					abandonedGaps: report.abandonedGaps.length,
				});
			}
			if (!report.truncated) return undefined;
			// Backlog: let n8n finish this batch before fetching the next one.
			await delivery.settled(BACKLOG_BATCH_WAIT_MS);
			return 'more';
		},
	});
	scheduler.current.start(0);

	const closeFunction = async () => {
		const idle = await scheduler.current?.stop(CLOSE_WAIT_MS);
		if (idle === false) logger.warn('Closed while a poll was still running; its result is dropped');
	};
	return { closeFunction };
}

export const eventHistoryMode: TriggerModeDefinition = {
	option: {
		name: 'Event History',
		value: 'eventHistory',
		description: 'Poll the ESI Leap events API (works with an ordinary ESI Leap login)',
	},
	properties: eventHistoryProperties,
	start: startEventHistory,
};
