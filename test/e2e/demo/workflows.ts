/**
 * The workflows and credentials of `npm start` (the demo), also run by the end-to-end scenarios,
 * so what a newcomer sees is what CI proves. Plain n8n workflow JSON: node credentials are named,
 * and the harness (or the demo) maps names to the ids it created.
 */
import type { Emulator, EmulatorUser } from '../../emulator';
import type { Workflow, WorkflowNode } from '../harness';

export const TRIGGER_TYPE = 'n8n-nodes-esi-leap.esiLeapTrigger';
export const LEASE_TYPE = 'n8n-nodes-esi-leap.esiLease';
export const API_CREDENTIAL = 'ESI Leap API (emulator lessee)';
export const BUS_CREDENTIAL = 'ESI Leap Message Bus (local RabbitMQ)';

/** The end of a fulfilment and of a lease: the two events a provisioning workflow cares about. */
export const DEMO_EVENTS = ['fulfill.end', 'delete.end'];

/** `esiLeapApi` data for an emulator user (password login, project-scoped). */
export function apiCredentialData(
	emulator: Pick<Emulator, 'keystoneUrl'>,
	user: Pick<EmulatorUser, 'name' | 'password' | 'projectName'>,
): Record<string, unknown> {
	return {
		authUrl: emulator.keystoneUrl,
		authType: 'password',
		username: user.name,
		password: user.password,
		userDomainName: 'Default',
		projectName: user.projectName,
		projectDomainName: 'Default',
		interface: 'public',
	};
}

/** `esiLeapMessageBusApi` data for an AMQP URL; the credential test checks `exchange`. */
export function busCredentialData(amqpUrl: string, exchange: string): Record<string, unknown> {
	const url = new URL(amqpUrl);
	return {
		host: url.hostname,
		port: Number(url.port || 5672),
		vhost: decodeURIComponent(url.pathname.slice(1)) || '/',
		username: decodeURIComponent(url.username),
		password: decodeURIComponent(url.password),
		heartbeat: 30,
		testExchange: exchange,
		tls: false,
	};
}

export interface BusTriggerOptions {
	exchange: string;
	/** Own durable queue; empty: the trigger's default name for this workflow node. */
	queueName?: string;
	prefetch?: number;
	events?: string[];
}

export function busTrigger(options: BusTriggerOptions): WorkflowNode {
	return {
		name: 'Lease event (message bus)',
		type: TRIGGER_TYPE,
		typeVersion: 1,
		position: [0, 0],
		parameters: {
			mode: 'messageBus',
			queueSource: 'own',
			queueName: options.queueName ?? '',
			acknowledge: 'executionSucceeds',
			events: options.events ?? DEMO_EVENTS,
			options: {
				exchange: options.exchange,
				...(options.prefetch ? { prefetch: options.prefetch } : {}),
			},
		},
		credentials: { esiLeapMessageBusApi: { name: BUS_CREDENTIAL } },
	};
}

export function historyTrigger(options: { pollIntervalSeconds: number }): WorkflowNode {
	return {
		name: 'Lease event (event history)',
		type: TRIGGER_TYPE,
		typeVersion: 1,
		position: [0, 0],
		parameters: {
			mode: 'eventHistory',
			pollIntervalSeconds: options.pollIntervalSeconds,
			startFrom: 'now',
			includeLeaseDetails: true,
			executionPer: 'event',
			events: DEMO_EVENTS,
			options: {},
		},
		credentials: { esiLeapApi: { name: API_CREDENTIAL } },
	};
}

const summary = (verb: string) =>
	'return $input.all().map(({ json }) => ({ json: {\n' +
	'\tlease_uuid: json.lease_uuid,\n' +
	'\tevent: json.event,\n' +
	'\tnode: json.node?.name ?? json.resource_uuid,\n' +
	'\tproject_id: json.project_id,\n' +
	`\tmessage: \`Lease \${json.lease?.name ?? json.lease_uuid} ${verb} node \${json.node?.name ?? json.resource_uuid}\`,\n` +
	'} }));';

/**
 * trigger → "Fulfilled?" (IF event is fulfill.end) → "Provision node" | "Clean up node": the
 * shape of a real provisioning workflow, with Code nodes standing in for AWX/Ansible.
 */
export function leaseEventsWorkflow(name: string, trigger: WorkflowNode): Workflow {
	const ifNode: WorkflowNode = {
		name: 'Fulfilled?',
		type: 'n8n-nodes-base.if',
		typeVersion: 2.2,
		position: [240, 0],
		parameters: {
			conditions: {
				options: { caseSensitive: true, leftValue: '', typeValidation: 'strict', version: 2 },
				conditions: [
					{
						id: 'a3c1f0de-5b0e-4a57-9d8e-2f1b7c6d0e01',
						leftValue: '={{ $json.event }}',
						rightValue: 'fulfill.end',
						operator: { type: 'string', operation: 'equals' },
					},
				],
				combinator: 'and',
			},
			options: {},
		},
	};
	const code = (nodeName: string, verb: string, y: number): WorkflowNode => ({
		name: nodeName,
		type: 'n8n-nodes-base.code',
		typeVersion: 2,
		position: [480, y],
		parameters: { jsCode: summary(verb) },
	});
	const to = (node: string) => [{ node, type: 'main', index: 0 }];
	return {
		name,
		nodes: [
			trigger,
			ifNode,
			code('Provision node', 'is ready on', -100),
			code('Clean up node', 'has released', 100),
		],
		connections: {
			[trigger.name]: { main: [to(ifNode.name)] },
			[ifNode.name]: { main: [to('Provision node'), to('Clean up node')] },
		},
		settings: { executionOrder: 'v1' },
	};
}

export const BUS_WORKFLOW_NAME = 'ESI Leap demo: lease events from the message bus';
export const HISTORY_WORKFLOW_NAME = 'ESI Leap demo: lease events from the event history';
