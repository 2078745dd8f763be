import type {
	INodeType,
	INodeTypeDescription,
	ITriggerFunctions,
	ITriggerResponse,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { eventHistoryMode } from '../../../nodes/EsiLeapTrigger/modes/eventHistory';
import {
	startTrigger,
	triggerProperties,
	type TriggerModeDefinition,
} from '../../../nodes/EsiLeapTrigger/trigger';

const FULL_PACKAGE = 'n8n-nodes-esi-leap';

/**
 * Message Bus mode is not in this package (it needs a RabbitMQ client, and n8n Cloud allows no
 * runtime dependency). Its Mode entry stays, with the full package's default, so a workflow
 * moves between the two packages by its node type prefix alone: a workflow saved with the
 * default mode means Message Bus in both, and here it says where that mode is.
 */
const messageBusInFullPackage: TriggerModeDefinition = {
	option: {
		name: 'Message Bus',
		value: 'messageBus',
		description: `Only in the full package ${FULL_PACKAGE}, for operators with RabbitMQ access; choose Event History here`,
	},
	properties: {
		topLevel: [
			{
				displayName: `Message Bus mode is in the full package ${FULL_PACKAGE} (it needs RabbitMQ access, which n8n Cloud does not allow). This package polls ESI Leap instead: choose Event History above.`,
				name: 'messageBusNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { mode: ['messageBus'] } },
			},
		],
		options: [],
	},
	async start(this: ITriggerFunctions): Promise<ITriggerResponse> {
		throw new NodeOperationError(
			this.getNode(),
			`Mode: Message Bus is only in the full package ${FULL_PACKAGE}`,
			{
				description: `This package (n8n-nodes-esi-leap-cloud) has Event History mode, which polls ESI Leap's events API with an ordinary ESI Leap login. Choose Event History, or install ${FULL_PACKAGE} on a self-hosted n8n that can reach ESI Leap's RabbitMQ.`,
			},
		);
	},
};

/** The cloud package's trigger (n8n-nodes-esi-leap-cloud): Event History mode only. */
const MODES: TriggerModeDefinition[] = [messageBusInFullPackage, eventHistoryMode];

export class EsiLeapTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'ESI Leap Trigger',
		name: 'esiLeapTrigger',
		icon: {
			light: 'file:../../../icons/esiLeap.svg',
			dark: 'file:../../../icons/esiLeap.dark.svg',
		},
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["mode"] === "eventHistory" ? "Event History" : "Message Bus"}}',
		description: 'Starts the workflow when an ESI Leap lease is fulfilled or deleted',
		defaults: { name: 'ESI Leap Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				// The full trigger's entry, unchanged (its comment says why it is hidden only when
				// reconcileWithHistory is false, which this package never shows).
				name: 'esiLeapApi',
				required: true,
				displayOptions: { hide: { reconcileWithHistory: [false] } },
			},
		],
		properties: triggerProperties(MODES),
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		return await startTrigger(this, MODES);
	}
}
