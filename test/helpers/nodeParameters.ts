/**
 * Node parameters read through the node's real description, as the fake n8n contexts and the
 * examples check need them:
 * - what a test (or an example workflow) sets must be a parameter the editor shows for those
 *   settings, of the property's type (an option value among the options, a list for
 *   multiOptions, an object for a collection, ...); `={{ ... }}` expressions are accepted where
 *   the property takes expressions;
 * - missing values get the description's defaults as n8n's Workflow fills them on load
 *   (NodeHelpers.getNodeParameters: displayed parameters only);
 * - a read of a name the description does not have throws, and so does a read of a collection
 *   option whose fallback differs from the default the editor shows for it.
 */
import { isDeepStrictEqual } from 'node:util';

import type {
	INode,
	INodeParameters,
	INodeProperties,
	INodePropertyCollection,
	INodePropertyOptions,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeHelpers } from 'n8n-workflow';

import { getByPath } from './objects';

function isExpression(value: unknown): boolean {
	return typeof value === 'string' && value.startsWith('=');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface Scope {
	node: INode;
	description: INodeTypeDescription;
	/** The node's top-level parameters, for `/name` display conditions. */
	root: INodeParameters;
	problems: string[];
}

/** Properties named `name` that the editor shows for `values` (several may share a name). */
function shownProperties(
	properties: INodeProperties[],
	name: string,
	values: INodeParameters,
	scope: Scope,
): INodeProperties[] {
	return properties.filter(
		(property) =>
			property.name === name &&
			NodeHelpers.displayParameter(values, property, scope.node, scope.description, scope.root),
	);
}

function optionValues(property: INodeProperties): unknown[] | undefined {
	if (property.typeOptions?.loadOptionsMethod || property.typeOptions?.loadOptions)
		return undefined;
	if (!Array.isArray(property.options)) return undefined;
	return (property.options as INodePropertyOptions[]).map((option) => option.value);
}

/** Why `value` does not fit `property`'s type, or undefined when it does. */
function typeProblem(property: INodeProperties, value: unknown): string | undefined {
	if (isExpression(value)) {
		return property.noDataExpression ? 'does not take an expression' : undefined;
	}
	const show = JSON.stringify(value);
	switch (property.type) {
		case 'string':
		case 'dateTime':
		case 'color':
		case 'hidden':
			return typeof value === 'string' ? undefined : `expected text, got ${show}`;
		case 'json':
			// Text from the editor, or what an expression made of it (an object or a list).
			return typeof value === 'string' || typeof value === 'object'
				? undefined
				: `expected JSON text, got ${show}`;
		case 'number':
			return typeof value === 'number' && Number.isFinite(value)
				? undefined
				: `expected a number, got ${show}`;
		case 'boolean':
			return typeof value === 'boolean' ? undefined : `expected true or false, got ${show}`;
		case 'options': {
			const allowed = optionValues(property);
			if (!allowed || allowed.includes(value as string)) return undefined;
			return `"${String(value)}" is not one of ${allowed.join(', ')}`;
		}
		case 'multiOptions': {
			if (!Array.isArray(value)) return `expected a list, got ${show}`;
			const allowed = optionValues(property);
			const wrong = allowed ? value.filter((entry) => !allowed.includes(entry as string)) : [];
			return wrong.length === 0
				? undefined
				: wrong
						.map((entry) => `"${String(entry)}" is not one of ${allowed!.join(', ')}`)
						.join('; ');
		}
		case 'collection':
		case 'fixedCollection':
			return isPlainObject(value) ? undefined : `expected an object, got ${show}`;
		case 'resourceLocator': {
			if (!isPlainObject(value)) return `expected { mode, value }, got ${show}`;
			const modes = (property.modes ?? []).map((mode) => mode.name);
			return modes.includes(value.mode as string)
				? undefined
				: `mode ${JSON.stringify(value.mode)} is not one of ${modes.join(', ')}`;
		}
		default:
			return undefined;
	}
}

function checkLevel(
	properties: INodeProperties[],
	values: INodeParameters,
	path: string,
	scope: Scope,
) {
	for (const [name, value] of Object.entries(values)) {
		const where = path ? `${path}.${name}` : name;
		const [property] = shownProperties(properties, name, path ? values : scope.root, scope);
		if (!property) {
			scope.problems.push(`${where}: no such parameter for these settings`);
			continue;
		}
		const problem = typeProblem(property, value);
		if (problem) {
			scope.problems.push(`${where}: ${problem}`);
			continue;
		}
		if (property.type === 'collection' && isPlainObject(value)) {
			checkLevel(property.options as INodeProperties[], value as INodeParameters, where, scope);
		}
		if (property.type === 'fixedCollection' && isPlainObject(value)) {
			for (const [group, entries] of Object.entries(value)) {
				const groupWhere = `${where}.${group}`;
				const definition = (property.options as INodePropertyCollection[]).find(
					(option) => option.name === group,
				);
				if (!definition) {
					scope.problems.push(`${groupWhere}: no such group`);
					continue;
				}
				const multiple = property.typeOptions?.multipleValues === true;
				if (multiple !== Array.isArray(entries)) {
					scope.problems.push(`${groupWhere}: expected ${multiple ? 'a list' : 'an object'}`);
					continue;
				}
				const list = Array.isArray(entries) ? entries : [entries];
				list.forEach((entry, index) => {
					if (!isPlainObject(entry)) {
						scope.problems.push(`${groupWhere}[${index}]: expected an object`);
						return;
					}
					checkLevel(definition.values, entry as INodeParameters, `${groupWhere}[${index}]`, scope);
				});
			}
		}
	}
}

/** What is wrong with the parameters a node sets, as readable strings (empty when fine). */
export function parameterProblems(description: INodeTypeDescription, node: INode): string[] {
	// Display conditions see what the editor sees: the defaults of what was not set, too.
	const defaults = (() => {
		try {
			return withDefaults(description, node);
		} catch {
			// A value n8n cannot even walk (a list where it expects one): the plain defaults, so
			// that the check below can say what is wrong.
			return Object.fromEntries(
				description.properties.map((property) => [property.name, property.default]),
			) as INodeParameters;
		}
	})();
	const scope: Scope = {
		node,
		description,
		root: { ...defaults, ...node.parameters },
		problems: [],
	};
	const values = Object.fromEntries(
		Object.keys(node.parameters).map((name) => [name, node.parameters[name]]),
	);
	checkLevel(description.properties, values, '', scope);
	return scope.problems;
}

/** The node's parameters with the description's defaults filled in, as n8n does on workflow load. */
export function withDefaults(description: INodeTypeDescription, node: INode): INodeParameters {
	return (
		NodeHelpers.getNodeParameters(
			description.properties,
			node.parameters,
			true,
			false,
			node,
			description,
		) ?? {}
	);
}

/**
 * Checks what a test sets and completes it with the description's defaults; throws naming every
 * problem, so a misspelt or misplaced parameter cannot silently fall back to a default.
 */
export function completeParameters(
	description: INodeTypeDescription,
	node: INode,
): INodeParameters {
	const problems = parameterProblems(description, node);
	if (problems.length > 0) {
		throw new Error(`Fake n8n: bad parameters for ${description.name}: ${problems.join('; ')}`);
	}
	return withDefaults(description, node);
}

/** Where a parameter path leads in the description. */
interface Resolved {
	property: INodeProperties;
	/** True for a field of a `collection` (n8n does not fill those in: the node's fallback applies). */
	inCollection: boolean;
}

/** The property a dotted path names (`options.prefetch`, `payloadFilters.filter`), or throws. */
export function resolveParameterPath(description: INodeTypeDescription, path: string): Resolved {
	const [top, ...rest] = path.split('.');
	const unknown = () =>
		new Error(`Fake n8n: ${description.name} has no parameter "${path}" in its description`);
	const descend = (
		property: INodeProperties,
		steps: string[],
		inCollection: boolean,
	): Resolved | undefined => {
		if (steps.length === 0) return { property, inCollection };
		const [step, ...more] = steps;
		if (property.type === 'collection') {
			const child = (property.options as INodeProperties[]).find((option) => option.name === step);
			return child ? descend(child, more, true) : undefined;
		}
		if (property.type === 'fixedCollection') {
			const group = (property.options as INodePropertyCollection[]).find(
				(option) => option.name === step,
			);
			if (!group) return undefined;
			const afterIndex = /^\d+$/.test(more[0] ?? '') ? more.slice(1) : more;
			if (afterIndex.length === 0) return { property, inCollection: false };
			const value = group.values.find((candidate) => candidate.name === afterIndex[0]);
			return value ? descend(value, afterIndex.slice(1), false) : undefined;
		}
		// json, resource locators, ...: what lies below is the value's own shape.
		return { property, inCollection };
	};
	for (const candidate of description.properties.filter((property) => property.name === top)) {
		const found = descend(candidate, rest, false);
		if (found) return found;
	}
	throw unknown();
}

/**
 * n8n's getNodeParameter(name, fallback) over completed parameters, strict about names: an
 * unknown name throws; a missing value gives the fallback, or "Could not get parameter" without
 * one; a collection field read with a fallback other than its documented default throws.
 */
export function readParameter(
	description: INodeTypeDescription,
	parameters: INodeParameters,
	path: string,
	fallback: unknown,
): unknown {
	const { property, inCollection } = resolveParameterPath(description, path);
	const value = getByPath(parameters, path);
	if (value !== undefined) return value;
	if (fallback === undefined) throw new Error(`Could not get parameter "${path}"`);
	if (
		inCollection &&
		property.default !== undefined &&
		!isDeepStrictEqual(fallback, property.default)
	) {
		throw new Error(
			`Fake n8n: "${path}" is read with fallback ${JSON.stringify(fallback)}, but the editor shows its default as ${JSON.stringify(property.default)}`,
		);
	}
	return fallback;
}
