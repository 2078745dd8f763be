import type { DecodeFailureReason } from '../../nodes/core/events/envelope';
import type { AmqpCapture } from '../helpers/fixtures';

/**
 * A corpus of bad bus messages derived in code from the captured bodies (the captures themselves
 * are never edited). Each entry says which decode failure it must produce, so a test can check
 * that the consumer dead-letters it for the right reason, not just that it went somewhere.
 */

export type BadKind =
	| 'truncated'
	| 'envelopeVersion'
	| 'innerNotString'
	| 'innerNotJson'
	| 'missingField'
	| 'mistypedField'
	| 'huge'
	| 'invalidUtf8'
	| 'contentType';

export interface BadMessage {
	/** Unique within the corpus; tests carry it in a header to find the message again. */
	id: string;
	kind: BadKind;
	/** What was done to which capture, for failure messages. */
	description: string;
	body: Buffer;
	contentType: string;
	expectedReason: DecodeFailureReason;
}

const JSON_TYPE = 'application/json';

/** The 21 fields of LeaseCRUDPayload v1.0 `esi_leap_object.data`, with a value of the wrong type. */
const PAYLOAD_FIELD_MISTYPES: Record<string, unknown> = {
	id: 'not-a-number',
	name: 42,
	uuid: 42,
	project_id: 42,
	owner_id: ['x'],
	purpose: 42,
	resource_type: 42,
	resource_uuid: { uuid: 'x' },
	start_time: 1_700_000_000,
	end_time: 1_700_000_000,
	fulfill_time: true,
	expire_time: true,
	status: 42,
	properties: 'not-an-object',
	offer_uuid: 42,
	parent_lease_uuid: 42,
	node_name: 42,
	node_uuid: 42,
	node_provision_state: 42,
	node_power_state: 42,
	node_properties: 'not-an-object',
};

/** Oslo-level fields the decoder requires, with a wrong value each. */
const OSLO_FIELD_MISTYPES: Array<[string, unknown]> = [
	['message_id', 123],
	['message_id', ''],
	['event_type', ['esi_leap.lease.fulfill.end']],
	['priority', 1],
	['priority', 'WARN'],
	['timestamp', null],
];

const REQUIRED_OSLO_FIELDS = ['message_id', 'event_type', 'priority', 'timestamp'];

/** Byte sequences no UTF-8 decoder may accept. */
const INVALID_UTF8: Array<[string, number[]]> = [
	['lone 0xff', [0xff]],
	['bad continuation', [0xc3, 0x28]],
	['cut 3-byte sequence', [0xe2, 0x82]],
	['UTF-16 surrogate', [0xed, 0xa0, 0x80]],
	['overlong slash', [0xc0, 0xaf]],
	['5-byte form', [0xf8, 0x88, 0x80, 0x80, 0x80]],
];

const WRONG_CONTENT_TYPES = [
	'application/x-python-serialize',
	'text/plain',
	'application/msgpack',
	'application/octet-stream',
];

const ENVELOPE_VERSIONS: Array<[string, unknown]> = [
	['1.0', '1.0'],
	['2.1', '2.1'],
	['empty', ''],
	['number 2', 2],
	['null', null],
];

const INNER_NOT_STRING: Array<[string, (inner: Record<string, unknown>) => unknown]> = [
	['object', (inner) => inner],
	['array', (inner) => [inner]],
	['number', () => 2],
	['null', () => null],
	['boolean', () => true],
];

type Json = Record<string, unknown>;

function parseCapture(capture: AmqpCapture): { envelope: Json; inner: Json } {
	const envelope = JSON.parse(capture.body.toString('utf8')) as Json;
	const inner = JSON.parse(envelope['oslo.message'] as string) as Json;
	return { envelope, inner };
}

function encode(envelope: Json, inner: Json): Buffer {
	return Buffer.from(JSON.stringify({ ...envelope, 'oslo.message': JSON.stringify(inner) }));
}

function payloadData(inner: Json): Json {
	return (inner.payload as Json)['esi_leap_object.data'] as Json;
}

/** A deep copy with one change applied. */
function edited(inner: Json, change: (copy: Json) => void): Json {
	const copy = structuredClone(inner);
	change(copy);
	return copy;
}

export interface CorpusOptions {
	/** Size of each huge body (default 1 MiB). */
	hugeBytes?: number;
}

/**
 * Builds the corpus from `sources` (lease notification captures). With the 18 captures of
 * test/fixtures/esi-leap-real this gives about 1 700 messages, a dozen of them `hugeBytes` large.
 */
