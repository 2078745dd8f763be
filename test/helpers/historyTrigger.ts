/**
 * The ESI Leap Trigger in Event History mode, run through its real trigger() against the
 * emulator, with requests going through the real ESI Leap API credential (n8nHttp.ts) and static
 * data saved the way n8n 2.41 saves it: a snapshot when the node emits and at the end of
 * activation, never on close. A "restart" starts a new trigger from the last snapshot.
 */
import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	INodeType,
	ITriggerResponse,
} from 'n8n-workflow';

import { EsiLeapTrigger } from '../../nodes/EsiLeapTrigger/EsiLeapTrigger.node';
import type { Emulator } from '../emulator';
import { signedInHttp, type EmulatorRole } from './esiLeapApiCredential';
import type { N8nHttp } from './n8nHttp';
import { createFakeTrigger, type FakeTrigger, type FakeTriggerOptions } from './triggerContext';

export interface HistoryTriggerOptions {
	emulator: Emulator;
	role?: EmulatorRole;
	/** Node parameters; `mode: 'eventHistory'` is added. */
	parameters: IDataObject;
	/** Static data as n8n last saved it (a restart). */
	savedStaticData?: IDataObject;
	mode?: 'trigger' | 'manual';
	n8nMajor?: 1 | 2;
	execute?: FakeTriggerOptions['execute'];
	/** See FakeTriggerOptions; default 0.01 s. */
	minPollIntervalSeconds?: number | null;
	description?: FakeTriggerOptions['description'];
	/** The trigger node; default the full package's (the cloud package's has the same name). */
	nodeType?: new () => INodeType & Pick<EsiLeapTrigger, 'trigger'>;
	activationMode?: FakeTriggerOptions['activationMode'];
	deduplicationKeys?: FakeTriggerOptions['deduplicationKeys'];
}

export interface HistoryTrigger {
	fake: FakeTrigger;
	http: N8nHttp;
	/** The ESI Leap API credential data the requests use (edit it to change the login). */
	credential: ICredentialDataDecryptedObject;
	/** What n8n would have in the database now. */
	saved(): IDataObject;
	response?: ITriggerResponse;
	activate(): Promise<ITriggerResponse>;
	/** Runs the node's closeFunction and releases the HTTP agents. */
	close(): Promise<void>;
	/** The event ids emitted so far, one per item, in emit order. */
	emittedIds(): number[];
}

export function createHistoryTrigger(options: HistoryTriggerOptions): HistoryTrigger {
	const { http, credential } = signedInHttp(options.emulator, options.role ?? 'admin');
	const NodeType = options.nodeType ?? EsiLeapTrigger;
	const fake = createFakeTrigger({
		parameters: { mode: 'eventHistory', ...options.parameters },
		mode: options.mode,
		n8nMajor: options.n8nMajor,
		execute: options.execute,
		minPollIntervalSeconds: options.minPollIntervalSeconds,
		description: options.description ?? new NodeType().description,
		activationMode: options.activationMode,
		deduplicationKeys: options.deduplicationKeys,
	});
	Object.assign(fake.staticData, structuredClone(options.savedStaticData ?? {}));
	let saved: IDataObject = structuredClone(fake.staticData);
	const snapshot = () => {
		saved = structuredClone(fake.staticData);
	};

	const context = fake.context as unknown as {
		emit: (...args: unknown[]) => void;
		helpers: Record<string, unknown>;
	};
	const emit = context.emit.bind(context);
	// n8n saves static data (fire-and-forget) as the node emits, before the execution runs.
	context.emit = (...args: unknown[]) => {
		if ((options.mode ?? 'trigger') === 'trigger') snapshot();
		emit(...args);
	};
	context.helpers.httpRequestWithAuthentication = async (name: string, request: never) =>
		await http.httpRequestWithAuthentication(name, request, fake.context.getNode());

	const trigger: HistoryTrigger = {
		fake,
		http,
		credential,
		saved: () => structuredClone(saved),
		async activate() {
			trigger.response = await new NodeType().trigger.call(fake.context);
			// ...and at the end of activation (manual runs never save).
			if ((options.mode ?? 'trigger') === 'trigger') snapshot();
			return trigger.response;
		},
		async close() {
			await trigger.response?.closeFunction?.();
			await http.close();
		},
		emittedIds: () =>
			fake.emissions.flatMap((emission) =>
				emission.items.map((item) => Number((item.json as IDataObject).event_id)),
			),
	};
	return trigger;
}

/** Polls `condition` every 10 ms until it holds or `timeoutMs` passes. */
export async function waitFor(
	condition: () => boolean,
	what: string,
	timeoutMs = 5_000,
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}

/** Lets the trigger run `polls` more polls (counted on the emulator's request log). */
export async function waitForPolls(emulator: Emulator, polls: number, timeoutMs = 5_000) {
	const count = () =>
		emulator.control.requestLog.filter((entry) => entry.path.startsWith('/v1/events')).length;
	const target = count() + polls;
	await waitFor(() => count() >= target, `${polls} more polls of /v1/events`, timeoutMs);
}
