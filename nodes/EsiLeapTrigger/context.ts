/** What both trigger modes need from n8n's trigger context beyond parameters. */
import type { ITriggerFunctions } from 'n8n-workflow';

import type { BusLogger } from '../core/bus/consumer';
import type { HistoryLogger } from '../core/history/poller';

/** n8n's logger for the core, each line naming the node (several triggers may share a log). */
export function triggerLogger(context: ITriggerFunctions): HistoryLogger & BusLogger {
	const prefix = `ESI Leap Trigger "${context.getNode().name}": `;
	return {
		debug: (message, meta) => context.logger.debug(prefix + message, meta),
		info: (message, meta) => context.logger.info(prefix + message, meta),
		warn: (message, meta) => context.logger.warn(prefix + message, meta),
		error: (message, meta) => context.logger.error(prefix + message, meta),
	};
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
