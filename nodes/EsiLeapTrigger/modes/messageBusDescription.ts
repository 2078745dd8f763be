import type { INodeProperties } from 'n8n-workflow';

import { DEFAULT_EXCHANGE, DEFAULT_TOPIC } from '../../core/bus/topology';
import {
	DEFAULT_RECONCILE_INTERVAL_MINUTES,
	DEFAULT_RECONCILE_WAIT_SECONDS,
} from './reconciliation';

/** Waits before retries 1, 2, 3 (core/bus/ackPolicy.ts DEFAULT_RETRY_DELAYS_MS). */
export const DEFAULT_RETRY_DELAYS_TEXT = '10, 60, 300';

/** Parameters of the Message Bus mode only. Options are shown only when mode = messageBus. */
const showForBus = { show: { mode: ['messageBus'] } };
const showOptionForBus = { show: { '/mode': ['messageBus'] } };

const topLevel: INodeProperties[] = [
	{
		displayName: 'Queue',
		name: 'queueSource',
		type: 'options',
		noDataExpression: true,
		displayOptions: showForBus,
		options: [
			{
				name: 'Own Queue (Recommended)',
				value: 'own',
				description:
					'A durable queue of this trigger, bound to the exchange: receives a copy of every notification and keeps them while n8n is down',
			},
			{
				name: 'Existing Queue',
				value: 'existing',
				description: 'Consume a queue someone else created and bound',
			},
		],
		default: 'own',
	},
	{
		displayName: 'Queue Name',
		name: 'queueName',
		type: 'string',
		default: '',
		displayOptions: { show: { mode: ['messageBus'], queueSource: ['own'] } },
		placeholder: 'n8n-esi-leap.<workflow ID>.<node ID>',
		description:
			'Leave empty for a name unique to this workflow node that stays the same across restarts',
	},
	{
		displayName: 'Queue Name',
		name: 'existingQueue',
		type: 'string',
		default: '',
		required: true,
		displayOptions: { show: { mode: ['messageBus'], queueSource: ['existing'] } },
		description: 'Checked, never declared or bound',
	},
	{
		displayName:
			"This trigger competes with every other consumer of that queue: each message goes to only one of them. Never use ESI Leap's own esi_leap_versioned_notifications.* queues if anything else reads them.",
		name: 'existingQueueNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { mode: ['messageBus'], queueSource: ['existing'] } },
	},
	{
		displayName: 'Acknowledge',
		name: 'acknowledge',
		type: 'options',
		displayOptions: showForBus,
		options: [
			{
				name: 'After the Execution Succeeds',
				value: 'executionSucceeds',
				description: 'A failed execution is retried, then moved to the dead-letter queue',
			},
			{
				name: 'After the Execution Finishes',
				value: 'executionFinishes',
				description: 'Successful or not',
			},
			{
				name: 'Immediately',
				value: 'immediately',
				description: 'On receipt: a failed or interrupted execution loses its message',
			},
		],
		default: 'executionSucceeds',
	},
	{
		displayName: 'Reconcile With Event History',
		name: 'reconcileWithHistory',
		type: 'boolean',
		default: false,
		displayOptions: showForBus,
		description:
			"Whether to also read ESI Leap's event history (needs an ESI Leap API credential) after every reconnect and every few minutes, and run each event the bus did not deliver, once",
	},
	{
		displayName:
			'An admin login sees every event; a lessee or owner login only the events of leases of its own project, so only those are recovered',
		name: 'reconcileNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { mode: ['messageBus'], reconcileWithHistory: [true] } },
	},
];

