import type { INodeParameters, INodeProperties, INodePropertyOptions } from 'n8n-workflow';
import { NodeHelpers } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import packageJson from '../../../package.json';
import codex from '../../../nodes/EsiLease/EsiLease.node.json';
import { EsiLease } from '../../../nodes/EsiLease/EsiLease.node';

const description = new EsiLease().description;
const node = { typeVersion: 1 };

function options(property: INodeProperties | undefined): INodePropertyOptions[] {
	return (property?.options ?? []) as INodePropertyOptions[];
}

/** Top-level parameters n8n shows for these values (defaults filled in as n8n does). */
function shown(values: INodeParameters): string[] {
	const filled = NodeHelpers.getNodeParameters(
		description.properties,
		values,
		true,
		false,
		node,
		description,
	) as INodeParameters;
	return description.properties
		.filter((property) => NodeHelpers.displayParameter(filled, property, node, description))
		.map((property) => property.name);
}

const resourceProperty = description.properties.find((property) => property.name === 'resource');
const resources = options(resourceProperty).map((option) => String(option.value));
const operationProperty = (resource: string) =>
	description.properties.find(
		(property) =>
			property.name === 'operation' && property.displayOptions?.show?.resource?.includes(resource),
	);

describe('ESI Lease description', () => {
	it('is an n8n action node usable as a tool, with subtitle, icons and the API credential', () => {
		expect(description).toMatchObject({
			name: 'esiLease',
			displayName: 'ESI Lease',
			usableAsTool: true,
			subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
			icon: { light: 'file:../../icons/esiLeap.svg', dark: 'file:../../icons/esiLeap.dark.svg' },
			credentials: [{ name: 'esiLeapApi', required: true }],
		});
		expect(codex.node).toBe('n8n-nodes-esi-leap.esiLease');
		expect(packageJson.n8n.nodes).toContain('dist/nodes/EsiLease/EsiLease.node.js');
	});

	it('offers the five resources, each with an operation selector', () => {
		expect(resources.sort()).toEqual(['consoleToken', 'event', 'lease', 'node', 'offer']);
		for (const resource of resources) {
			expect(operationProperty(resource)?.noDataExpression).toBe(true);
		}
	});

	it('gives every operation a description and a unique action sentence', () => {
		const actions: string[] = [];
		for (const resource of resources) {
			for (const option of options(operationProperty(resource))) {
				expect(option.description, `${resource}.${option.value}`).toBeTruthy();
				expect(option.action, `${resource}.${option.value}`).toMatch(/^[A-Z][a-z]+ /);
				actions.push(String(option.action));
			}
		}
		expect(new Set(actions).size).toBe(actions.length);
		expect(actions).toHaveLength(14);
	});

	it.each([
		['lease', 'create', ['resourceType', 'resourceUuid', 'projectId', 'additionalFields']],
		['lease', 'get', ['leaseId']],
		['lease', 'getAll', ['returnAll', 'limit', 'filters']],
		['lease', 'updateEndTime', ['leaseId', 'endTime']],
		['lease', 'delete', ['leaseId']],
		['offer', 'create', ['resourceType', 'resourceUuid', 'additionalFields']],
		['offer', 'get', ['offerId']],
		['offer', 'getAll', ['returnAll', 'limit', 'filters']],
		['offer', 'claim', ['offerId', 'additionalFields']],
		['offer', 'delete', ['offerId']],
		['node', 'getAll', ['returnAll', 'limit', 'filters']],
		['event', 'getAll', ['returnAll', 'limit', 'filters']],
		['consoleToken', 'create', ['nodeId', 'additionalFields']],
		['consoleToken', 'delete', ['nodeId']],
	])('%s %s shows exactly its own parameters', (resource, operation, expected) => {
		expect(shown({ resource, operation })).toEqual(['resource', 'operation', ...expected]);
	});

	it('hides Limit when Return All is on', () => {
		expect(shown({ resource: 'offer', operation: 'getAll', returnAll: true })).not.toContain(
			'limit',
		);
	});

	it('exposes every ESI Leap list filter', () => {
		const filterNames = (resource: string) =>
			description.properties
				.filter(
					(property) =>
						property.name === 'filters' &&
						property.displayOptions?.show?.resource?.includes(resource),
				)
				.flatMap((property) => (property.options as INodeProperties[]).map((o) => o.name))
				.sort();
		expect(filterNames('lease')).toEqual(
			[
				'endTime',
				'offerUuid',
				'ownerId',
				'projectId',
				'resourceClass',
				'resourceType',
				'resourceUuid',
				'startTime',
				'status',
				'viewAll',
			].sort(),
		);
		expect(filterNames('offer')).toEqual(
			[
				'availableEndTime',
				'availableStartTime',
				'endTime',
				'projectId',
				'resourceClass',
				'resourceType',
				'resourceUuid',
				'startTime',
				'status',
			].sort(),
		);
		expect(filterNames('event')).toEqual(
			[
				'eventType',
				'lastEventId',
				'lastEventTime',
				'lesseeOrOwnerId',
				'resourceType',
				'resourceUuid',
			].sort(),
		);
		expect(filterNames('node')).toEqual(['lessee', 'owner', 'resourceClass']);
	});

	it('lets lease and offer status be "any" and makes every time a date-time field', () => {
		const all = JSON.stringify(description.properties);
		expect(all.match(/"value":"any"/g)).toHaveLength(2);
		const timeNames = /(^|[a-z])(start|end|Start|End|lastEvent)Time$/;
		const walk = (properties: INodeProperties[]): INodeProperties[] =>
			properties.flatMap((property) => [
				property,
				...(property.type === 'collection' ? walk(property.options as INodeProperties[]) : []),
			]);
		const times = walk(description.properties).filter((property) => timeNames.test(property.name));
		expect(times.length).toBeGreaterThan(10);
		for (const property of times) expect(property.type, property.name).toBe('dateTime');
	});

	it('uses resource locators with list, name and UUID modes for leases, offers and nodes', () => {
		const locators = description.properties.filter(
			(property) => property.type === 'resourceLocator',
		);
		expect(new Set(locators.map((property) => property.name))).toEqual(
			new Set(['leaseId', 'offerId', 'resourceUuid', 'nodeId']),
		);
		for (const property of locators) {
			expect(property.modes?.map((mode) => mode.name)).toEqual(['list', 'name', 'id']);
		}
		const searchMethods = locators.map(
			(property) => property.modes?.[0].typeOptions?.searchListMethod,
		);
		expect(new Set(searchMethods)).toEqual(
			new Set(['searchLeases', 'searchOffers', 'searchNodes']),
		);
		const methods = new EsiLease().methods.listSearch;
		for (const method of searchMethods)
			expect(typeof methods[method as keyof typeof methods]).toBe('function');
	});
});
