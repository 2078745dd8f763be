/**
 * The request timeout of the ESI Leap API credential ("Timeout (Seconds)"). It bounds the
 * Keystone login and, applied by the credential's `authenticate`, every ESI Leap request of
 * every node, so no execution or activation waits forever on an ESI Leap that stopped answering
 * (capture edge-086: the real API can leave a request, or every request, unanswered for good).
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { EsiLeapError } from '../core/errors';

export const DEFAULT_TIMEOUT_SECONDS = 30;

/** A DELETE can block while ESI's notifier waits for RabbitMQ (spec §10 item 13). */
const MIN_DELETE_TIMEOUT_MS = 120_000;

/** The credential's timeout in ms; credentials saved before the field existed get the default. */
export function requestTimeoutMs(
	credentials: ICredentialDataDecryptedObject,
	method?: string,
): number {
	const raw = credentials.timeoutSeconds;
	let timeoutMs = DEFAULT_TIMEOUT_SECONDS * 1000;
	if (raw !== undefined && raw !== null && raw !== '') {
		const seconds = Number(raw);
		if (!Number.isFinite(seconds) || seconds <= 0) {
			throw new EsiLeapError(
				'invalid_input',
				`Timeout (Seconds) of the ESI Leap API credential must be a number above 0, got "${String(raw)}"`,
				{ field: 'timeoutSeconds' },
			);
		}
		timeoutMs = seconds * 1000;
	}
	return method === 'DELETE' ? Math.max(timeoutMs, MIN_DELETE_TIMEOUT_MS) : timeoutMs;
}
