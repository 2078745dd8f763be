/**
 * Resource locators for leases, offers and nodes: pick from a list, type a name, or type a UUID.
 * ESI Leap resolves lease and offer names itself for get, delete and update (404 when unknown,
 * "Duplicate ..." when ambiguous); where it cannot (claim), the operation resolves the name first.
 */
import type {
	IExecuteFunctions,
	INodeParameterResourceLocator,
	INodeProperties,
} from 'n8n-workflow';

import { isUuidLike } from '../core/api/client';
import { EsiLeapError } from '../core/errors';

export type LocatorKind = 'lease' | 'offer' | 'node';
export type LocatorMode = 'list' | 'name' | 'id';

export interface LocatedValue {
	mode: LocatorMode;
	value: string;
}

// core's isUuidLike (oslo is_uuid_like) as a string, for the editor's own validation.
const UUID_PATTERN =
	'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$';
/** ESI's name columns are String(35). */
const NAME_MAX_LENGTH = 35;

const LABELS: Record<LocatorKind, { noun: string; searchMethod: string; idHint: string }> = {
	lease: {
		noun: 'Lease',
		searchMethod: 'searchLeases',
		idHint: 'e.g. 93fd3a09-0510-4f96-baa6-18aafde1e293',
	},
	offer: {
		noun: 'Offer',
		searchMethod: 'searchOffers',
		idHint: 'e.g. 5af05745-1d65-4757-9148-78373197ec09',
	},
	node: {
		noun: 'Node',
		searchMethod: 'searchNodes',
		idHint: 'e.g. 5f1e7b5a-6a0e-4b5c-9a54-3c2f8f0c1d2e',
	},
};

export function locatorProperty(
	kind: LocatorKind,
	overrides: Partial<INodeProperties> & Pick<INodeProperties, 'name'>,
): INodeProperties {
	const { noun, searchMethod, idHint } = LABELS[kind];
	return {
		displayName: noun,
		type: 'resourceLocator',
		default: { mode: 'list', value: '' },
		required: true,
		modes: [
			{
				displayName: 'From List',
				name: 'list',
				type: 'list',
				typeOptions: { searchListMethod: searchMethod, searchable: true },
			},
			{
				displayName: 'By Name',
				name: 'name',
				type: 'string',
				placeholder: kind === 'node' ? 'e.g. fake-node-1' : `e.g. my-${kind}`,
				hint:
					kind === 'node'
						? 'Ironic node name'
						: 'Names are not unique in ESI Leap: an ambiguous name is an error',
			},
			{
				displayName: kind === 'node' ? 'By ID' : 'By UUID',
				name: 'id',
				type: 'string',
				placeholder: idHint,
				// Dummy and test node identifiers are free text; leases and offers are UUIDs.
				...(kind === 'node'
					? { hint: 'Ironic node UUID, or the identifier of a dummy or test node' }
					: {
							validation: [
								{
									type: 'regex' as const,
									properties: {
										regex: UUID_PATTERN,
										errorMessage: `Not a valid ${noun.toLowerCase()} UUID`,
									},
								},
							],
						}),
			},
		],
		...overrides,
	};
}

/**
 * Reads a locator parameter and checks it. A plain string (an expression, or an AI tool filling
 * the field) is a UUID when it looks like one and a name otherwise.
 */
export function readLocator(
	context: IExecuteFunctions,
	parameterName: string,
	itemIndex: number,
	kind: LocatorKind,
): LocatedValue {
	const raw = context.getNodeParameter(parameterName, itemIndex) as
		| INodeParameterResourceLocator
		| string;
	let mode: LocatorMode;
	let value: string;
	if (typeof raw === 'object' && raw !== null && '__rl' in raw) {
		mode = raw.mode as LocatorMode;
		value = String(
			context.getNodeParameter(parameterName, itemIndex, undefined, { extractValue: true }) ?? '',
		).trim();
	} else {
		value = String(raw ?? '').trim();
		mode = isUuidLike(value) ? 'id' : 'name';
	}
	const noun = LABELS[kind].noun;
	if (value === '') throw invalidParameter(parameterName, `${noun} is required`);
	if (/\s/.test(value) && mode !== 'name') {
		throw invalidParameter(
			parameterName,
			`"${value}" contains spaces: it is not a ${noun.toLowerCase()} ID`,
		);
	}
	if (mode === 'id' && kind !== 'node' && !isUuidLike(value)) {
		throw invalidParameter(
			parameterName,
			`"${value}" is not a UUID. Choose "By Name" to give the ${noun.toLowerCase()}'s name.`,
		);
	}
	if (mode === 'name' && kind !== 'node' && value.length > NAME_MAX_LENGTH) {
		throw invalidParameter(
			parameterName,
			`the name is ${value.length} characters long; ESI Leap names have at most ${NAME_MAX_LENGTH}`,
		);
	}
	return { mode, value };
}

/** A parameter problem found before any request; the node turns it into a NodeOperationError. */
export function invalidParameter(field: string, message: string): EsiLeapError {
	return new EsiLeapError('invalid_input', `${field}: ${message}`, { field });
}
