/**
 * Every request the ESI Lease node can send, through its execute path and the fake n8n (which
 * drops an empty `{}` body as n8n 2.41 does) against the emulator (which reads bodies as WSME
 * does, captures edge-005..049): each resource × operation × optional field left out, added but
 * left at the editor's default (empty), or set (every value of an options field), plus all
 * empty and all set together. The operations and fields come from the node's description, so
 * a new one is enumerated without touching this file; a new required parameter or a field type
 * without a sample value fails here until it gets one.
 *
 * No combination may produce a request ESI rejects for its form: no 400 (missing argument,
 * invalid input, unknown argument or attribute, bad JSON), no 415, no 500 of a bad body or time
 * format (edge README findings 1-9). Every POST/PATCH carries a JSON object with Content-Type
 * application/json on the wire. A run may end in a NodeOperationError (bad input caught before
 * sending); it may not end in any NodeApiError.
 */
import { randomUUID } from 'node:crypto';

import type {
	INodeParameters,
	INodeProperties,
	INodePropertyOptions,
	NodeParameterValueType,
} from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { daysFromNow, esiLease, locator, useEmulatorSessions, type Session } from './support';

const env = useEmulatorSessions();

const properties = esiLease.description.properties;

function optionValues(property: INodeProperties): string[] {
	return (property.options as INodePropertyOptions[]).map((option) => String(option.value));
}

function shownFor(property: INodeProperties, resource: string, operation: string): boolean {
	const show = property.displayOptions?.show ?? {};
	const resources = show.resource as string[] | undefined;
	const operations = show.operation as string[] | undefined;
	return (
		(!resources || resources.includes(resource)) &&
		(!operations || operations.includes(operation)) &&
		property.name !== 'resource' &&
		property.name !== 'operation'
	);
}

interface Operation {
	resource: string;
	operation: string;
	params: INodeProperties[];
}

function operations(): Operation[] {
	const resourceProperty = properties.find((property) => property.name === 'resource');
	const result: Operation[] = [];
	for (const resource of optionValues(resourceProperty as INodeProperties)) {
		const operationProperty = properties.find(
			(property) =>
				property.name === 'operation' &&
				(property.displayOptions?.show?.resource as string[]).includes(resource),
		);
		for (const operation of optionValues(operationProperty as INodeProperties)) {
			result.push({
				resource,
				operation,
				params: properties.filter((property) => shownFor(property, resource, operation)),
			});
		}
	}
	return result;
}

/** What a run needs ready: a fresh object to act on, the role that may act. */
interface Fixture {
	session: Session;
	required: INodeParameters;
}

type FixtureMaker = (top: INodeParameters) => Promise<Fixture>;

async function freshOffer(): Promise<string> {
	const [item] = await env.owner.run({
		resource: 'offer',
		operation: 'create',
		resourceType: 'dummy_node',
		resourceUuid: locator('id', env.emulator.control.addDummyNode()),
		additionalFields: { startTime: daysFromNow(-0.05), endTime: daysFromNow(30) },
	});
	return item.json.uuid as string;
}

async function freshLease(): Promise<string> {
	const [item] = await env.admin.run({
		resource: 'lease',
		operation: 'create',
		resourceType: 'dummy_node',
		resourceUuid: locator('id', env.emulator.control.addDummyNode()),
		projectId: 'esi-lessee',
		additionalFields: { startTime: daysFromNow(1), endTime: daysFromNow(8) },
	});
	return item.json.uuid as string;
}

/** A node of the chosen resource type that admin may lease or offer, free at any time. */
function nodeFor(resourceType: unknown): string {
	if (resourceType === 'dummy_node') return env.emulator.control.addDummyNode();
	if (resourceType === 'test_node') return randomUUID();
	return 'fake-node-1';
}

/**
 * Required parameters per operation. A new required parameter must be added here: the test
 * names the operation that lacks it.
 */
