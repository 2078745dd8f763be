import type { IDataObject, INodeExecutionData, ITriggerFunctions } from 'n8n-workflow';

import { createEsiLeapClient } from '../../core/api/client';
import type { ReconnectReport } from '../../core/bus/consumer';
import { Reconciler, type BusVerdict, type LedgerState } from '../../core/bus/reconcile';
import type { EsiLeapEvent } from '../../core/events/types';
import {
	FailureStreak,
	HistoryPoller,
	PollScheduler,
	type CursorStore,
	type HistoryLogger,
} from '../../core/history/poller';
import { toNodeError } from '../../shared/errors';
import { n8nClock } from '../../shared/clock';
import { esiLeapApiTransport } from '../../shared/transport';
import { canSaveFailedExecution } from '../context';
import type { SharedParameters } from '../description';
import { option, requireNumber } from '../parameters';

/**
 * Message Bus mode reconciled with ESI Leap's event history (core/bus/reconcile.ts): a history
 * pass at activation, after every reconnect and every few minutes, on the history mode's
 * scheduler and cursor. State lives in the node's static data under two keys of its own, so a
 * trigger switched between modes never mixes a bus cursor with a history-mode cursor.
 */

export const RECONCILE_CURSOR_KEY = 'messageBusHistoryCursor';
export const RECONCILE_LEDGER_KEY = 'messageBusLedger';

export const DEFAULT_RECONCILE_INTERVAL_MINUTES = 5;
export const DEFAULT_RECONCILE_WAIT_SECONDS = 60;
/** How long close waits for a pass in flight; a later finish emits nothing. */
const CLOSE_WAIT_MS = 10_000;
/** A due row is decided a moment after its settle time, not before. */
const DUE_SLACK_MS = 50;

export interface Reconciliation {
	/** Bus side: `skip` means the history already ran this event. */
	admitBus(event: EsiLeapEvent): BusVerdict;
	onReconnected(report: ReconnectReport): void;
	close(): Promise<void>;
}

export function reconcileEnabled(context: ITriggerFunctions): boolean {
	return context.getNodeParameter('reconcileWithHistory', false) as boolean;
}

function staticStore<T>(context: ITriggerFunctions, key: string) {
	const staticData = context.getWorkflowStaticData('node');
	return {
		read: () => staticData[key],
		write: (value: T) => {
			staticData[key] = value as unknown as IDataObject;
		},
	};
}

/**
 * Starts reconciliation, or returns undefined when it is off (or in a manual test, which reads
 * one bus message and never stores state). A wrong ESI Leap login fails the activation here.
 */
export async function startReconciliation(
	context: ITriggerFunctions,
	shared: SharedParameters,
	logger: HistoryLogger,
	emitKey: (event: EsiLeapEvent) => string | undefined,
): Promise<Reconciliation | undefined> {
	if (context.getMode() === 'manual') return undefined;
	if (!reconcileEnabled(context)) {
		// The bus runs events unrecorded while this is off: a later switch-on must start afresh
		// from then, not replay from an old cursor what the bus already ran.
		const staticData = context.getWorkflowStaticData('node');
		delete staticData[RECONCILE_CURSOR_KEY];
		delete staticData[RECONCILE_LEDGER_KEY];
		return undefined;
	}
	const intervalMs =
		requireNumber(
			context,
			Number(option(context, 'reconcileIntervalMinutes', DEFAULT_RECONCILE_INTERVAL_MINUTES)),
			'Reconcile Every (Minutes)',
			{ min: 0.01, integer: false },
		) * 60_000;
	const settleMs =
		requireNumber(
			context,
			Number(option(context, 'reconcileWaitSeconds', DEFAULT_RECONCILE_WAIT_SECONDS)),
			'Wait for the Bus (Seconds)',
			{ min: 0, integer: false },
		) * 1000;
	const scheduler: { current?: PollScheduler } = {};
	const isStopped = () => scheduler.current?.isStopped ?? false;

	const history = new HistoryPoller({
		client: createEsiLeapClient(esiLeapApiTransport(context)),
		store: staticStore(context, RECONCILE_CURSOR_KEY) as CursorStore,
		// The bus covers what happened before; the history fills in from activation on.
		start: { kind: 'now' },
		selection: { events: shared.events, select: shared.select },
		includeRaw: shared.includeRaw,
		// The reconciler reads through advance(); poll() and its deliver are not used.
		deliver: () => undefined,
		isStopped,
		logger,
	});
	const reconciler = new Reconciler({
		history,
		store: staticStore<LedgerState>(context, RECONCILE_LEDGER_KEY),
		select: shared.select,
		events: shared.events,
		limits: { settleMs },
		deliver: (events) => {
			for (const event of events) {
				const data: INodeExecutionData[][] = [[{ json: event as unknown as IDataObject }]];
				context.emit(data, undefined, undefined, emitKey(event));
			}
			logger.info('Ran events the message bus had not delivered, from the event history', {
				eventIds: events.map((event) => event.event_id),
			});
		},
		isStopped,
		logger,
	});

	await history.initialize().catch((error: unknown) => {
		throw toNodeError(context.getNode(), error);
	});

	const streak = new FailureStreak({
		logger,
		report: (error, consecutiveFailures) => {
			const nodeError = toNodeError(context.getNode(), error);
			const summary = `${consecutiveFailures} event history reconciliations in a row failed; the bus keeps running and reconciliation keeps trying`;
			logger.error(summary, { error: nodeError.message });
			if (canSaveFailedExecution(context)) {
				nodeError.description = `${summary}. ${nodeError.description ?? ''}`.trim();
				context.saveFailedExecution(nodeError);
			}
		},
	});

	scheduler.current = new PollScheduler({
		intervalMs,
		clock: n8nClock(),
		run: async () => {
			const outcome = await reconciler.pass().then(
				(report) => report,
				(error: Error) => error,
			);
			if (outcome instanceof Error) {
				streak.failed(outcome);
				return undefined;
			}
			streak.succeeded();
			if (outcome.rows > 0 || outcome.decidedByHistory > 0) {
				logger.debug('Event history reconciliation', { ...outcome });
			}
			const due = reconciler.nextDueInMs();
			if (due !== undefined) scheduler.current?.runWithin(due + DUE_SLACK_MS);
			return outcome.truncated ? 'more' : undefined;
		},
	});
	scheduler.current.start(0);

	return {
		admitBus: (event) => reconciler.admitBus(event),
		onReconnected: (report) => {
			logger.info('Reconciling with the event history after a reconnect', {
				outageMs: report.outageEnd - report.outageStart,
				bindingsLost: report.bindingsLost,
			});
			scheduler.current?.runWithin(0);
		},
		close: async () => {
			const idle = await scheduler.current?.stop(CLOSE_WAIT_MS);
			if (idle === false) {
				logger.warn('Closed while a reconciliation was still running; its result is dropped');
			}
		},
	};
}