const options: INodeProperties[] = [
	{
		displayName: 'Exchange',
		name: 'exchange',
		type: 'string',
		default: DEFAULT_EXCHANGE,
		displayOptions: showOptionForBus,
		description: "ESI Leap's control_exchange",
	},
	{
		displayName: 'Topic',
		name: 'topic',
		type: 'string',
		default: DEFAULT_TOPIC,
		displayOptions: showOptionForBus,
		description:
			"ESI Leap's [notification] versioned_notifications_topics; routing keys are TOPIC.info and TOPIC.error",
	},
	{
		displayName: 'Declare Exchange If Missing',
		name: 'declareExchange',
		type: 'boolean',
		default: false,
		displayOptions: showOptionForBus,
		description:
			'Whether to create the exchange exactly as oslo.messaging does (topic, not durable, not auto-delete) on activation instead of only checking that it exists. After a lost connection a missing exchange is always declared this way, so the queue is bound again before ESI Leap publishes.',
	},
	{
		displayName: 'Dead-Letter Queue',
		name: 'deadLetterQueue',
		type: 'string',
		default: '',
		displayOptions: showOptionForBus,
		placeholder: '<queue>.dead',
		description: 'Durable queue for malformed messages and messages whose retries ran out',
	},
	{
		displayName: 'Retries Before Dead-Lettering',
		name: 'maxRetries',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 3,
		displayOptions: showOptionForBus,
	},
	{
		displayName: 'Retry Delays (Seconds)',
		name: 'retryDelays',
		type: 'string',
		default: DEFAULT_RETRY_DELAYS_TEXT,
		displayOptions: showOptionForBus,
		placeholder: '10, 60, 300',
		description:
			'How long a failed message waits before each retry (the last value for later retries; 0 = at once). It waits in RabbitMQ, in a durable queue QUEUE.retry.Ns per delay.',
	},
	{
		displayName: 'Prefetch',
		name: 'prefetch',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 10,
		displayOptions: showOptionForBus,
		description:
			'Maximum number of messages being processed at once; with Executions In Batches at least twice the Batch Size, so the next batch gathers while one runs',
	},
	{
		displayName: 'Ack Timeout (Minutes)',
		name: 'ackTimeoutMinutes',
		type: 'number',
		typeOptions: { minValue: 0.01 },
		default: 10,
		displayOptions: showOptionForBus,
		description:
			'How long to wait for an execution to report back before treating the message as below',
	},
	{
		displayName: 'On Ack Timeout',
		name: 'onAckTimeout',
		type: 'options',
		default: 'retry',
		displayOptions: showOptionForBus,
		options: [
			{
				name: 'Retry (Counts as a Failure)',
				value: 'retry',
				description:
					'The message is requeued and the workflow runs again (up to the retry limit), even if the lost execution did finish',
			},
			{ name: 'Acknowledge', value: 'ack' },
		],
	},
	{
		displayName: 'Report Outage After (Minutes)',
		name: 'outageNoticeMinutes',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 2,
		displayOptions: showOptionForBus,
		description:
			'While the broker stays unreachable this long, the trigger records a failed execution (once per outage) and keeps reconnecting',
	},
	{
		displayName: 'Reconcile Every (Minutes)',
		name: 'reconcileIntervalMinutes',
		type: 'number',
		typeOptions: { minValue: 0.01, numberPrecision: 2 },
		default: DEFAULT_RECONCILE_INTERVAL_MINUTES,
		displayOptions: showOptionForBus,
		description:
			'With Reconcile With Event History on: how often the event history is compared with what the bus delivered (also after every reconnect)',
	},
	{
		displayName: 'Wait for the Bus (Seconds)',
		name: 'reconcileWaitSeconds',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: DEFAULT_RECONCILE_WAIT_SECONDS,
		displayOptions: showOptionForBus,
		description:
			'With Reconcile With Event History on: how long an event found in the history waits for its bus message before it runs from the history instead',
	},
	{
		displayName: 'Close Timeout (Seconds)',
		name: 'closeTimeoutSeconds',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 30,
		displayOptions: showOptionForBus,
		description:
			'On deactivation, how long to wait for running executions; unfinished messages are redelivered later',
	},
];

export const messageBusProperties = { topLevel, options };
