import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	INode,
	INodeExecutionData,
	INodeTypeDescription,
	IRun,
	ITriggerFunctions,
} from 'n8n-workflow';

import type { PollFloorSeam } from '../../nodes/EsiLeapTrigger/context';
import { EsiLeapTrigger } from '../../nodes/EsiLeapTrigger/EsiLeapTrigger.node';
import { completeParameters, readParameter } from './nodeParameters';
import { deferred, type DeferredPromise } from './objects';

/**
 * A fake ITriggerFunctions that behaves like n8n 2.x where the trigger can tell:
 * - `emit(data, responsePromise, donePromise, deduplicationKey)`: the donePromise resolves with an
 *   IRun when the execution ends (with `resultData.error` when it failed), resolves `undefined`
 *   when the deduplication key was seen before (the execution is skipped), and rejects when the
 *   execution could not start (2.41 `settleDonePromise`);
 * - manual mode: only the first emit answers the test (later ones are ignored);
 * - `saveFailedExecution` is recorded; with `n8nMajor: 1` it does not exist (feature detection);
 * - the logger keeps every line, so tests can check that no secret is logged;
 * - parameters are read through the node's description (nodeParameters.ts): what a test sets
 *   must be shown for its settings and of the right type, defaults are filled in as on workflow
 *   load, and reading a name the description lacks throws.
 */

export type ExecutionBehaviour = 'succeed' | 'fail' | 'hang' | 'notStarted';

export interface Emission {
	items: INodeExecutionData[];
	json: IDataObject;
	deduplicationKey?: string;
	/** 'executed' | 'duplicate' (skipped by key) | 'ignored' (manual mode, after the first). */
	fate: 'executed' | 'duplicate' | 'ignored';
	hadDonePromise: boolean;
}

export interface LogLine {
	level: 'debug' | 'info' | 'warn' | 'error';
	message: string;
	meta?: Record<string, unknown>;
}

export interface FakeTriggerOptions {
	/** What the user set in the editor; defaults are filled in like n8n does. */
	parameters: IDataObject;
	/** Default: the ESI Leap Trigger's. */
	description?: INodeTypeDescription;
	credentials?: Record<string, ICredentialDataDecryptedObject>;
	mode?: 'trigger' | 'manual';
	activationMode?: 'init' | 'create' | 'update' | 'activate' | 'manual' | 'leadershipChange';
	workflowId?: string;
	node?: Partial<INode>;
	n8nMajor?: 1 | 2;
	/**
	 * The Event History poll floor the node applies (its test seam, PollFloorSeam in
	 * nodes/EsiLeapTrigger/context.ts). Default 0.01 s so tests poll every few ms;
	 * `null` leaves the product floor of 5 s, as in n8n.
	 */
	minPollIntervalSeconds?: number | null;
	/**
	 * The deduplication keys n8n has stored (its executions table). Default: this fake's own. Pass
	 * one set to several fakes for mains sharing a database (multi-main).
	 */
	deduplicationKeys?: Set<string>;
	/** How the workflow behaves for an emitted item; default: succeed. */
	execute?: (
		json: IDataObject,
		emission: Emission,
	) => ExecutionBehaviour | Promise<ExecutionBehaviour>;
}

export interface FakeTrigger {
	context: ITriggerFunctions;
	emissions: Emission[];
	failedExecutions: Error[];
	emittedErrors: Error[];
	logs: LogLine[];
	staticData: IDataObject;
	cronJobs: Array<{ expression: string; onTick: () => void }>;
	/** Manual mode: resolves with the first emitted data. */
	manualResponse: Promise<INodeExecutionData[][]>;
	/** Settles every execution left hanging (as succeeded), e.g. to finish a test. */
	releaseHanging(behaviour?: 'succeed' | 'fail'): void;
	/** Every text the trigger wrote to the logs, failed executions and emitted items. */
	allText(): string;
}

function fakeRun(failed: boolean): IRun {
	return {
		data: {
			resultData: {
				runData: {},
				...(failed
					? { error: { message: 'Workflow failed on purpose', name: 'NodeOperationError' } }
					: {}),
			},
		},
		finished: !failed,
		mode: 'trigger',
		startedAt: new Date(),
		stoppedAt: new Date(),
		status: failed ? 'error' : 'success',
	} as unknown as IRun;
}