const FIXTURES: Record<string, FixtureMaker> = {
	'lease.create': async (top) => ({
		session: env.admin,
		required: { resourceUuid: locator('id', nodeFor(top.resourceType)), projectId: 'esi-lessee' },
	}),
	'lease.delete': async () => ({
		session: env.admin,
		required: { leaseId: locator('id', await freshLease()) },
	}),
	'lease.get': async () => ({
		session: env.admin,
		required: { leaseId: locator('id', await freshLease()) },
	}),
	'lease.updateEndTime': async () => ({
		session: env.admin,
		required: { leaseId: locator('id', await freshLease()), endTime: daysFromNow(5) },
	}),
	'lease.getAll': async () => ({ session: env.admin, required: {} }),
	'offer.claim': async () => ({
		session: env.lessee,
		required: { offerId: locator('id', await freshOffer()) },
	}),
	'offer.create': async (top) => ({
		session: env.admin,
		required: { resourceUuid: locator('id', nodeFor(top.resourceType)) },
	}),
	'offer.delete': async () => ({
		session: env.owner,
		required: { offerId: locator('id', await freshOffer()) },
	}),
	'offer.get': async () => ({
		session: env.lessee,
		required: { offerId: locator('id', await freshOffer()) },
	}),
	'offer.getAll': async () => ({ session: env.admin, required: {} }),
	'node.getAll': async () => ({ session: env.admin, required: {} }),
	'event.getAll': async () => ({ session: env.lessee, required: {} }),
	'consoleToken.create': async () => ({
		session: env.owner,
		required: { nodeId: locator('id', 'fake-node-1') },
	}),
	'consoleToken.delete': async () => ({
		session: env.owner,
		required: { nodeId: locator('id', 'fake-node-1') },
	}),
};

/** A value to set, by field name first, then by type; options fields take each of their values. */
function sampleValues(field: INodeProperties): NodeParameterValueType[] {
	const byName: Record<string, () => NodeParameterValueType> = {
		startTime: () => daysFromNow(1),
		endTime: () => daysFromNow(3),
		availableStartTime: () => daysFromNow(1),
		availableEndTime: () => daysFromNow(3),
		lastEventTime: () => daysFromNow(-1),
		lastEventId: () => 3,
		tokenTtlSeconds: () => 60,
		properties: () => '{"ticket": "OPS-1", "n": 1}',
		lesseeId: () => 'esi-lessee',
		projectId: () => 'esi-lessee',
		ownerId: () => 'esi-owner',
		lesseeOrOwnerId: () => 'esi-lessee',
		owner: () => 'esi-owner',
		lessee: () => 'esi-lessee',
		resourceUuid: () => 'fake-node-1',
		resourceClass: () => 'baremetal',
		offerUuid: () => randomUUID(),
	};
	if (field.type === 'options') return optionValues(field);
	if (field.type === 'boolean') return [true, false];
	if (byName[field.name]) return [byName[field.name]()];
	if (field.type === 'string') return ['enumerated'];
	throw new Error(`no sample value for field "${field.name}" of type ${field.type}: add one`);
}

interface Case {
	label: string;
	top: INodeParameters;
	collections: INodeParameters;
	/** Required parameters the user left empty (applied over the fixture's values). */
	emptied?: INodeParameters;
}

function casesFor(op: Operation): Case[] {
	const collections = op.params.filter((param) => param.type === 'collection');
	const choices = op.params.filter(
		(param) => !param.required && (param.type === 'options' || param.type === 'boolean'),
	);
	// Each top-level choice (resource type, return all) on its own, the others at their default.
	const tops: Array<{ label: string; top: INodeParameters }> = [{ label: 'defaults', top: {} }];
	for (const choice of choices) {
		for (const value of sampleValues(choice)) {
			if (value !== choice.default)
				tops.push({ label: `${choice.name}=${String(value)}`, top: { [choice.name]: value } });
		}
	}
	const cases: Case[] = [];
	// A required text or time the user left empty: the node must say so, not send it.
	for (const param of op.params.filter(
		(candidate) =>
			candidate.required && (candidate.type === 'string' || candidate.type === 'dateTime'),
	)) {
		cases.push({
			label: `required ${param.name} left empty`,
			top: {},
			collections: {},
			emptied: { [param.name]: '' },
		});
	}
	for (const { label, top } of tops) {
		cases.push({ label: `${label}, nothing optional`, top, collections: {} });
		for (const collection of collections) {
			const fields = collection.options as INodeProperties[];
			const empty: INodeParameters = {};
			const full: INodeParameters = {};
			for (const field of fields) {
				empty[field.name] = field.default;
				full[field.name] = sampleValues(field)[0];
				cases.push({
					label: `${label}, ${collection.name}.${field.name} left empty (${JSON.stringify(field.default)})`,
					top,
					collections: { [collection.name]: { [field.name]: field.default } },
				});
				for (const value of sampleValues(field)) {
					cases.push({
						label: `${label}, ${collection.name}.${field.name}=${JSON.stringify(value)}`,
						top,
						collections: { [collection.name]: { [field.name]: value } },
					});
				}
			}
			cases.push({
				label: `${label}, every ${collection.name} field empty`,
				top,
				collections: { [collection.name]: empty },
			});
			cases.push({
				label: `${label}, every ${collection.name} field set`,
				top,
				collections: { [collection.name]: full },
			});
		}
	}
	return cases;
}

