import type {
	INodeType,
	INodeTypeDescription,
	ITriggerFunctions,
	ITriggerResponse,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { esiLeapMessageBusApiTest } from './methods/credentialTest';
import { eventHistoryMode } from './modes/eventHistory';
import { messageBusMode } from './modes/messageBus';
import { startTrigger, triggerProperties, type TriggerModeDefinition } from './trigger';

/** The full package's trigger (n8n-nodes-esi-leap): both modes. */
const MODES: TriggerModeDefinition[] = [messageBusMode, eventHistoryMode];

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
				// Event History mode, and Message Bus mode with Reconcile With Event History on. One
				// entry: n8n looks up a credential's description by type and takes the first, so a
				// second esiLeapApi entry was never consulted ("Credentials not found" in n8n 2.41.1).
				// reconcileWithHistory is false only in Message Bus mode (n8n fills in the default of
				// a shown parameter); Event History mode does not show it, so it is never hidden there.
				// The cloud trigger has the same entry.
				name: 'esiLeapApi',
				required: true,
				displayOptions: { hide: { reconcileWithHistory: [false] } },
			},
		],
		properties: triggerProperties(MODES),
	};

	methods = {
		credentialTest: { esiLeapMessageBusApiTest },
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		return await startTrigger(this, MODES);
	}
}
