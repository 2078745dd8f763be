/**
 * The one place core errors become n8n errors: bad parameters and configuration become
 * NodeOperationError naming the field; ESI Leap / Keystone failures become NodeApiError with
 * ESI's own message and HTTP status. Every text is redacted, and no raw cause (which could hold
 * request headers with the token) is passed on.
 */
import type { INode, JsonObject } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { EsiLeapError, type EsiLeapErrorKind } from '../core/errors';
import { KeystoneError } from '../core/keystone/auth';
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
		'ESI Leap refused the Keystone token, even a fresh one. Check that ESI Leap uses the same Keystone as the ESI Leap API credential, and that its project still exists.',
	not_found: 'ESI Leap has no such object visible to this project.',
	conflict: 'The request clashes with an existing offer or lease (time window or name).',
	bad_request: 'ESI Leap rejected the request as invalid.',
	server: 'ESI Leap failed internally; retrying later may help.',
	network:
		'No answer from ESI Leap. Check the endpoint, the network, TLS settings and Timeout (Seconds) of the ESI Leap API credential.',
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

	if (error instanceof KeystoneError && error.kind !== 'config') {
		return keystoneNodeError(node, error, clean, itemIndex);
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

/** A failed Keystone login: says so in the headline, Keystone's own text in the description. */
function keystoneNodeError(
	node: INode,
	error: KeystoneError,
	clean: (text: string) => string,
	itemIndex: number | undefined,
): NodeApiError {
	const check =
		error.kind === 'network'
			? 'Check the Keystone Auth URL, the network, TLS settings and Timeout (Seconds) of the ESI Leap API credential.'
			: 'Check the ESI Leap API credential: Keystone Auth URL, user and password (or application credential), domain and project.';
	const httpCode = error.status !== undefined ? String(error.status) : undefined;
	return new NodeApiError(
		node,
		{ message: error.headline, ...(httpCode ? { httpCode } : {}) } as JsonObject,
		{
			message: error.headline,
			description: clean(`${error.message}. ${check}`),
			httpCode,
			itemIndex,
		},
	);
}

/**
 * What the ESI Leap API credential's preAuthentication throws. n8n wraps it in a NodeApiError,
 * which replaces the text by a generic one ("Authorization failed - please check your
 * credentials", "The service refused the connection - perhaps it is offline") as soon as it finds
 * an HTTP status or a network code on the error or in its text (n8n-workflow NodeApiError,
 * NodeError COMMON_ERRORS). This error has neither, and core texts word network codes out
 * (core/keystone/auth.ts), so n8n's credential test shows our message as is. The typed core
 * error rides along as `cause`; the node transport takes it back out (coreErrorIn).
 */
export class CredentialLoginError extends Error {
	constructor(cause: unknown, clean: (text: string) => string) {
		super(clean(cause instanceof Error ? cause.message : String(cause)));
		this.name = 'CredentialLoginError';
		(this as { cause?: unknown }).cause = cause;
	}
}

/** The core error inside n8n's wrapping (NodeApiError → CredentialLoginError → EsiLeapError). */
export function coreErrorIn(error: unknown): EsiLeapError | undefined {
	let current: unknown = error;
	for (let depth = 0; depth < 4 && current; depth += 1) {
		if (current instanceof EsiLeapError) return current;
		current = (current as { cause?: unknown }).cause;
	}
	return undefined;
}

function forbiddenDescription(requiredRole: string | undefined): string {
	return requiredRole
		? `Your Keystone user lacks the permission for this operation: it needs ${requiredRole}.`
		: 'Your Keystone user lacks the permission for this operation (ESI Leap policy).';
}
