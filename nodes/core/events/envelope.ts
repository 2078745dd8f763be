import { z } from 'zod';

import { EVENT_ACTIONS, EVENT_PHASES } from './types';
import type { EsiLeapEventType, EventAction, EventPhase, ShortEventType } from './types';

/**
 * Decoder of the oslo.messaging v2 notification envelope that ESI Leap publishes (spec §4.4):
 * `{"oslo.version": "2.0", "oslo.message": "<JSON string>"}`, whose inner message carries a
 * `LeaseCRUDPayload` versioned object (spec §4.3).
 *
 * Decoding is done in two layers on purpose: the oslo layer (any notification on the topic) and
 * the lease payload layer (only for the six ESI Leap lease event types). A well-formed oslo
 * notification of an event type this package does not know is reported as `unsupported`, not as
 * malformed, so a newer ESI Leap does not dead-letter its new events.
 */

export type DecodeFailureReason =
	| 'not_utf8'
	| 'not_json'
	| 'wrong_envelope'
	| 'inner_not_json'
	| 'invalid_message'
	| 'invalid_payload'
	| 'wrong_content_type';

/** A body that cannot be decoded. The message names the field, never a value from the body. */
export class EnvelopeDecodeError extends Error {
	readonly reason: DecodeFailureReason;
	/** Dot path of the offending field, e.g. `payload.esi_leap_object.data.uuid`. */
	readonly field?: string;

	constructor(reason: DecodeFailureReason, message: string, field?: string) {
		super(message);
		this.name = 'EnvelopeDecodeError';
		this.reason = reason;
		this.field = field;
	}
}

const nullableString = z.string().nullable();
const jsonObject = z.record(z.unknown());

/** `esi_leap_object.data` of LeaseCRUDPayload v1.0: all 21 fields are always present. */
export const leasePayloadDataSchema = z
	.object({
		id: z.number().int(),
		name: nullableString,
		uuid: z.string().min(1),
		project_id: nullableString,
		owner_id: nullableString,
		purpose: nullableString,
		resource_type: nullableString,
		resource_uuid: nullableString,
		start_time: nullableString,
		end_time: nullableString,
		fulfill_time: nullableString,
		expire_time: nullableString,
		status: nullableString,
		properties: jsonObject,
		offer_uuid: nullableString,
		parent_lease_uuid: nullableString,
		node_name: nullableString,
		node_uuid: nullableString,
		node_provision_state: nullableString,
		node_power_state: nullableString,
		node_properties: jsonObject,
	})
	.passthrough();

export type LeasePayloadData = z.infer<typeof leasePayloadDataSchema>;

const leasePayloadSchema = z
	.object({
		'esi_leap_object.name': z.literal('LeaseCRUDPayload'),
		'esi_leap_object.data': leasePayloadDataSchema,
	})
	.passthrough();

const envelopeSchema = z
	.object({
		'oslo.version': z.literal('2.0'),
		'oslo.message': z.string(),
	})
	.passthrough();

const osloMessageSchema = z
	.object({
		message_id: z.string().min(1),
		publisher_id: nullableString.optional(),
		event_type: z.string().min(1),
		priority: z.string().min(1),
		payload: z.unknown(),
		timestamp: z.string().min(1),
	})
	.passthrough();

/** The inner oslo message; `_context_*` keys are kept only in `raw` (stripped, see below). */
export interface OsloNotification {
	message_id: string;
	publisher_id: string | null;
	event_type: string;
	priority: string;
	timestamp: string;
	payload: unknown;
	/** The inner message without any `_context_*` key (they may carry a Keystone token). */
	raw: Record<string, unknown>;
}

export interface LeaseNotification extends OsloNotification {
	event_type: EsiLeapEventType;
	event: ShortEventType;
	action: EventAction;
	phase: EventPhase;
	priority: 'INFO' | 'ERROR';
	data: LeasePayloadData;
	/**
	 * delete.*: how the lease ended. Only an API DELETE carries a user in its context; the
	 * manager's expiry sends `_context_user: null` (spec §4.2; captures amqp-lease-delete-end vs
	 * amqp-lease-expire-delete-end). Read here, then the context is dropped. Null for fulfill.*.
	 */
	endCause: EndCause | null;
}

/** Why a lease ended: the manager expired it, or someone deleted it through the API. */
export type EndCause = 'expired' | 'deleted';

export type DecodeResult =
	| { kind: 'lease'; notification: LeaseNotification }
	| { kind: 'unsupported'; notification: OsloNotification };

const EVENT_TYPE_PATTERN = new RegExp(
	`^esi_leap\\.lease\\.(${EVENT_ACTIONS.join('|')})\\.(${EVENT_PHASES.join('|')})$`,
);

