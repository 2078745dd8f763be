/**
 * The one place core errors become n8n errors: bad parameters and configuration become
 * NodeOperationError naming the field; ESI Leap / Keystone failures become NodeApiError with
 * ESI's own message and HTTP status. Every text is redacted, and no raw cause (which could hold
 * request headers with the token) is passed on.
 */
import type { INode, JsonObject } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { EsiLeapError, type EsiLeapErrorKind } from '../core/errors';
import { redact } from '../core/redact';

export interface NodeErrorOptions {
	itemIndex?: number;
	/** For 403s: which role the operation needs, e.g. "the admin role (esi_leap:lease:update)". */
	requiredRole?: string;
	/** Secret values to mask in addition to the built-in patterns. */
	secrets?: ReadonlyArray<string | undefined>;
}

const DESCRIPTIONS: Partial<Record<EsiLeapErrorKind, string>> = {
	unauthorized:
		'ESI Leap or Keystone did not accept the login. Check the ESI Leap API credential (and that its project still exists).',
	not_found: 'ESI Leap has no such object visible to this project.',
	conflict: 'The request clashes with an existing offer or lease (time window or name).',
	bad_request: 'ESI Leap rejected the request as invalid.',
	server: 'ESI Leap failed internally; retrying later may help.',
	network: 'No answer from ESI Leap. Check the endpoint, the network and TLS settings.',
	invalid_response: 'ESI Leap answered with data this node does not understand.',
};

/** Only for ESI's 500 "'NoneType' object has no attribute ..." (never a real 404). */
export const UNKNOWN_UUID_NOTE =
	'Note that ESI reports unknown UUIDs as a server error; this is that case.';

export function toNodeError(
	node: INode,
	error: unknown,
	options: NodeErrorOptions = {},
): NodeApiError | NodeOperationError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	const clean = (text: string) => redact(text, options.secrets);
	const { itemIndex } = options;

	if (!(error instanceof EsiLeapError)) {
		const message = error instanceof Error ? error.message : String(error);
		return new NodeOperationError(node, clean(message), { itemIndex });
	}

	if (error.kind === 'invalid_input' || error.kind === 'config') {
		return new NodeOperationError(node, clean(error.message), {
			itemIndex,
			description: error.field ? `Check the "${error.field}" field.` : undefined,
		});
	}

	// `summary` says what happened when ESI's text does not (its 500 for an unknown UUID).
	const message = clean(error.summary ?? error.esiMessage ?? error.message);
	const description =
		error.kind === 'forbidden'
			? forbiddenDescription(options.requiredRole)
			: error.kind === 'invalid_response' && error.field
				? `${DESCRIPTIONS.invalid_response} Field: ${error.field}.`
				: error.kind === 'not_found' && error.unknownUuidAsServerError
					? `${DESCRIPTIONS.not_found} ${UNKNOWN_UUID_NOTE}`
					: DESCRIPTIONS[error.kind];
	const httpCode = error.status !== undefined ? String(error.status) : undefined;
	return new NodeApiError(node, { message, ...(httpCode ? { httpCode } : {}) } as JsonObject, {
		message,
		description: description ? clean(`${description} (${clean(error.message)})`) : undefined,
		httpCode,
		itemIndex,
	});
}

function forbiddenDescription(requiredRole: string | undefined): string {
	return requiredRole
		? `Your Keystone user lacks the permission for this operation: it needs ${requiredRole}.`
		: 'Your Keystone user lacks the permission for this operation (ESI Leap policy).';
}
