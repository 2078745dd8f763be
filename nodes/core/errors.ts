/**
 * Typed errors of the functional core. Only `nodes/shared/errors.ts` turns these into n8n's
 * NodeApiError / NodeOperationError, so the core stays free of n8n imports.
 */
export type EsiLeapErrorKind =
	| 'not_found' // 404, or ESI's 500 "'NoneType' object has no attribute" for an unknown UUID
	| 'unauthorized' // 401 from ESI Leap or Keystone
	| 'forbidden' // 403 (policy)
	| 'bad_request' // 400 / 415 / ESI business errors the caller can fix
	| 'conflict' // ESI 500 "Time conflict", "Duplicate ... with name"
	| 'server' // other 5xx
	| 'network' // no response: refused, reset, timeout, TLS
	| 'invalid_response' // a response that does not match the schema
	| 'invalid_input' // rejected before any request was sent
	| 'config'; // credential / catalog problems (no `lease` endpoint, ...)

/** The object a request was about, so a "not found" can name it. */
export interface EsiLeapSubject {
	/** `Lease`, `Offer`, `Node`: as the headline names it. */
	kind: 'Lease' | 'Offer' | 'Node';
	/** The UUID or name the caller asked for. */
	id: string;
}

export interface EsiLeapErrorDetails {
	status?: number;
	/** The headline a user should read when ESI's own text does not say what happened. */
	summary?: string;
	/** What the request was about (see EsiLeapSubject). */
	subject?: EsiLeapSubject;
	/** ESI's 500 "'NoneType' object has no attribute ..." for an unknown UUID (spec §10). */
	unknownUuidAsServerError?: boolean;
	/** ESI Leap's own message (`faultstring`, or `error.message` on a 401). */
	esiMessage?: string;
	/** The parameter or field at fault, for invalid_input and invalid_response. */
	field?: string;
	/** Worth retrying on the next tick (network, 5xx other than ESI's business 500s). */
	retryable?: boolean;
	cause?: unknown;
}

export class EsiLeapError extends Error {
	readonly kind: EsiLeapErrorKind;
	readonly status?: number;
	readonly esiMessage?: string;
	readonly field?: string;
	readonly retryable: boolean;
	readonly summary?: string;
	readonly subject?: EsiLeapSubject;
	readonly unknownUuidAsServerError: boolean;

	constructor(kind: EsiLeapErrorKind, message: string, details: EsiLeapErrorDetails = {}) {
		super(message);
		this.name = 'EsiLeapError';
		this.kind = kind;
		this.status = details.status;
		this.esiMessage = details.esiMessage;
		this.field = details.field;
		this.summary = details.summary;
		this.subject = details.subject;
		this.unknownUuidAsServerError = details.unknownUuidAsServerError ?? false;
		this.retryable = details.retryable ?? (kind === 'network' || kind === 'server');
		if (details.cause !== undefined) (this as { cause?: unknown }).cause = details.cause;
	}
}

export function isEsiLeapError(value: unknown): value is EsiLeapError {
	return value instanceof EsiLeapError;
}

/**
 * Whether a transport failure is its own timeout (not a refusal or reset): axios says
 * ECONNABORTED/ETIMEDOUT with "timeout" in the text, undici an AbortSignal.timeout TimeoutError.
 * Looks through `cause` because n8n wraps the request error in a NodeApiError.
 */
export function isTimeout(error: unknown): boolean {
	let current: unknown = error;
	for (let depth = 0; depth < 4 && current; depth += 1) {
		const { code, name, message } = current as {
			code?: unknown;
			name?: unknown;
			message?: unknown;
		};
		if (name === 'TimeoutError') return true;
		if (
			(code === 'ECONNABORTED' || code === 'ETIMEDOUT') &&
			typeof message === 'string' &&
			/timeout|timed out/i.test(message)
		) {
			return true;
		}
		current = (current as { cause?: unknown }).cause;
	}
	return false;
}
