/**
 * A faithful stand-in for n8n's IExecuteFunctions (n8n-core ExecuteContext, 2.41) and
 * ILoadOptionsFunctions, for running a node's execute path in tests:
 * - node parameters are checked against the description (a parameter the editor does not show
 *   for these settings, or a value of the wrong type, throws) and completed with the
 *   description's defaults exactly as n8n's Workflow does on load (NodeHelpers.getNodeParameters:
 *   displayed parameters only, resource locators as `{ __rl: true, mode, value }`);
 *   see nodeParameters.ts;
 * - getNodeParameter(name, itemIndex, fallback, { extractValue }) reads dotted paths (a name the
 *   description lacks throws), resolves the
 *   `={{ $json.path }}` expressions tests use against the item, throws "Could not get parameter"
 *   without a fallback, and extracts resource-locator values (mode `extractValue` regex included);
 * - continueOnFail follows the node's `onError` setting;
 * - helpers.httpRequestWithAuthentication goes through test/helpers/n8nHttp.ts (the REAL
 *   credential's preAuthentication/authenticate and n8n's one refresh on 401).
 */
import type {
	IDataObject,
	IExecuteFunctions,
	IGetNodeParameterOptions,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
	INode,
	INodeExecutionData,
	INodeParameterResourceLocator,
	INodeParameters,
	INodeProperties,
	INodeType,
} from 'n8n-workflow';
import { isResourceLocatorValue, NodeHelpers } from 'n8n-workflow';

import type { N8nHttp } from './n8nHttp';
import { completeParameters, readParameter, resolveParameterPath } from './nodeParameters';
import { getByPath } from './objects';

export interface ExecuteContextOptions {
	nodeType: INodeType;
	/** What the user set in the editor; defaults are filled in like n8n does. */
	parameters: INodeParameters;
	/** Input items (default: one empty item, as after a Manual Trigger). */
	items?: INodeExecutionData[];
	http: N8nHttp;
	/** The node's "On Error: Continue" setting. */
	continueOnFail?: boolean;
	/** The workflow time zone (n8n's default is America/New_York). */
	timezone?: string;
}

export interface LogLine {
	level: 'debug' | 'info' | 'warn' | 'error';
	message: string;
	meta?: unknown;
}

export interface FakeExecuteContext {
	context: IExecuteFunctions;
	node: INode;
	logs: LogLine[];
}