/** `esi_leap.lease.fulfill.end` → its parts; null for anything else. */
export function parseEventType(
	eventType: string,
): { event: ShortEventType; action: EventAction; phase: EventPhase } | null {
	const match = EVENT_TYPE_PATTERN.exec(eventType);
	if (!match) return null;
	const action = match[1] as EventAction;
	const phase = match[2] as EventPhase;
	return { event: `${action}.${phase}`, action, phase };
}

export function stripContextKeys(message: Record<string, unknown>): Record<string, unknown> {
	const stripped: Record<string, unknown> = {};
	for (const [key, value] of Object.entries(message)) {
		if (!key.startsWith('_context_')) stripped[key] = value;
	}
	return stripped;
}

function fieldOf(error: z.ZodError, prefix: string): string {
	const path = error.issues[0]?.path ?? [];
	return [prefix, ...path.map(String)].filter((part) => part !== '').join('.');
}

function describe(error: z.ZodError, field: string): string {
	// Zod's messages describe types ("Expected string, received number"), never the values.
	return `${field || 'body'}: ${error.issues[0]?.message ?? 'invalid'}`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(body: Uint8Array): string | undefined {
	try {
		return utf8.decode(body);
	} catch {
		return undefined;
	}
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
	try {
		return { ok: true, value: JSON.parse(text) };
	} catch {
		return { ok: false };
	}
}

/**
 * oslo.messaging always sends `application/json`; a body declared as anything else (pickle,
 * msgpack, text) is not ours to parse. A missing content type is tolerated.
 */
export function checkContentType(contentType: string | undefined): void {
	if (contentType === undefined || contentType === '') return;
	const mediaType = contentType.split(';')[0].trim().toLowerCase();
	if (mediaType !== 'application/json') {
		throw new EnvelopeDecodeError(
			'wrong_content_type',
			`The message content type is not application/json (${mediaType.slice(0, 100)})`,
		);
	}
}

/** Decodes one AMQP body. Throws EnvelopeDecodeError for anything that is not a notification. */
export function decodeNotification(body: Uint8Array): DecodeResult {
	const text = decodeUtf8(body);
	if (text === undefined)
		throw new EnvelopeDecodeError('not_utf8', 'The message body is not valid UTF-8');

	const outer = parseJson(text);
	if (!outer.ok) throw new EnvelopeDecodeError('not_json', 'The message body is not JSON');

	const envelope = envelopeSchema.safeParse(outer.value);
	if (!envelope.success) {
		const field = fieldOf(envelope.error, '');
		throw new EnvelopeDecodeError(
			'wrong_envelope',
			`Not an oslo.messaging v2 envelope (${describe(envelope.error, field)})`,
			field || undefined,
		);
	}

	const inner = parseJson(envelope.data['oslo.message']);
	if (!inner.ok) {
		throw new EnvelopeDecodeError('inner_not_json', 'oslo.message is not JSON', 'oslo.message');
	}
	const message = osloMessageSchema.safeParse(inner.value);
	if (!message.success) {
		const field = fieldOf(message.error, '');
		throw new EnvelopeDecodeError(
			'invalid_message',
			`Invalid oslo notification (${describe(message.error, field)})`,
			field,
		);
	}

	const notification: OsloNotification = {
		message_id: message.data.message_id,
		publisher_id: message.data.publisher_id ?? null,
		event_type: message.data.event_type,
		priority: message.data.priority,
		timestamp: message.data.timestamp,
		payload: message.data.payload,
		raw: stripContextKeys(message.data),
	};

	const eventType = parseEventType(notification.event_type);
	if (!eventType) return { kind: 'unsupported', notification };

	if (notification.priority !== 'INFO' && notification.priority !== 'ERROR') {
		throw new EnvelopeDecodeError(
			'invalid_message',
			'Invalid oslo notification (priority: expected INFO or ERROR)',
			'priority',
		);
	}
	const payload = leasePayloadSchema.safeParse(notification.payload);
	if (!payload.success) {
		const field = fieldOf(payload.error, 'payload');
		throw new EnvelopeDecodeError(
			'invalid_payload',
			`Invalid LeaseCRUDPayload (${describe(payload.error, field)})`,
			field,
		);
	}

	return {
		kind: 'lease',
		notification: {
			...notification,
			event_type: notification.event_type as EsiLeapEventType,
			...eventType,
			priority: notification.priority,
			data: payload.data['esi_leap_object.data'],
			endCause:
				eventType.action !== 'delete'
					? null
					: typeof (message.data as Record<string, unknown>)._context_user === 'string'
						? 'deleted'
						: 'expired',
		},
	};
}
