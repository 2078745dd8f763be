/** What both trigger modes need from n8n's trigger context beyond parameters. */
import type { ITriggerFunctions } from 'n8n-workflow';

import type { HistoryLogger } from '../core/history/poller';
import { redact } from '../core/redact';

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * n8n's logger for the core. Every line names the node and the workflow (id and name), in the
 * text and in the metadata, so two triggers can be told apart; a line about a failure carries
 * its reason in the text too, because n8n's console output at info level prints no metadata.
 * Every text is redacted (core/redact.ts). The bus core's BusLogger has the same shape; the type
 * comes from the history core so that the cloud package, which has no bus code, needs nothing else.
 */
export function triggerLogger(context: ITriggerFunctions): HistoryLogger {
	const workflow = context.getWorkflow();
	const node = context.getNode().name;
	const workflowId = String(workflow.id ?? '');
	const workflowName = String(workflow.name ?? '');
	const prefix = `ESI Leap Trigger "${node}" (workflow "${workflowName}", id ${workflowId}): `;
	const line =
		(level: Level) =>
		(message: string, meta?: Record<string, unknown>): void => {
			const clean = meta ? redactMeta(meta) : {};
			const reason = [clean.error, clean.reason].find((value) => typeof value === 'string');
			context.logger[level](redact(prefix + message + (reason ? `: ${reason}` : '')), {
				...clean,
				workflowId,
				workflowName,
				node,
			});
		};
	return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

/** Metadata with every text redacted; an Error becomes its message (its cause may hold headers). */
function redactMeta(meta: Record<string, unknown>): Record<string, unknown> {
	const result: Record<string, unknown> = {};
	for (const [key, value] of Object.entries(meta)) {
		if (value instanceof Error) result[key] = redact(value.message);
		else if (typeof value === 'string') result[key] = redact(value);
		else if (value !== null && typeof value === 'object') result[key] = redactObject(value);
		else result[key] = value;
	}
	return result;
}

function redactObject(value: object): unknown {
	const text = redact(JSON.stringify(value));
	try {
		return JSON.parse(text) as unknown;
	} catch {
		return text; // a masked number leaves `"token":***`, which is no longer JSON
	}
}

/**
 * `saveFailedExecution` (a failure recorded without deactivating the workflow) and emit's
 * deduplication key both arrived in n8n 2.20, so one check tells whether both are there.
 */
export function canSaveFailedExecution(context: ITriggerFunctions): boolean {
	return typeof (context as Partial<ITriggerFunctions>).saveFailedExecution === 'function';
}

/** Prefix of every deduplication key, so two triggers never skip each other's executions. */
export function deduplicationScope(context: ITriggerFunctions): string {
	return `${String(context.getWorkflow().id ?? '')}:${context.getNode().id}:`;
}

/**
 * The test seam of the poll interval floor. n8n's trigger contexts never carry this property,
 * so in n8n the floor is always `floor`; the test suite's and the benchmarks' fake contexts set
 * it to poll every few milliseconds (test/helpers/triggerContext.ts, bench/lib/context.ts). The
 * node reads no environment, so that n8n Cloud's rules hold for it.
 */
export interface PollFloorSeam {
	minPollIntervalSecondsForTests?: number;
}

export function pollIntervalFloorSeconds(context: ITriggerFunctions, floor: number): number {
	const lowered = (context as ITriggerFunctions & PollFloorSeam).minPollIntervalSecondsForTests;
	return typeof lowered === 'number' && Number.isFinite(lowered) && lowered >= 0 ? lowered : floor;
}
