/**
 * What the ESI Leap scenarios share: an emulator on its own exchange, our two credentials in n8n,
 * and checks on the executions a lease lifecycle produced.
 */
import type amqp from 'amqplib';
import { expect } from 'vitest';
import { startEmulator, type Emulator } from '../emulator';
import {
	API_CREDENTIAL,
	apiCredentialData,
	BUS_CREDENTIAL,
	busCredentialData,
	historyTrigger,
	leaseEventsWorkflow,
} from './demo/workflows';
import {
	nodeOutput,
	startN8n,
	type Execution,
	type N8nInstance,
	type StartOptions,
} from './harness';
import { AMQP_URL, connectBroker, uniqueName } from './rabbitmq';

/**
 * An emulator publishing to a fresh exchange (declared here as oslo declares it, so the trigger's
 * passive check finds it) and no oslo queues, so nothing touches anyone else's queues.
 */
export async function startScenarioEmulator(broker: amqp.ChannelModel): Promise<Emulator> {
	const exchange = uniqueName('esi-leap-e2e');
	const channel = await broker.createChannel();
	await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
	await channel.close();
	return startEmulator({ amqpUrl: AMQP_URL, exchange, declareQueues: false, tickIntervalMs: 200 });
}

/** Deletes queues and the emulator's exchange; missing ones are fine. */
export async function deleteBrokerObjects(
	broker: amqp.ChannelModel,
	{ queues = [], exchange }: { queues?: string[]; exchange?: string },
): Promise<void> {
	for (const queue of queues) {
		const channel = await broker.createChannel();
		channel.on('error', () => undefined);
		await channel.deleteQueue(queue).catch(() => undefined);
		await channel.close().catch(() => undefined);
	}
	if (exchange) {
		const channel = await broker.createChannel();
		await channel.deleteExchange(exchange);
		await channel.close();
	}
}

/** Both credentials of the package, pointing at the emulator (lessee) and its exchange. */
export async function createEsiCredentials(n8n: N8nInstance, emulator: Emulator) {
	const api = await n8n.createCredential({
		name: API_CREDENTIAL,
		type: 'esiLeapApi',
		data: apiCredentialData(emulator, emulator.users.lessee),
	});
	const bus = await n8n.createCredential({
		name: BUS_CREDENTIAL,
		type: 'esiLeapMessageBusApi',
		data: busCredentialData(AMQP_URL, emulator.exchange),
	});
	return { api, bus };
}

export interface EsiLeapScenario {
	broker: amqp.ChannelModel;
	emulator: Emulator;
	n8n: N8nInstance;
}

/**
 * What every ESI Leap scenario file starts with: a broker connection, the emulator on its own
 * exchange, n8n and our two credentials in it. Whatever started is stopped again if a later
 * step fails, since the caller gets nothing to clean up then.
 */
export async function startEsiLeapScenario(n8nOptions: StartOptions): Promise<EsiLeapScenario> {
	const broker = await connectBroker();
	let emulator: Emulator | undefined;
	let n8n: N8nInstance | undefined;
	let started = false;
	try {
		emulator = await startScenarioEmulator(broker);
		n8n = await startN8n(n8nOptions);
		await createEsiCredentials(n8n, emulator);
		started = true;
		return { broker, emulator, n8n };
	} finally {
		if (!started) await stopEsiLeapScenario({ broker, emulator, n8n }, []);
	}
}

/** Stops n8n and the emulator, deletes `queues` and the emulator's exchange, disconnects. */
export async function stopEsiLeapScenario(
	scenario: Partial<EsiLeapScenario>,
	queues: string[],
): Promise<void> {
	const { broker, emulator, n8n } = scenario;
	await n8n?.stop();
	await emulator?.stop();
	if (broker) {
		await deleteBrokerObjects(broker, { queues, exchange: emulator?.exchange });
		await broker.close();
	}
}

export async function messageCount(broker: amqp.ChannelModel, queue: string): Promise<number> {
	const channel = await broker.createChannel();
	const { messageCount: count } = await channel.checkQueue(queue);
	await channel.close();
	return count;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 100 ms; throws naming `what` (and the n8n log) after `timeoutMs`. */
export async function waitUntil(
	condition: () => boolean | Promise<boolean>,
	what: string,
	timeoutMs = 30_000,
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await condition())) {
		if (Date.now() > deadline)
			throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
		await sleep(100);
	}
}

/** Successful GET /v1/events answers the emulator gave so far. */
export function successfulPolls(emulator: Emulator): number {
	return emulator.control.requestLog.filter(
		(request) => request.path.startsWith('/v1/events') && request.status === 200,
	).length;
}

/**
 * Creates and activates a lease-events workflow started by an Event History trigger polling at
 * the 5 s product floor, and waits for its first poll ("Start From: Now" takes its position
 * there, so lifecycles run after this return). Returns the workflow id and the trigger.
 */
export async function activateHistoryWorkflow(
	n8n: N8nInstance,
	emulator: Emulator,
	name: string,
): Promise<{ id: string; trigger: ReturnType<typeof historyTrigger> }> {
	const trigger = historyTrigger({ pollIntervalSeconds: 5 });
	const id = await n8n.createWorkflow(leaseEventsWorkflow(name, trigger));
	const before = successfulPolls(emulator);
	await n8n.activateWorkflow(id);
	await waitUntil(() => successfulPolls(emulator) > before, `the first poll (log ${n8n.logFile})`);
	return { id, trigger };
}

/**
 * Waits for the two executions of a lifecycle, then for `settled` (a bounded wait on a condition
 * after which no other execution can start, e.g. the trigger deactivated with its queue empty),
 * and checks that nothing else ran: one successful execution for fulfill.end (through "Provision
 * node") and one for delete.end (through "Clean up node"), both about `leaseUuid`.
 */
export async function expectOneExecutionPerLifecycleEvent(
	n8n: N8nInstance,
	workflowId: string,
	triggerName: string,
	leaseUuid: string,
	settled: () => Promise<void>,
): Promise<Execution[]> {
	await n8n.waitForExecutions(workflowId, { count: 2, timeoutMs: 45_000 });
	await settled();
	const executions = (await n8n.executions(workflowId)).reverse();
	expect(executions.map((e) => e.status)).toEqual(['success', 'success']);

	const byEvent = new Map<string, Execution>();
	for (const execution of executions) {
		const items = nodeOutput(execution, triggerName);
		expect(items).toHaveLength(1);
		expect(items[0]).toMatchObject({ lease_uuid: leaseUuid });
		byEvent.set(String(items[0].event), execution);
	}
	expect([...byEvent.keys()].sort()).toEqual(['delete.end', 'fulfill.end']);
	const branch = { 'fulfill.end': 'Provision node', 'delete.end': 'Clean up node' } as const;
	for (const [event, codeNode] of Object.entries(branch)) {
		const execution = byEvent.get(event)!;
		expect(nodeOutput(execution, codeNode)).toEqual([
			expect.objectContaining({ lease_uuid: leaseUuid, event }),
		]);
		const other = codeNode === 'Provision node' ? 'Clean up node' : 'Provision node';
		expect(execution.data?.resultData.runData[other]).toBeUndefined();
	}
	return executions;
}