export function createFakeTrigger(options: FakeTriggerOptions): FakeTrigger {
	const emissions: Emission[] = [];
	const failedExecutions: Error[] = [];
	const emittedErrors: Error[] = [];
	const logs: LogLine[] = [];
	const staticData: IDataObject = {};
	const cronJobs: FakeTrigger['cronJobs'] = [];
	const seenKeys = options.deduplicationKeys ?? new Set<string>();
	const hanging: Array<(behaviour: 'succeed' | 'fail') => void> = [];
	const manual = deferred<INodeExecutionData[][]>();
	const mode = options.mode ?? 'trigger';
	const node: INode = {
		id: 'node-1',
		name: 'ESI Leap Trigger',
		type: 'n8n-nodes-esi-leap.esiLeapTrigger',
		typeVersion: 1,
		position: [0, 0],
		parameters: options.parameters as INode['parameters'],
		...options.node,
	};
	const description = options.description ?? new EsiLeapTrigger().description;
	node.parameters = completeParameters(description, node);
	const log = (level: LogLine['level']) => (message: string, meta?: Record<string, unknown>) => {
		logs.push({ level, message, meta });
	};

	const runExecution = async (emission: Emission, done?: DeferredPromise<IRun>) => {
		const behaviour = await (options.execute ?? (() => 'succeed' as const))(
			emission.json,
			emission,
		);
		if (!done) return;
		switch (behaviour) {
			case 'succeed':
				done.resolve(fakeRun(false));
				return;
			case 'fail':
				done.resolve(fakeRun(true));
				return;
			case 'notStarted':
				done.reject(new Error('Execution could not be started'));
				return;
			case 'hang':
				hanging.push((settle) => done.resolve(fakeRun(settle === 'fail')));
				return;
		}
	};

	const context = {
		getNodeParameter(name: string, fallback?: unknown) {
			return readParameter(description, node.parameters, name, fallback);
		},
		async getCredentials(type: string) {
			const credentials = options.credentials?.[type];
			if (!credentials) throw new Error(`Node does not have any credentials of type "${type}" set`);
			return credentials;
		},
		getNode: () => node,
		getWorkflow: () => ({
			id: options.workflowId ?? 'wf-1',
			name: 'Test workflow',
			active: mode === 'trigger',
		}),
		getMode: () => mode,
		getActivationMode: () => options.activationMode ?? (mode === 'manual' ? 'manual' : 'activate'),
		getWorkflowStaticData: () => staticData,
		getTimezone: () => 'UTC',
		logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
		emit(
			data: INodeExecutionData[][],
			_responsePromise?: unknown,
			donePromise?: DeferredPromise<IRun>,
			deduplicationKey?: string,
		) {
			const items = data[0] ?? [];
			const emission: Emission = {
				items,
				json: items[0]?.json ?? {},
				deduplicationKey: options.n8nMajor === 1 ? undefined : deduplicationKey,
				fate: 'executed',
				hadDonePromise: donePromise !== undefined,
			};
			emissions.push(emission);
			if (mode === 'manual') {
				if (emissions.length > 1) {
					emission.fate = 'ignored';
					return;
				}
				manual.resolve(data);
			}
			if (emission.deduplicationKey !== undefined) {
				if (seenKeys.has(emission.deduplicationKey)) {
					emission.fate = 'duplicate';
					donePromise?.resolve(undefined as unknown as IRun);
					return;
				}
				seenKeys.add(emission.deduplicationKey);
			}
			void runExecution(emission, donePromise);
		},
		emitError(error: Error) {
			emittedErrors.push(error);
		},
		helpers: {
			createDeferredPromise: deferred,
			registerCron(cron: { expression: string }, onTick: () => void) {
				cronJobs.push({ expression: cron.expression, onTick });
			},
			returnJsonArray: (json: IDataObject | IDataObject[]) =>
				(Array.isArray(json) ? json : [json]).map((item) => ({ json: item })),
		},
	} as Record<string, unknown>;
	const floor: PollFloorSeam = {
		minPollIntervalSecondsForTests:
			options.minPollIntervalSeconds === null
				? undefined
				: (options.minPollIntervalSeconds ?? 0.01),
	};
	Object.assign(context, floor);
	if (options.n8nMajor !== 1) {
		context.saveFailedExecution = (error: Error) => {
			failedExecutions.push(error);
		};
	}

	return {
		context: context as unknown as ITriggerFunctions,
		emissions,
		failedExecutions,
		emittedErrors,
		logs,
		staticData,
		cronJobs,
		manualResponse: manual.promise,
		releaseHanging(behaviour = 'succeed') {
			for (const settle of hanging.splice(0)) settle(behaviour);
		},
		allText() {
			return JSON.stringify({
				logs,
				failed: failedExecutions.map((error) => [
					error.message,
					(error as { description?: string }).description,
				]),
				emissions: emissions.map((emission) => emission.items),
			});
		},
	};
}
