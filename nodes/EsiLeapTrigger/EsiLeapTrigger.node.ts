import type {
	INodeType,
	INodeTypeDescription,
	ITriggerFunctions,
	ITriggerResponse,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { properties } from './description';
import type { TriggerMode } from './description';
import { esiLeapMessageBusApiTest } from './methods/credentialTest';
import { startEventHistory } from './modes/eventHistory';
import { startMessageBus } from './modes/messageBus';

type ModeStarter = (this: ITriggerFunctions) => Promise<ITriggerResponse>;

const MODES: Record<TriggerMode, ModeStarter> = {
	messageBus: startMessageBus,
	eventHistory: startEventHistory,
};

export class EsiLeapTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'ESI Leap Trigger',
		name: 'esiLeapTrigger',
		icon: { light: 'file:../../icons/esiLeap.svg', dark: 'file:../../icons/esiLeap.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["mode"] === "eventHistory" ? "Event History" : "Message Bus"}}',
		description: 'Starts the workflow when an ESI Leap lease is fulfilled or deleted',
		defaults: { name: 'ESI Leap Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'esiLeapMessageBusApi',
				required: true,
				testedBy: 'esiLeapMessageBusApiTest',
				displayOptions: { show: { mode: ['messageBus'] } },
			},
			{
				name: 'esiLeapApi',
				required: true,
				displayOptions: { show: { mode: ['eventHistory'] } },
			},
			{
				// The same login, for Message Bus mode's reconciliation with the event history.
				name: 'esiLeapApi',
				required: true,
				displayOptions: { show: { mode: ['messageBus'], reconcileWithHistory: [true] } },
			},
		],
		properties,
	};

	methods = {
		credentialTest: { esiLeapMessageBusApiTest },
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const mode = this.getNodeParameter('mode', 'messageBus') as TriggerMode;
		const start = MODES[mode];
		if (!start) throw new NodeOperationError(this.getNode(), `Mode: unknown value "${mode}"`);
		return await start.call(this);
	}
}
