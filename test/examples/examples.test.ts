import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { IDataObject, INode, INodeType } from 'n8n-workflow';
import { NodeHelpers } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { decodeNotification } from '../../nodes/core/events/envelope';
import { normalizeBusNotification } from '../../nodes/core/events/normalize';
import { EsiLease } from '../../nodes/EsiLease/EsiLease.node';
import { EsiLeapTrigger } from '../../nodes/EsiLeapTrigger/EsiLeapTrigger.node';
import { readSharedParameters } from '../../nodes/EsiLeapTrigger/description';
import { leaseSchema, offerSchema } from '../../nodes/core/api/schemas';
import { leaseItem, offerItem } from '../../nodes/core/watch/items';
import { parseLeadTimes } from '../../nodes/core/watch/leadTime';
import { loadAmqpCaptures } from '../helpers/fixtures';
import { parameterProblems, withDefaults } from '../helpers/nodeParameters';
import { createFakeTrigger } from '../helpers/triggerContext';

/**
 * The importable workflows in examples/ must keep matching the nodes: our node types exist, every
 * parameter they set is one the node shows for the chosen mode/resource/operation, option values
 * are real options, and the connections point at nodes of the workflow. Also keeps the README's
 * sample trigger item equal to what the normalizer makes of the captured notification.
 */

const ROOT = join(__dirname, '..', '..');
const EXAMPLES_DIR = join(ROOT, 'examples');
const PACKAGE_NAME = 'n8n-nodes-esi-leap';

const OUR_NODES: Record<string, INodeType> = Object.fromEntries(
	[new EsiLeapTrigger(), new EsiLease()].map((node) => [
		`${PACKAGE_NAME}.${node.description.name}`,
		node,
	]),
);
const TRIGGER_TYPE = `${PACKAGE_NAME}.${new EsiLeapTrigger().description.name}`;

interface WorkflowConnection {
	node: string;
	type: string;
	index: number;
}

interface Workflow {
	name: string;
	nodes: INode[];
	connections: Record<string, Record<string, Array<WorkflowConnection[] | null>>>;
	settings?: Record<string, unknown>;
}

/** Problems with one node of our package, as readable strings (empty when fine). */
export function checkOurNode(node: INode): string[] {
	const nodeType = OUR_NODES[node.type];
	if (!nodeType) return [`${node.name}: unknown node type ${node.type}`];
	const description = nodeType.description;
	const versions = Array.isArray(description.version) ? description.version : [description.version];
	const problems: string[] = [];
	if (!versions.includes(node.typeVersion)) {
		problems.push(`typeVersion ${node.typeVersion} is not one of ${versions.join(', ')}`);
	}
	problems.push(...parameterProblems(description, node));

	// Required parameters the example leaves empty (what the editor marks with a red warning).
	const issues = NodeHelpers.getNodeParametersIssues(description.properties, node, description);
	for (const [parameter, messages] of Object.entries(issues?.parameters ?? {})) {
		problems.push(`${parameter}: ${messages.join('; ')}`);
	}

	// The credential the node shows for these parameters must be set. n8n evaluates a
	// credential's displayOptions on the parameters with their defaults filled in.
	const parameters = withDefaults(description, node);
	for (const credential of description.credentials ?? []) {
		const shown = NodeHelpers.displayParameter(parameters, credential, node, description);
		if (shown && credential.required && !node.credentials?.[credential.name]) {
			problems.push(`credential ${credential.name} is missing`);
		}
	}
	return problems.map((problem) => `${node.name}: ${problem}`);
}

/** Problems with the workflow's shape: node names, ids, connections. */
export function checkWorkflow(workflow: Workflow): string[] {
	const problems: string[] = [];
	if (!Array.isArray(workflow.nodes) || workflow.nodes.length === 0) return ['no nodes'];
	const names = new Set(workflow.nodes.map((node) => node.name));
	if (names.size !== workflow.nodes.length) problems.push('node names are not unique');
	const ids = new Set(workflow.nodes.map((node) => node.id));
	if (ids.size !== workflow.nodes.length) problems.push('node ids are not unique');
	for (const node of workflow.nodes) {
		if (typeof node.type !== 'string' || !node.type.includes('.')) {
			problems.push(`${node.name}: node type "${String(node.type)}" is not package.name`);
		}
		if (!Array.isArray(node.position) || node.position.length !== 2) {
			problems.push(`${node.name}: position must be [x, y]`);
		}
	}
	for (const [source, outputs] of Object.entries(workflow.connections ?? {})) {
		if (!names.has(source)) problems.push(`connection from unknown node "${source}"`);
		for (const branches of Object.values(outputs)) {
			for (const branch of branches) {
				for (const target of branch ?? []) {
					if (!names.has(target.node)) {
						problems.push(`connection from "${source}" to unknown node "${target.node}"`);
					}
				}
			}
		}
	}
	const triggers = workflow.nodes.filter((node) => node.type === TRIGGER_TYPE);
	if (triggers.length === 0) problems.push(`no ${TRIGGER_TYPE} node`);
	for (const node of workflow.nodes) {
		if (node.type.startsWith(`${PACKAGE_NAME}.`)) problems.push(...checkOurNode(node));
	}
	return problems;
}

