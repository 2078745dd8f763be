/** Parameter definitions several operations share. */
import type { IDataObject, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

const RESOURCE_TYPE_OPTIONS: INodePropertyOptions[] = [
	{ name: 'Ironic Node', value: 'ironic_node' },
	{ name: 'Dummy Node', value: 'dummy_node', description: 'A JSON-file node for testing ESI Leap' },
	{ name: 'Test Node', value: 'test_node', description: 'ESI Leap’s built-in fake node' },
];

export function resourceTypeField(overrides: Partial<INodeProperties> = {}): INodeProperties {
	return {
		displayName: 'Resource Type',
		name: 'resourceType',
		type: 'options',
		options: RESOURCE_TYPE_OPTIONS,
		default: 'ironic_node',
		description: 'Kind of node the lease or offer is for',
		...overrides,
	};
}

export function timeField(
	name: string,
	displayName: string,
	description: string,
	overrides: Partial<INodeProperties> = {},
): INodeProperties {
	return {
		displayName,
		name,
		type: 'dateTime',
		default: '',
		description: `${description}. Without an offset the time is in the workflow's time zone; ESI Leap receives it in UTC.`,
		...overrides,
	};
}

export const nameField = (description: string): INodeProperties => ({
	displayName: 'Name',
	name: 'name',
	type: 'string',
	default: '',
	description: `${description} (at most 35 characters; names need not be unique)`,
});

export const purposeField: INodeProperties = {
	displayName: 'Purpose',
	name: 'purpose',
	type: 'string',
	default: '',
	description: 'Why the node is leased (free text, at most 255 characters)',
};

export const propertiesField = (description: string): INodeProperties => ({
	displayName: 'Properties',
	name: 'properties',
	type: 'json',
	default: '{}',
	description: `${description}, as a JSON object`,
});

export const projectField = (
	name: string,
	displayName: string,
	description: string,
): INodeProperties => ({
	displayName,
	name,
	type: 'string',
	default: '',
	description: `${description}: a project ID or name`,
});

/** The "Additional Fields" collection of create and claim operations. */
export function additionalFieldsCollection(options: INodeProperties[]): INodeProperties {
	return {
		displayName: 'Additional Fields',
		name: 'additionalFields',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		options,
	};
}

/** Get Many filters that narrow `records` to nodes of one class, kind or identity. */
export function resourceClassFilter(records: string): INodeProperties {
	return {
		displayName: 'Resource Class',
		name: 'resourceClass',
		type: 'string',
		default: '',
		description: `Only ${records} of nodes of this resource class`,
	};
}

export function resourceTypeFilter(records: string): INodeProperties {
	return resourceTypeField({ description: `Only ${records} of this kind of node` });
}

export function resourceUuidFilter(records: string): INodeProperties {
	return {
		displayName: 'Resource UUID',
		name: 'resourceUuid',
		type: 'string',
		default: '',
		description: `Only ${records} of this node (UUID, or Ironic name). Without Resource Type, ESI Leap assumes its default type.`,
	};
}

/** `unfiltered` says what ESI Leap lists when no status is given (it is not "any"). */
export function statusFilter(
	records: string,
	options: INodePropertyOptions[],
	unfiltered: string,
): INodeProperties {
	return {
		displayName: 'Status',
		name: 'status',
		type: 'options',
		options,
		default: 'any',
		description: `Only ${records} in this status. Without this filter ESI Leap returns ${unfiltered}.`,
	};
}

/** ESI records leave as they came (snake_case); only the static type changes. */
export function asJson<T extends object>(record: T): IDataObject {
	return record as unknown as IDataObject;
}