export function generateBadMessages(
	sources: AmqpCapture[],
	options: CorpusOptions = {},
): BadMessage[] {
	const hugeBytes = options.hugeBytes ?? 1024 * 1024;
	const corpus: BadMessage[] = [];
	const add = (
		kind: BadKind,
		source: AmqpCapture,
		detail: string,
		body: Buffer,
		expectedReason: DecodeFailureReason,
		contentType = JSON_TYPE,
	) => {
		corpus.push({
			id: `bad-${corpus.length}`,
			kind,
			description: `${source.name}: ${detail}`,
			body,
			contentType,
			expectedReason,
		});
	};

	for (const [index, source] of sources.entries()) {
		const { envelope, inner } = parseCapture(source);
		const body = source.body;

		// Truncated: a strict prefix of a JSON object is never JSON.
		for (let cut = 1; cut <= 8; cut++) {
			const length = Math.max(1, Math.floor((body.length * cut) / 9));
			add('truncated', source, `first ${length} bytes`, body.subarray(0, length), 'not_json');
		}

		for (const [label, version] of ENVELOPE_VERSIONS) {
			add(
				'envelopeVersion',
				source,
				`oslo.version ${label}`,
				Buffer.from(JSON.stringify({ ...envelope, 'oslo.version': version })),
				'wrong_envelope',
			);
		}
		const withoutVersion = { ...envelope };
		delete withoutVersion['oslo.version'];
		add(
			'envelopeVersion',
			source,
			'no oslo.version',
			Buffer.from(JSON.stringify(withoutVersion)),
			'wrong_envelope',
		);
		const withoutMessage = { ...envelope };
		delete withoutMessage['oslo.message'];
		add(
			'missingField',
			source,
			'no oslo.message',
			Buffer.from(JSON.stringify(withoutMessage)),
			'wrong_envelope',
		);

		for (const [label, replace] of INNER_NOT_STRING) {
			add(
				'innerNotString',
				source,
				`oslo.message is ${label}`,
				Buffer.from(JSON.stringify({ ...envelope, 'oslo.message': replace(inner) })),
				'wrong_envelope',
			);
		}

		const innerText = envelope['oslo.message'] as string;
		for (const fraction of [0.25, 0.5, 0.9]) {
			const cutInner = innerText.slice(0, Math.floor(innerText.length * fraction));
			add(
				'innerNotJson',
				source,
				`oslo.message cut to ${cutInner.length} characters`,
				Buffer.from(JSON.stringify({ ...envelope, 'oslo.message': cutInner })),
				'inner_not_json',
			);
		}

		for (const field of REQUIRED_OSLO_FIELDS) {
			add(
				'missingField',
				source,
				`no ${field}`,
				encode(
					envelope,
					edited(inner, (copy) => delete copy[field]),
				),
				'invalid_message',
			);
		}
		add(
			'missingField',
			source,
			'no payload',
			encode(
				envelope,
				edited(inner, (copy) => delete copy.payload),
			),
			'invalid_payload',
		);
		for (const [field, value] of OSLO_FIELD_MISTYPES) {
			add(
				'mistypedField',
				source,
				`${field} = ${JSON.stringify(value)}`,
				encode(
					envelope,
					edited(inner, (copy) => (copy[field] = value)),
				),
				'invalid_message',
			);
		}
		add(
			'mistypedField',
			source,
			'payload object name Other',
			encode(
				envelope,
				edited(inner, (copy) => ((copy.payload as Json)['esi_leap_object.name'] = 'Other')),
			),
			'invalid_payload',
		);
		add(
			'mistypedField',
			source,
			'payload data is a string',
			encode(
				envelope,
				edited(inner, (copy) => ((copy.payload as Json)['esi_leap_object.data'] = 'x')),
			),
			'invalid_payload',
		);
		for (const [field, wrong] of Object.entries(PAYLOAD_FIELD_MISTYPES)) {
			add(
				'missingField',
				source,
				`no payload data ${field}`,
				encode(
					envelope,
					edited(inner, (copy) => delete payloadData(copy)[field]),
				),
				'invalid_payload',
			);
			add(
				'mistypedField',
				source,
				`payload data ${field} = ${JSON.stringify(wrong)}`,
				encode(
					envelope,
					edited(inner, (copy) => (payloadData(copy)[field] = wrong)),
				),
				'invalid_payload',
			);
		}

		// Invalid UTF-8 in the middle of the inner message.
		const middle = Math.floor(body.length / 2);
		for (const [label, bytes] of INVALID_UTF8) {
			add(
				'invalidUtf8',
				source,
				`${label} at byte ${middle}`,
				Buffer.concat([body.subarray(0, middle), Buffer.from(bytes), body.subarray(middle)]),
				'not_utf8',
			);
		}

		// A perfectly good body declared as something oslo never sends.
		for (const contentType of WRONG_CONTENT_TYPES) {
			add(
				'contentType',
				source,
				`content type ${contentType}`,
				body,
				'wrong_content_type',
				contentType,
			);
		}

		// Huge bodies, from the first few captures only (they are `hugeBytes` each).
		if (index < 3) {
			add('huge', source, `${hugeBytes} bytes of filler`, Buffer.alloc(hugeBytes, 'x'), 'not_json');
			const padded = encode(
				envelope,
				edited(inner, (copy) => (payloadData(copy).properties = 'p'.repeat(hugeBytes))),
			);
			add(
				'huge',
				source,
				`properties mistyped as a ${hugeBytes}-character string`,
				padded,
				'invalid_payload',
			);
			add(
				'huge',
				source,
				`${hugeBytes}-byte body cut before its end`,
				padded.subarray(0, padded.length - 10),
				'not_json',
			);
			add(
				'huge',
				source,
				`oslo.message of ${hugeBytes} non-JSON characters`,
				Buffer.from(JSON.stringify({ ...envelope, 'oslo.message': 'z'.repeat(hugeBytes) })),
				'inner_not_json',
			);
		}
	}
	return corpus;
}