const exampleFiles = readdirSync(EXAMPLES_DIR)
	.filter((file) => file.endsWith('.json'))
	.sort();

describe('examples/', () => {
	it('holds the six documented workflows', () => {
		expect(exampleFiles).toEqual([
			'fulfill-error-alert.json',
			'gpu-offer-claim.json',
			'lease-deleted-to-awx.json',
			'lease-ending-soon-notify.json',
			'lease-fulfilled-to-slack.json',
			'tenant-history-lease-check.json',
		]);
	});

	it.each(exampleFiles)('%s is an importable workflow that matches the nodes', (file) => {
		const workflow = JSON.parse(readFileSync(join(EXAMPLES_DIR, file), 'utf8')) as Workflow;
		expect(typeof workflow.name).toBe('string');
		expect(checkWorkflow(workflow)).toEqual([]);
	});

	it.each(exampleFiles)('%s is described in the README', (file) => {
		const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
		expect(readme).toContain(`examples/${file}`);
	});

	it('never runs a shell (no Execute Command or SSH node)', () => {
		for (const file of exampleFiles) {
			const workflow = JSON.parse(readFileSync(join(EXAMPLES_DIR, file), 'utf8')) as Workflow;
			const types = workflow.nodes.map((node) => node.type);
			expect(types).not.toContain('n8n-nodes-base.executeCommand');
			expect(types).not.toContain('n8n-nodes-base.ssh');
		}
	});
});

describe('examples/fulfill-error-alert.json on the captured notifications', () => {
	const workflow = JSON.parse(
		readFileSync(join(EXAMPLES_DIR, 'fulfill-error-alert.json'), 'utf8'),
	) as Workflow;
	const trigger = workflow.nodes.find((node) => node.type === TRIGGER_TYPE)!;
	// The trigger's own parameter reading and filter compilation, as at activation.
	const { select } = readSharedParameters(
		createFakeTrigger({ parameters: trigger.parameters as IDataObject }).context,
	);
	const items = loadAmqpCaptures().map((capture) => {
		const decoded = decodeNotification(capture.body);
		if (decoded.kind !== 'lease') throw new Error(`${capture.name} is not a lease notification`);
		return { name: capture.name, item: normalizeBusNotification(decoded.notification) };
	});

	it('fires on every captured fulfill/delete error, whose lease.purpose is null', () => {
		const errors = items.filter(({ item }) => item.phase === 'error');
		expect(errors.map(({ name }) => name).sort()).toEqual([
			'amqp-lease-delete-error-ironic-node',
			'amqp-lease-fulfill-error',
		]);
		for (const { name, item } of errors) {
			expect(item.lease!.purpose, name).toBeNull();
			expect(select(item), name).toBe(true);
		}
	});

	it('stays quiet on the other captures and on a ci-scratch lease', () => {
		for (const { name, item } of items.filter(({ item }) => item.phase !== 'error')) {
			expect(select(item), name).toBe(false);
		}
		const error = items.find(({ name }) => name === 'amqp-lease-fulfill-error')!.item;
		expect(select({ ...error, lease: { ...error.lease!, purpose: 'ci-scratch' } })).toBe(false);
	});
});

/** The trigger of an example, with its parameters read as at activation. */
function exampleTrigger(file: string) {
	const workflow = JSON.parse(readFileSync(join(EXAMPLES_DIR, file), 'utf8')) as Workflow;
	const trigger = workflow.nodes.find((node) => node.type === TRIGGER_TYPE)!;
	const fake = createFakeTrigger({ parameters: trigger.parameters as IDataObject });
	return { parameters: trigger.parameters, shared: readSharedParameters(fake.context), fake };
}

const capturedBody = (name: string) =>
	(
		JSON.parse(readFileSync(join(ROOT, 'test/fixtures/esi-leap-real', `${name}.json`), 'utf8')) as {
			response: { body: unknown };
		}
	).response.body;

describe('examples/gpu-offer-claim.json on the captured offer', () => {
	const { shared, parameters } = exampleTrigger('gpu-offer-claim.json');
	const offer = offerSchema.parse(capturedBody('rest-18-offer-show'));
	const item = (properties: Record<string, unknown>) =>
		offerItem(
			'offer.available',
			{ ...offer, offer: { ...offer, resource_properties: properties } },
			'2026-11-24T17:40:00Z',
		);

	it('watches offers only, free for a day', () => {
		expect(shared.watchEvents).toEqual(['offer.available']);
		expect(shared.events).toEqual([]);
		expect(parameters.offerFilters).toEqual({ freeForHours: 24 });
	});

	it('claims an offered node with GPUs and leaves the captured one without', () => {
		expect(shared.matchesFilters(item(offer.resource_properties))).toBe(false);
		expect(shared.matchesFilters(item({ ...offer.resource_properties, gpus: 2 }))).toBe(true);
	});
});

