import type { ReconnectReport } from './consumer';

/**
 * What the trigger says after a reconnect whose queue bindings were gone (issue 12, "never
 * silent"): which window may have lost notifications and what recovers them. Times are UTC.
 */
export interface ReconnectNotice {
	message: string;
	description: string;
	/** Reconciliation recovers the window itself: a warning, not a failed execution. */
	recoveredByReconciliation: boolean;
}

export function reconnectNotice(
	report: ReconnectReport,
	context: { exchange: string; reconciliation: boolean },
): ReconnectNotice {
	const from = new Date(report.outageStart).toISOString();
	const to = new Date(report.outageEnd).toISOString();
	const cause = report.exchangeRecreated
		? `exchange "${context.exchange}" was gone (a broker restart deletes oslo's non-durable exchange and its bindings) and was declared again`
		: `the broker restarted, which removed the bindings of queue "${report.queue}" to "${context.exchange}" until this reconnect`;
	const message = `ESI Leap notifications published between ${from} and ${to} may be lost`;
	const description = context.reconciliation
		? `After the reconnect the ${cause}. Reconciliation with ESI Leap's event history runs now and emits the missed events.`
		: `After the reconnect the ${cause}. Turn on reconciliation (Reconcile With Event History, with an ESI Leap API credential on this trigger) to recover missed events from ESI Leap's event history.`;
	return { message, description, recoveredByReconciliation: context.reconciliation };
}
