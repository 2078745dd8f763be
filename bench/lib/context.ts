import type { IDataObject, INodeExecutionData, IRun, ITriggerFunctions } from 'n8n-workflow';

import { deferred, getByPath, type DeferredPromise } from '../../test/helpers/objects';

/**
 * A lean n8n 2.x trigger context for benchmarks: every emitted execution completes at once (its
 * donePromise resolves on the next microtask with a successful run) and nothing is kept, so
 * memory measurements see the trigger, not the fake. (test/helpers/triggerContext.ts records
 * every emission; right for tests, wrong for a million messages.)
 */

const SUCCESS = {
	data: { resultData: { runData: {} } },
	finished: true,
	mode: 'trigger',
	status: 'success',
} as unknown as IRun;

export interface BenchContextOptions {
	parameters: IDataObject;
	credentials: Record<string, IDataObject>;
	/** The workflow after the trigger (IF node, Code step...); runs before the execution completes. */
	onExecution(items: INodeExecutionData[]): void;
	/** n8n's authenticated HTTP helper (history mode). */
	httpRequestWithAuthentication?: (credentialName: string, request: never) => Promise<unknown>;
}

export interface BenchContext {
	context: ITriggerFunctions;
	counters: { emitted: number; failedExecutions: number; errors: number; logErrors: number };
}

export function createBenchContext(options: BenchContextOptions): BenchContext {
	const counters = { emitted: 0, failedExecutions: 0, errors: 0, logErrors: 0 };
	const node = {
		id: 'bench-node',
		name: 'Trigger',
		type: 'bench',
		typeVersion: 1,
		position: [0, 0],
		parameters: options.parameters,
	};
	const noop = () => undefined;
	const staticData: IDataObject = {};
	const context = {
		getNodeParameter(name: string, fallback?: unknown) {
			const value = getByPath(options.parameters, name);
			return value === undefined ? fallback : value;
		},
		async getCredentials(type: string) {
			return options.credentials[type];
		},
		getNode: () => node,
		getWorkflow: () => ({ id: 'bench-wf', name: 'bench', active: true }),
		getMode: () => 'trigger',
		getActivationMode: () => 'activate',
		getWorkflowStaticData: () => staticData,
		getTimezone: () => 'UTC',
		logger: {
			debug: noop,
			info: noop,
			warn: noop,
			error: () => {
				counters.logErrors++;
			},
		},
		emit(data: INodeExecutionData[][], _response?: unknown, done?: DeferredPromise<IRun>) {
			counters.emitted++;
			queueMicrotask(() => {
				options.onExecution(data[0] ?? []);
				done?.resolve(SUCCESS);
			});
		},
		emitError() {
			counters.errors++;
		},
		saveFailedExecution() {
			counters.failedExecutions++;
		},
		// The Event History poll floor's test seam (nodes/EsiLeapTrigger/context.ts): polls every
		// 50 ms measure the trigger, not the wait.
		minPollIntervalSecondsForTests: 0.01,
		helpers: {
			createDeferredPromise: deferred,
			httpRequestWithAuthentication: options.httpRequestWithAuthentication,
		},
	};
	return { context: context as unknown as ITriggerFunctions, counters };
}