describe('examples/lease-ending-soon-notify.json', () => {
	it('warns 24 h before the end of an active lease, whatever else the item says', () => {
		const { shared, parameters } = exampleTrigger('lease-ending-soon-notify.json');
		expect(shared.watchEvents).toEqual(['lease.ending_soon']);
		expect(parseLeadTimes(String(parameters.leadTimes))).toEqual([86_400]);
		const lease = leaseSchema.parse(capturedBody('rest-12-lease-show-active-dummy'));
		const warning = leaseItem('lease.ending_soon', lease, '2026-11-24T17:40:00Z', {
			leadSeconds: 86_400,
		});
		expect(shared.matchesFilters(warning)).toBe(true);
	});
});

describe('the checker itself', () => {
	const base: INode = {
		id: '00000000-0000-4000-8000-000000000001',
		name: 'Trigger',
		type: TRIGGER_TYPE,
		typeVersion: 1,
		position: [0, 0],
		parameters: { mode: 'eventHistory', events: ['fulfill.end'] },
		credentials: { esiLeapApi: { id: '1', name: 'ESI Leap API' } },
	};

	it('accepts a valid node', () => {
		expect(checkOurNode(base)).toEqual([]);
	});

	it('rejects a parameter of the other mode', () => {
		const node = { ...base, parameters: { ...base.parameters, acknowledge: 'immediately' } };
		expect(checkOurNode(node)).toEqual([
			'Trigger: acknowledge: no such parameter for these settings',
		]);
	});

	it('rejects an option of the other mode and an unknown option value', () => {
		const node = {
			...base,
			parameters: { ...base.parameters, events: ['lease.expired'], options: { prefetch: 5 } },
		};
		expect(checkOurNode(node)).toEqual([
			expect.stringContaining('Trigger: events: "lease.expired" is not one of'),
			'Trigger: options.prefetch: no such parameter for these settings',
		]);
	});

	it('rejects an action parameter of another operation and a missing credential', () => {
		const node: INode = {
			...base,
			name: 'Lease',
			type: `${PACKAGE_NAME}.esiLease`,
			parameters: {
				resource: 'lease',
				operation: 'get',
				leaseId: { __rl: true, mode: 'id', value: '={{ $json.lease_uuid }}' },
				endTime: '2026-12-01T00:00:00',
			},
			credentials: {},
		};
		expect(checkOurNode(node)).toEqual([
			'Lease: endTime: no such parameter for these settings',
			'Lease: credential esiLeapApi is missing',
		]);
	});

	it('rejects an empty required parameter', () => {
		const node = {
			...base,
			parameters: { mode: 'messageBus', queueSource: 'existing', existingQueue: '' },
			credentials: { esiLeapMessageBusApi: { id: '1', name: 'bus' } },
		};
		expect(checkOurNode(node).join('\n')).toContain('existingQueue');
	});

	it('rejects connections to unknown nodes and workflows without our trigger', () => {
		const workflow: Workflow = {
			name: 'broken',
			nodes: [{ ...base, type: `${PACKAGE_NAME}.esiLease`, parameters: { resource: 'node' } }],
			connections: { Trigger: { main: [[{ node: 'Nowhere', type: 'main', index: 0 }]] } },
		};
		expect(checkWorkflow(workflow)).toEqual([
			'connection from "Trigger" to unknown node "Nowhere"',
			`no ${TRIGGER_TYPE} node`,
		]);
	});
});

describe('README', () => {
	it('shows the trigger item exactly as the normalizer builds it from the captured fulfill.end', () => {
		const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
		const marker = '<!-- sample-item: test/fixtures/esi-leap-real/amqp-lease-fulfill-end.body -->';
		const start = readme.indexOf(marker);
		expect(start, `README must contain ${marker}`).toBeGreaterThan(-1);
		const block = /```json\n([\s\S]*?)\n```/.exec(readme.slice(start));
		expect(block).not.toBeNull();

		const body = readFileSync(
			join(ROOT, 'test/fixtures/esi-leap-real/amqp-lease-fulfill-end.body'),
		);
		const decoded = decodeNotification(body);
		if (decoded.kind !== 'lease') throw new Error('the fixture is not a lease notification');
		const item = normalizeBusNotification(decoded.notification, { includeRaw: false });
		expect(JSON.parse(block![1])).toEqual(JSON.parse(JSON.stringify(item)));
	});
});
