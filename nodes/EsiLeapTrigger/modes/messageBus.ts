import { createHash } from 'node:crypto';
import type {
	IDataObject,
	INodeExecutionData,
	IRun,
	ITriggerFunctions,
	ITriggerResponse,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { parseRetryDelays } from '../../core/bus/ackPolicy';
import type { AckMode, ExecutionOutcome, OnAckTimeout } from '../../core/bus/ackPolicy';
import { DEFAULT_RETRY_DELAYS_TEXT, messageBusProperties } from './messageBusDescription';
import { connectAmqp, describeBroker } from '../../core/bus/amqp';
import { BusConsumer, safeErrorText } from '../../core/bus/consumer';
import type {
	DeliveryInfo,
	MalformedReport,
	OutageReport,
	ReconnectReport,
} from '../../core/bus/consumer';
import { reconnectNotice } from '../../core/bus/reconnectNotice';
import { reconcileEnabled, startReconciliation, type Reconciliation } from './reconciliation';
import {
	DEFAULT_EXCHANGE,
	DEFAULT_TOPIC,
	defaultQueueName,
	planTopology,
	prioritiesForEvents,
} from '../../core/bus/topology';
import type { QueueChoice } from '../../core/bus/topology';
import type { EsiLeapEvent } from '../../core/events/types';
import { brokerSettingsFromCredentials } from '../brokerSettings';
import { canSaveFailedExecution, deduplicationScope, triggerLogger } from '../context';
import { readSharedParameters } from '../description';
import { readExecutions, type Executions } from '../executions';
import { option, requireNumber, requireText } from '../parameters';
import type { TriggerModeDefinition } from '../trigger';

/** Message Bus mode: consume ESI Leap's oslo notifications from RabbitMQ (see core/bus/consumer.ts). */

interface BusParameters {
	queue: QueueChoice;
	ackMode: AckMode;
	exchange: string;
	topic: string;
	declareExchange: boolean;
	deadLetterQueue: string;
	maxRetries: number;
	retryDelaysMs: number[];
	prefetch: number;
	ackTimeoutMs: number;
	onAckTimeout: OnAckTimeout;
	closeTimeoutMs: number;
	outageNoticeMs: number;
	executions: Executions;
}

function readRetryDelays(context: ITriggerFunctions): number[] {
	const text = String(option(context, 'retryDelays', DEFAULT_RETRY_DELAYS_TEXT));
	const delays = parseRetryDelays(text);
	if (delays === null) {
		throw new NodeOperationError(
			context.getNode(),
			'Retry Delays (Seconds) must be numbers of seconds (0 or more) separated by commas, e.g. 10, 60, 300',
		);
	}
	return delays;
}

function readBusParameters(context: ITriggerFunctions): BusParameters {
	const source = context.getNodeParameter('queueSource', 'own') as string;
	let queue: QueueChoice;
	if (source === 'existing') {
		queue = {
			kind: 'existing',
			name: requireText(
				context,
				context.getNodeParameter('existingQueue', '') as string,
				'Queue Name',
			),
		};
	} else {
		const chosen = (context.getNodeParameter('queueName', '') as string).trim();
		const workflowId = String(context.getWorkflow().id ?? '');
		queue = { kind: 'own', name: chosen || defaultQueueName(workflowId, context.getNode().id) };
	}
	return {
		queue,
		ackMode: context.getNodeParameter('acknowledge', 'executionSucceeds') as AckMode,
		executions: readExecutions(context, { kind: 'messageBus' }),
		exchange: requireText(context, option(context, 'exchange', DEFAULT_EXCHANGE), 'Exchange'),
		topic: requireText(context, option(context, 'topic', DEFAULT_TOPIC), 'Topic'),
		declareExchange: option(context, 'declareExchange', false),
		deadLetterQueue: option(context, 'deadLetterQueue', ''),
		maxRetries: requireNumber(
			context,
			option(context, 'maxRetries', 3),
			'Retries Before Dead-Lettering',
			{
				min: 0,
				integer: true,
			},
		),
		retryDelaysMs: readRetryDelays(context),
		prefetch: requireNumber(context, option(context, 'prefetch', 10), 'Prefetch', {
			min: 1,
			integer: true,
		}),
		ackTimeoutMs:
			requireNumber(context, option(context, 'ackTimeoutMinutes', 10), 'Ack Timeout (Minutes)', {
				min: 0.001,
				integer: false,
			}) * 60_000,
		onAckTimeout: option(context, 'onAckTimeout', 'retry') as OnAckTimeout,
		outageNoticeMs:
			requireNumber(
				context,
				option(context, 'outageNoticeMinutes', 2),
				'Report Outage After (Minutes)',
				{ min: 0, integer: false },
			) * 60_000,
		closeTimeoutMs:
			requireNumber(
				context,
				option(context, 'closeTimeoutSeconds', 30),
				'Close Timeout (Seconds)',
				{
					min: 0,
					integer: false,
				},
			) * 1000,
	};
}

function recordFailure(context: ITriggerFunctions, message: string, description: string) {
	if (!canSaveFailedExecution(context)) return;
	context.saveFailedExecution(new NodeOperationError(context.getNode(), message, { description }));
}

/**
 * Whether missed notifications are recovered from ESI Leap's event history: the "Reconcile With
 * Event History" switch, which also asks for the ESI Leap API credential (modes/reconciliation.ts).
 */
function reconciliationConfigured(context: ITriggerFunctions): boolean {
	return reconcileEnabled(context);
}

/** Never silent: a reconnect after which our bindings had been gone says which window is at risk. */
function reportLostBindings(
	context: ITriggerFunctions,
	report: ReconnectReport,
	exchange: string,
	logger: ReturnType<typeof triggerLogger>,
) {
	if (!report.bindingsLost) return;
	const notice = reconnectNotice(report, {
		exchange,
		reconciliation: reconciliationConfigured(context),
	});
	logger.warn(`${notice.message}. ${notice.description}`, {
		outageStart: report.outageStart,
		outageEnd: report.outageEnd,
		exchangeRecreated: report.exchangeRecreated,
	});
	if (!notice.recoveredByReconciliation) recordFailure(context, notice.message, notice.description);
}

function outcomeOf(run: IRun | undefined): ExecutionOutcome {
	// n8n 2.x resolves undefined when the execution was skipped as a duplicate.
	if (run === undefined) return { kind: 'duplicate' };
	const error = run.data?.resultData?.error;
	if (error || run.status === 'error' || run.status === 'crashed') {
		return { kind: 'failed', error: safeErrorText(error?.message ?? run.status) };
	}
	return { kind: 'succeeded' };
}

/**
 * The oslo message id is the same on every broker redelivery of a message (after a connection
 * loss), so n8n skips those duplicates. Our own retries of a failed execution carry the attempt
 * number, so they do run the workflow again. An item reconciliation emits from the event history
 * is keyed by its event id exactly as Event History mode keys it, in the same scope; the two
 * kinds of key cannot collide (a UUID, a whole number).
 */
export function deduplicationKey(
	scope: string,
	event: EsiLeapEvent,
	attempt: number,
): string | undefined {
	if (event.source === 'history') {
		return event.event_id === null ? undefined : `${scope}${event.event_id}`;
	}
	if (!event.message_id) return undefined;
	const base = `${scope}${event.message_id}`;
	return attempt === 0 ? base : `${base}:retry-${attempt}`;
}

/**
 * n8n's key for a batch: its messages' oslo ids, hashed (a batch only holds first deliveries).
 * It catches a batch redelivered whole in the same order (after an n8n restart); the consumer's
 * own memory of outcomes per message (core/bus/recentOutcomes.ts) settles a redelivery in any
 * grouping.
 */
export function batchDeduplicationKey(scope: string, events: EsiLeapEvent[]): string | undefined {
	if (events.some((event) => !event.message_id)) return undefined;
	const ids = events.map((event) => event.message_id).join('\n');
	return `${scope}batch-${createHash('sha256').update(ids).digest('base64url')}`;
}

function makeDeliver(
	context: ITriggerFunctions,
	manual: boolean,
	reconciliation: { current?: Reconciliation },
	logger: ReturnType<typeof triggerLogger>,
) {
	const scope = deduplicationScope(context);
	const deduplicate = !manual && canSaveFailedExecution(context);
	const admitted = (event: EsiLeapEvent) => {
		if (reconciliation.current?.admitBus(event) !== 'skip') return true;
		// Acked without a run: reconciliation already ran this event from the event history.
		logger.debug('Skipped a bus message whose event already ran from the event history', {
			messageId: event.message_id,
			event: event.event,
		});
		return false;
	};
	const run = async (
		events: EsiLeapEvent[],
		key: string | undefined,
		awaitOutcome: boolean,
	): Promise<ExecutionOutcome> => {
		if (events.length === 0) return { kind: 'succeeded' };
		const data: INodeExecutionData[][] = [
			events.map((event) => ({ json: event as unknown as IDataObject })),
		];
		const dedupKey = deduplicate ? key : undefined;
		if (!awaitOutcome) {
			context.emit(data, undefined, undefined, dedupKey);
			return { kind: 'succeeded' };
		}
		const done = context.helpers.createDeferredPromise<IRun>();
		context.emit(data, undefined, done, dedupKey);
		return outcomeOf(await done.promise);
	};
	return {
		deliver: async (event: EsiLeapEvent, delivery: DeliveryInfo) =>
			await run(
				admitted(event) ? [event] : [],
				deduplicationKey(scope, event, delivery.attempt),
				delivery.awaitOutcome,
			),
		deliverBatch: async (events: EsiLeapEvent[], delivery: { awaitOutcome: boolean }) => {
			const batch = events.filter(admitted);
			return await run(batch, batchDeduplicationKey(scope, batch), delivery.awaitOutcome);
		},
	};
}

export async function startMessageBus(this: ITriggerFunctions): Promise<ITriggerResponse> {
	const shared = readSharedParameters(this);
	const bus = readBusParameters(this);
	const manual = this.getMode() === 'manual';
	const settings = brokerSettingsFromCredentials(await this.getCredentials('esiLeapMessageBusApi'));
	const logger = triggerLogger(this);
	const priorities = prioritiesForEvents(shared.events);
	const reconciliation: { current?: Reconciliation } = {};

	const consumer = new BusConsumer({
		connect: async () => await connectAmqp(settings),
		topology: planTopology({
			exchange: bus.exchange,
			topic: bus.topic,
			priorities,
			// A test never takes a production message: it reads a private copy of the stream.
			queue: manual ? { kind: 'temporary' } : bus.queue,
			exchangeMode: bus.declareExchange ? 'declare' : 'passive',
			deadLetterQueue: bus.deadLetterQueue,
			retryDelaysMs: bus.retryDelaysMs,
		}),
		prefetch: manual ? 1 : bus.prefetch,
		policy: {
			mode: manual ? 'immediately' : bus.ackMode,
			maxRetries: bus.maxRetries,
			onTimeout: bus.onAckTimeout,
			retryDelaysMs: bus.retryDelaysMs,
		},
		ackTimeoutMs: bus.ackTimeoutMs,
		// With reconciliation, a filtered bus message still decides its event (never run twice).
		select: (event: EsiLeapEvent) => {
			const selected = shared.select(event);
			if (!selected) reconciliation.current?.admitBus(event);
			return selected;
		},
		includeRaw: shared.includeRaw,
		...makeDeliver(this, manual, reconciliation, logger),
		// A manual test answers with the first matching event alone.
		batch:
			!manual && bus.executions.kind === 'batch'
				? { maxItems: bus.executions.maxItems, maxWaitMs: bus.executions.maxWaitMs }
				: undefined,
		stopAfterFirst: manual,
		logger,
		outageNoticeMs: bus.outageNoticeMs,
		onMalformed: (report: MalformedReport) =>
			recordFailure(
				this,
				'Malformed message on the ESI Leap topic',
				`${report.reason}. Routing key ${report.routingKey}, ${report.bodyBytes} bytes` +
					(report.deadLetterQueue ? `; moved to ${report.deadLetterQueue}.` : '.'),
			),
		onOutage: (report: OutageReport) => {
			const message = `Message bus ${describeBroker(settings)} unreachable for ${Math.round(report.sinceMs / 1000)} s; still reconnecting`;
			logger.error(message, { attempts: report.attempts, error: report.lastError });
			recordFailure(this, message, `Last error: ${report.lastError}`);
		},
		onRecovered: (report: OutageReport) =>
			logger.info('Message bus reachable again', { outageMs: report.sinceMs }),
		onReconnected: (report: ReconnectReport) => {
			reportLostBindings(this, report, bus.exchange, logger);
			reconciliation.current?.onReconnected(report);
		},
	});

	const start = async () => {
		const started = await consumer.start().then(
			() => undefined,
			(error: Error) => error,
		);
		if (started instanceof Error) {
			await consumer.close(0);
			// The broker's own text goes to the description: n8n rewrites messages that contain
			// codes such as ECONNREFUSED, which would hide which broker was meant.
			throw new NodeOperationError(
				this.getNode(),
				`Could not subscribe to ${describeBroker(settings)}`,
				{
					description:
						`${safeErrorText(started)}. Check the credential, the Exchange and Topic options ` +
						'(ESI Leap creates the exchange on its first notification; "Declare Exchange If Missing" creates it now) ' +
						'and, for an existing queue, its name.',
				},
			);
		}
	};

	const closeFunction = async () => {
		await consumer.close(manual ? 0 : bus.closeTimeoutMs);
		await reconciliation.current?.close();
		logger.debug('Closed', { ...consumer.stats });
	};

	if (manual) {
		// n8n calls this right after trigger(); the first matching message answers the test.
		return { closeFunction, manualTriggerFunction: start };
	}
	// Before the first bus message: a backlog in the queue must be matched, not run twice.
	const scope = deduplicationScope(this);
	reconciliation.current = await startReconciliation(this, shared, logger, (event) =>
		canSaveFailedExecution(this) ? deduplicationKey(scope, event, 0) : undefined,
	);
	await start().catch(async (error: unknown) => {
		await reconciliation.current?.close();
		throw error;
	});
	return { closeFunction };
}

export const messageBusMode: TriggerModeDefinition = {
	option: {
		name: 'Message Bus',
		value: 'messageBus',
		description: 'Consume ESI Leap notifications from RabbitMQ (instant, needs broker access)',
	},
	properties: messageBusProperties,
	start: startMessageBus,
};