export function createExecuteContext(options: ExecuteContextOptions): FakeExecuteContext {
	const { nodeType } = options;
	const description = nodeType.description;
	const items = options.items ?? [{ json: {} }];
	const node: INode = {
		id: 'esi-lease-node',
		name: description.defaults.name ?? description.displayName,
		type: `n8n-nodes-esi-leap.${description.name}`,
		typeVersion: 1,
		position: [0, 0],
		parameters: options.parameters,
		credentials: { esiLeapApi: { id: 'cred-1', name: 'ESI Leap API account' } },
		...(options.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
	};
	node.parameters = completeParameters(description, node);
	const logs: LogLine[] = [];
	const log =
		(level: LogLine['level']) =>
		(message: string, meta?: unknown): void => {
			logs.push({ level, message, meta });
		};

	function getNodeParameter(
		name: string,
		itemIndex: number,
		fallbackValue?: unknown,
		parameterOptions?: IGetNodeParameterOptions,
	): unknown {
		const raw = getByPath(node.parameters, name);
		if (raw === undefined) return readParameter(description, node.parameters, name, fallbackValue);
		resolveParameterPath(description, name);
		const value = resolveExpressions(structuredClone(raw), items[itemIndex]?.json ?? {});
		if (!parameterOptions?.extractValue) return value;
		return extractValue(value, displayedProperty(name), name);
	}

	/** The property n8n would read for `name` (several share a name across operations). */
	function displayedProperty(path: string): INodeProperties | undefined {
		const [top, nested] = path.split('.');
		const property = description.properties.find(
			(candidate) =>
				candidate.name === top &&
				NodeHelpers.displayParameter(node.parameters, candidate, node, description),
		);
		if (!nested) return property;
		return (property?.options as INodeProperties[] | undefined)?.find(
			(option) => option.name === nested,
		);
	}

	const context = {
		getInputData: () => items,
		getNodeParameter,
		getNode: () => node,
		getWorkflow: () => ({ id: 'wf-1', name: 'Test workflow', active: false }),
		getMode: () => 'manual',
		getTimezone: () => options.timezone ?? 'America/New_York',
		continueOnFail: () =>
			node.onError === 'continueRegularOutput' || node.onError === 'continueErrorOutput',
		logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
		helpers: {
			httpRequestWithAuthentication: async (
				credentialsType: string,
				requestOptions: IHttpRequestOptions,
			) => await options.http.httpRequestWithAuthentication(credentialsType, requestOptions, node),
			returnJsonArray: (data: IDataObject | IDataObject[]) =>
				(Array.isArray(data) ? data : [data]).map((json) => ({ json })),
		},
	};
	return { context: context as unknown as IExecuteFunctions, node, logs };
}

/** Runs the node's execute() with a fresh context; returns the first output. */
export async function runNode(options: ExecuteContextOptions): Promise<INodeExecutionData[]> {
	const { context } = createExecuteContext(options);
	if (!options.nodeType.execute) throw new Error('node has no execute()');
	const output = (await options.nodeType.execute.call(context)) as INodeExecutionData[][];
	return output[0];
}

/** An ILoadOptionsFunctions for listSearch methods (current parameters as the editor has them). */
export function createLoadOptionsContext(
	nodeType: INodeType,
	parameters: INodeParameters,
	http: N8nHttp,
): ILoadOptionsFunctions {
	const { node } = createExecuteContext({ nodeType, parameters, http });
	const context = {
		getNode: () => node,
		getNodeParameter: (name: string, fallbackValue?: unknown) =>
			readParameter(nodeType.description, node.parameters, name, fallbackValue),
		getCurrentNodeParameter: (name: string) => getByPath(node.parameters, name),
		getCurrentNodeParameters: () => node.parameters,
		getTimezone: () => 'America/New_York',
		logger: { debug() {}, info() {}, warn() {}, error() {} },
		helpers: {
			httpRequestWithAuthentication: async (
				credentialsType: string,
				requestOptions: IHttpRequestOptions,
			) => await http.httpRequestWithAuthentication(credentialsType, requestOptions, node),
		},
	};
	return context as unknown as ILoadOptionsFunctions;
}

const JSON_EXPRESSION = /^=\{\{\s*\$json((?:\.[A-Za-z_$][\w$]*|\[\d+\])*)\s*\}\}$/;

/** n8n expressions, limited to what tests need: `={{ $json.a.b }}` (typed value) and `=text`. */
function resolveExpressions(value: unknown, json: IDataObject): unknown {
	if (typeof value === 'string' && value.startsWith('=')) {
		const match = JSON_EXPRESSION.exec(value);
		if (match) return getByPath(json, match[1].replace(/\[(\d+)\]/g, '.$1').replace(/^\./, ''));
		if (value.includes('{{')) throw new Error(`Fake n8n cannot evaluate expression ${value}`);
		return value.slice(1);
	}
	if (Array.isArray(value)) return value.map((entry) => resolveExpressions(entry, json));
	if (value !== null && typeof value === 'object') {
		const result: Record<string, unknown> = {};
		for (const [key, entry] of Object.entries(value)) result[key] = resolveExpressions(entry, json);
		return result;
	}
	return value;
}

/** n8n-core's extractValue for resource locators (regex extractors included). */
function extractValue(
	value: unknown,
	property: INodeProperties | undefined,
	name: string,
): unknown {
	if (property?.type !== 'resourceLocator') return value;
	if (!isResourceLocatorValue(value)) return value;
	const locator = value as INodeParameterResourceLocator;
	const mode = property.modes?.find((candidate) => candidate.name === locator.mode);
	if (!mode) {
		throw new Error(`Could not find mode "${String(locator.mode)}" of parameter "${name}"`);
	}
	if (!mode.extractValue) return locator.value;
	if (mode.extractValue.type !== 'regex') {
		throw new Error(`Property "${name}" has an unknown extractor type`);
	}
	const extracted = new RegExp(mode.extractValue.regex).exec(String(locator.value));
	if (!extracted || extracted.length !== 2) {
		throw new Error(
			`ERROR: ${property.displayName} parameter's value is invalid. This is likely because the URL entered is incorrect`,
		);
	}
	return extracted[1];
}