/** ESI's answers to a request of the wrong form (edge README findings 1-9, 23). */
const FORM_REJECTIONS = [
	/Missing argument/,
	/Invalid input for field\/attribute/,
	/Unknown (argument|attribute|mimetype)/,
	/not in valid JSON format/,
	/unable to convert/,
	/Cannot set read only field/,
	/Wrong type/,
	/does not match format|unconverted data remains|strptime\(\)/,
	/offset-naive and offset-aware/,
	/Parser must be a string|signed integer is greater/,
	/unsupported operand type|not supported between instances/,
	/'NoneType' object (has no attribute '(to_dict|keys)'|is not subscriptable)/,
	/'list' object has no attribute/,
	/^'\w+'$/,
	/Only the end_time field may be updated/,
];

/** ESI Leap never removes rows: retire what a run left open on the two Ironic nodes. */
function retireIronicObjects(): void {
	const ironic = new Set(env.emulator.db.ironicNodes.map((node) => node.uuid));
	for (const lease of env.emulator.db.leases) {
		if (ironic.has(lease.resourceUuid) && lease.status !== 'deleted') lease.status = 'deleted';
	}
	for (const offer of env.emulator.db.offers) {
		if (ironic.has(offer.resourceUuid) && offer.status === 'available') offer.status = 'deleted';
	}
}

const enumerated = operations().map((op) => ({ op, cases: casesFor(op) }));

describe('every request the ESI Lease node can send is one ESI accepts the form of', () => {
	it('enumerates every operation of the description, each with at least one case', () => {
		expect(enumerated.map(({ op }) => `${op.resource}.${op.operation}`).sort()).toEqual(
			Object.keys(FIXTURES).sort(),
		);
		// 14 operations; the POST/PATCH ones carry the optional fields.
		expect(enumerated.reduce((total, { cases }) => total + cases.length, 0)).toBeGreaterThan(150);
	});

	it.each(
		enumerated.map(({ op, cases }) => [`${op.resource}.${op.operation}`, op, cases] as const),
	)(
		'%s',
		async (name, op, cases) => {
			const makeFixture = FIXTURES[name];
			expect(makeFixture, `no fixture for ${name}: add its required parameters`).toBeDefined();
			const problems: string[] = [];
			let sentWrites = 0;
			for (const testCase of cases) {
				retireIronicObjects();
				const fixture = await makeFixture(testCase.top);
				const before = fixture.session.esiRequests().length;
				const outcome = await fixture.session
					.run({
						resource: op.resource,
						operation: op.operation,
						...testCase.top,
						...fixture.required,
						...testCase.collections,
						...testCase.emptied,
					})
					.then(
						() => undefined,
						(error: unknown) => error,
					);
				const sent = fixture.session.esiRequests().slice(before);
				const where = `${name} [${testCase.label}]`;
				for (const request of sent) {
					if (request.status === 400 || request.status === 415) {
						problems.push(`${where}: ${request.method} ${request.url} answered ${request.status}`);
					}
					if (request.method === 'POST' || request.method === 'PATCH') {
						sentWrites += 1;
						const body = request.body;
						if (request.headers['content-type'] !== 'application/json') {
							problems.push(`${where}: ${request.method} without Content-Type application/json`);
						}
						if (typeof body !== 'object' || body === null || Array.isArray(body)) {
							problems.push(`${where}: ${request.method} body is ${JSON.stringify(body)}`);
						}
					}
				}
				if (testCase.emptied) {
					const field = Object.keys(testCase.emptied)[0];
					if (!(outcome instanceof NodeOperationError)) {
						problems.push(`${where}: no NodeOperationError for the empty field`);
					} else if (!`${outcome.message} ${outcome.description ?? ''}`.includes(field)) {
						problems.push(`${where}: the error does not name ${field}: ${outcome.message}`);
					}
				}
				if (outcome instanceof NodeApiError) {
					const text = `${outcome.message} | ${outcome.description ?? ''}`;
					const form = FORM_REJECTIONS.some((pattern) => pattern.test(text));
					problems.push(`${where}: ${form ? 'FORM REJECTED' : 'ESI refused'}: ${text}`);
				} else if (outcome !== undefined && !(outcome instanceof NodeOperationError)) {
					problems.push(`${where}: threw ${String(outcome)}`);
				}
			}
			expect(problems).toEqual([]);
			// Every write case but those with a required field left empty reached ESI, once.
			if (['claim', 'create', 'updateEndTime'].includes(op.operation)) {
				expect(sentWrites, `${name}: POST/PATCH requests sent`).toBe(
					cases.filter((testCase) => !testCase.emptied).length,
				);
			}
		},
		120_000,
	);
});
