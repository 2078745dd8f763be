/**
 * What every ESI Leap Trigger node is made of: its modes. The full package's trigger
 * (EsiLeapTrigger.node.ts) has Message Bus and Event History; the cloud package's
 * (cloud/EsiLeapTrigger.node.ts) has Event History and, in Message Bus's place, a pointer to the
 * full package. Parameters and defaults come from the modes, so both nodes describe
 * a mode the same way and a workflow moves between the packages by its node type prefix alone.
 */
import type {
	INodeProperties,
	INodePropertyOptions,
	ITriggerFunctions,
	ITriggerResponse,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import {
	eventsProperty,
	includeRawEnvelopeOption,
	payloadFiltersProperty,
} from '../shared/descriptions';
import { executionsProperties } from './executions';

export type TriggerMode = 'messageBus' | 'eventHistory';

export interface TriggerModeDefinition {
	/** The entry in the Mode list; its value is the mode. */
	option: INodePropertyOptions & { value: TriggerMode };
	/**
	 * Top-level parameters, entries of the shared Options collection (`'/mode'`-scoped), and a
	 * mode's own Events list with the parameters of its events (shown after the shared Events
	 * list, which modes with their own hide).
	 */
	properties: {
		topLevel: INodeProperties[];
		options: INodeProperties[];
		events?: INodeProperties[];
	};
	start(this: ITriggerFunctions): Promise<ITriggerResponse>;
}

/** The Mode parameter's default in every package: a saved workflow leaves it out when it is this. */
export const DEFAULT_MODE: TriggerMode = 'messageBus';

/**
 * The trigger's parameters: the mode, then each mode's own parameters, then what the modes share
 * (executions, events, filters, options). A mode's options carry `displayOptions: {show: {'/mode': [...]}}`.
 */
export function triggerProperties(modes: readonly TriggerModeDefinition[]): INodeProperties[] {
	return [
		{
			displayName: 'Mode',
			name: 'mode',
			type: 'options',
			noDataExpression: true,
			options: modes.map((mode) => mode.option),
			default: DEFAULT_MODE,
		},
		...modes.flatMap((mode) => mode.properties.topLevel),
		...executionsProperties,
		eventsProperty,
		...modes.flatMap((mode) => mode.properties.events ?? []),
		payloadFiltersProperty,
		{
			displayName: 'Options',
			name: 'options',
			type: 'collection',
			placeholder: 'Add Option',
			default: {},
			options: [includeRawEnvelopeOption, ...modes.flatMap((mode) => mode.properties.options)],
		},
	];
}

/** Starts the mode the node is set to. */
export async function startTrigger(
	context: ITriggerFunctions,
	modes: readonly TriggerModeDefinition[],
): Promise<ITriggerResponse> {
	const value = context.getNodeParameter('mode', DEFAULT_MODE) as string;
	const mode = modes.find((candidate) => candidate.option.value === value);
	if (!mode) throw new NodeOperationError(context.getNode(), `Mode: unknown value "${value}"`);
	return await mode.start.call(context);
}
