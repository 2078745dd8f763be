import type { INodeProperties, ITriggerFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { readNumber } from './parameters';

/**
 * "Executions: One per Event | In Batches", one parameter with one meaning in both modes. In
 * batches, up to Batch Size events become the items of one execution, in event order: on the
 * message bus they are gathered for at most Max Batch Wait from the first; an event-history poll
 * finds its events at once, so they never wait.
 *
 * Event History mode had "One per Poll" (value `poll`) before; a workflow saved with it runs in
 * batches of Max Events per Poll, which is exactly one execution per poll as before.
 */

export const DEFAULT_BATCH_SIZE = 100;
export const DEFAULT_BATCH_MAX_WAIT_MS = 1000;
/** The value Event History mode saved for "One per Poll". */
export const LEGACY_PER_POLL = 'poll';

export type Executions =
	| { kind: 'event' }
	| {
			kind: 'batch';
			maxItems: number;
			/** Message Bus mode only; 0 in Event History mode (a poll's events come at once). */
			maxWaitMs: number;
	  };

export const executionsProperties: INodeProperties[] = [
	{
		displayName: 'Executions',
		name: 'executionPer',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'One per Event', value: 'event', description: 'Each event starts its own execution' },
			{
				name: 'In Batches',
				value: 'batch',
				description:
					'Up to Batch Size events as the items of one execution, in event order: far fewer executions when many events come at once',
			},
		],
		default: 'event',
	},
	{
		displayName: 'Batch Size',
		name: 'batchSize',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		default: DEFAULT_BATCH_SIZE,
		displayOptions: { show: { executionPer: ['batch'] } },
		description: 'Most events in one execution',
	},
	{
		displayName: 'Max Batch Wait (Milliseconds)',
		name: 'batchMaxWaitMs',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		default: DEFAULT_BATCH_MAX_WAIT_MS,
		displayOptions: { show: { mode: ['messageBus'], executionPer: ['batch'] } },
		description:
			'How long a batch waits for more events after its first one, so a quiet stream still runs each event within this time',
	},
];

/**
 * Reads the choice. `mode` tells what the legacy `poll` value meant: in Event History mode one
 * execution per poll (batches of `maxEventsPerPoll`); Message Bus mode never offered it and ran
 * one execution per event whatever was stored.
 */
export function readExecutions(
	context: ITriggerFunctions,
	mode: { kind: 'messageBus' } | { kind: 'eventHistory'; maxEventsPerPoll: number },
): Executions {
	const value = context.getNodeParameter('executionPer', 'event') as string;
	if (value === LEGACY_PER_POLL) {
		return mode.kind === 'eventHistory'
			? { kind: 'batch', maxItems: mode.maxEventsPerPoll, maxWaitMs: 0 }
			: { kind: 'event' };
	}
	if (value === 'event') return { kind: 'event' };
	if (value !== 'batch') {
		throw new NodeOperationError(context.getNode(), `Executions: unknown value "${value}"`);
	}
	const maxItems = readNumber(context, 'batchSize', 'Batch Size', DEFAULT_BATCH_SIZE, {
		min: 1,
		integer: true,
	});
	const maxWaitMs =
		mode.kind === 'messageBus'
			? readNumber(
					context,
					'batchMaxWaitMs',
					'Max Batch Wait (Milliseconds)',
					DEFAULT_BATCH_MAX_WAIT_MS,
					{ min: 1, integer: true },
				)
			: 0;
	return { kind: 'batch', maxItems, maxWaitMs };
}
