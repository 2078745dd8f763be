import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import {
	checkContentType,
	decodeNotification,
	EnvelopeDecodeError,
	parseEventType,
} from '../../../nodes/core/events/envelope';
import { loadAmqpCaptures, loadAmqpRuns, loadCapture } from '../../helpers/fixtures';

const captures = loadAmqpCaptures();

function withoutContext(message: Record<string, unknown>) {
	return Object.fromEntries(
		Object.entries(message).filter(([key]) => !key.startsWith('_context_')),
	);
}

/** Re-encodes a capture's inner message after `change`, the way oslo would have sent it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form edits of a parsed capture
function variant(change: (inner: any) => void, name = 'amqp-lease-fulfill-end'): Buffer {
	const outer = JSON.parse(loadCapture(name).body.toString('utf8'));
	const inner = JSON.parse(outer['oslo.message']);
	change(inner);
	outer['oslo.message'] = JSON.stringify(inner);
	return Buffer.from(JSON.stringify(outer));
}

function decodeError(body: Uint8Array): EnvelopeDecodeError {
	try {
		decodeNotification(body);
	} catch (error) {
		expect(error).toBeInstanceOf(EnvelopeDecodeError);
		return error as EnvelopeDecodeError;
	}
	throw new Error('expected the body to be rejected');
}

describe('decodeNotification on every captured amqp-*.body', () => {
	it('finds the captures (all six event types are represented)', () => {
		expect(captures.length).toBeGreaterThanOrEqual(18);
		const types = new Set(captures.map((capture) => capture.decoded['oslo.message'].event_type));
		expect([...types].sort()).toEqual([
			'esi_leap.lease.delete.end',
			'esi_leap.lease.delete.error',
			'esi_leap.lease.delete.start',
			'esi_leap.lease.fulfill.end',
			'esi_leap.lease.fulfill.error',
			'esi_leap.lease.fulfill.start',
		]);
	});

	it.each(captures.map((capture) => [capture.name, capture] as const))('%s', (_name, capture) => {
		const expected = capture.decoded['oslo.message'];
		const result = decodeNotification(capture.body);
		expect(result.kind).toBe('lease');
		if (result.kind !== 'lease') return;
		const notification = result.notification;
		expect(notification.event_type).toBe(expected.event_type);
		expect(`esi_leap.lease.${notification.event}`).toBe(expected.event_type);
		expect(notification.priority).toBe(expected.priority);
		expect(notification.message_id).toBe(expected.message_id);
		expect(notification.timestamp).toBe(expected.timestamp);
		expect(notification.data).toEqual(expected.payload['esi_leap_object.data']);
		expect(notification.raw).toEqual(withoutContext(expected));
		expect(Object.keys(notification.raw).some((key) => key.startsWith('_context_'))).toBe(false);
		// ERROR notifications travel on the `.error` routing key, the others on `.info`.
		expect(capture.amqp.routing_key.endsWith(`.${expected.priority.toLowerCase()}`)).toBe(true);
	});
});

describe('decodeNotification on every message of the full capture runs', () => {
	for (const run of loadAmqpRuns()) {
		it(`${run.file}: ${run.records.length} messages decode to their recorded event type`, () => {
			expect(run.records.length).toBeGreaterThan(0);
			for (const record of run.records) {
				expect(createHash('sha256').update(record.body).digest('hex')).toBe(record.body_sha256);
				const result = decodeNotification(record.body);
				expect(result.kind).toBe('lease');
				expect(result.notification.event_type).toBe(record.event_type);
			}
		});
	}
});

describe('decodeNotification rejects malformed bodies, naming the field', () => {
	it('non-UTF-8 bytes', () => {
		const body = Buffer.concat([
			loadCapture('amqp-lease-fulfill-end').body.subarray(0, 20),
			Buffer.from([0xff, 0xfe]),
		]);
		expect(decodeError(body).reason).toBe('not_utf8');
	});

	it('not JSON', () => {
		expect(decodeError(Buffer.from('hello')).reason).toBe('not_json');
	});

	it('a JSON body that is not the oslo v2 envelope', () => {
		expect(decodeError(Buffer.from('{"event_type": "x"}')).field).toBe('oslo.version');
		expect(decodeError(Buffer.from('{"oslo.version": "1.0", "oslo.message": "{}"}')).field).toBe(
			'oslo.version',
		);
		const objectInsteadOfString = decodeError(
			Buffer.from('{"oslo.version": "2.0", "oslo.message": {}}'),
		);
		expect(objectInsteadOfString.reason).toBe('wrong_envelope');
		expect(objectInsteadOfString.field).toBe('oslo.message');
		expect(decodeError(Buffer.from('[1, 2]')).reason).toBe('wrong_envelope');
	});

	it('an inner message that is not JSON', () => {
		const error = decodeError(
			Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': '{oops' })),
		);
		expect(error.reason).toBe('inner_not_json');
	});

	it('missing or wrongly typed envelope fields', () => {
		expect(decodeError(variant((inner) => delete inner.message_id)).field).toBe('message_id');
		expect(decodeError(variant((inner) => (inner.timestamp = 17))).field).toBe('timestamp');
		expect(decodeError(variant((inner) => (inner.priority = 'info'))).field).toBe('priority');
	});

	it('missing or wrongly typed payload fields', () => {
		const missingUuid = decodeError(
			variant((inner) => delete inner.payload['esi_leap_object.data'].uuid),
		);
		expect(missingUuid.reason).toBe('invalid_payload');
		expect(missingUuid.field).toBe('payload.esi_leap_object.data.uuid');
		const stringId = decodeError(
			variant((inner) => (inner.payload['esi_leap_object.data'].id = '5')),
		);
		expect(stringId.field).toBe('payload.esi_leap_object.data.id');
		const otherObject = decodeError(
			variant((inner) => (inner.payload['esi_leap_object.name'] = 'OfferCRUDPayload')),
		);
		expect(otherObject.field).toBe('payload.esi_leap_object.name');
	});

	it('says what is wrong in the reason and the message that go into the dead letter', () => {
		const said = (body: Uint8Array) => {
			const error = decodeError(body);
			return [error.name, error.reason, error.message, error.field];
		};
		const capture = loadCapture('amqp-lease-fulfill-end').body;
		expect(said(Buffer.concat([capture.subarray(0, 20), Buffer.from([0xff])]))).toEqual([
			'EnvelopeDecodeError',
			'not_utf8',
			'The message body is not valid UTF-8',
			undefined,
		]);
		expect(said(Buffer.from('hello'))).toEqual([
			'EnvelopeDecodeError',
			'not_json',
			'The message body is not JSON',
			undefined,
		]);
		expect(said(Buffer.from('{"oslo.version": "2.0", "oslo.message": {}}'))).toEqual([
			'EnvelopeDecodeError',
			'wrong_envelope',
			// Zod's text after the field: a type, never a value.
			expect.stringMatching(/^Not an oslo\.messaging v2 envelope \(oslo\.message: .+\)$/),
			'oslo.message',
		]);
		expect(said(Buffer.from('[1, 2]'))[2]).toMatch(/^Not an oslo\.messaging v2 envelope \(body: /);
		expect(
			said(Buffer.from(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': '{oops' }))),
		).toEqual([
			'EnvelopeDecodeError',
			'inner_not_json',
			'oslo.message is not JSON',
			'oslo.message',
		]);
		expect(said(variant((inner) => (inner.timestamp = 17)))).toEqual([
			'EnvelopeDecodeError',
			'invalid_message',
			expect.stringMatching(/^Invalid oslo notification \(timestamp: .+\)$/),
			'timestamp',
		]);
		expect(said(variant((inner) => (inner.priority = 'info')))).toEqual([
			'EnvelopeDecodeError',
			'invalid_message',
			'Invalid oslo notification (priority: expected INFO or ERROR)',
			'priority',
		]);
	});

	it('reads the media type of a content type with parameters, in any case', () => {
		expect(() => checkContentType('Application/JSON; charset=utf-8')).not.toThrow();
		expect(() => checkContentType(' application/json')).not.toThrow();
		expect(() => checkContentType('')).not.toThrow();
		expect(() => checkContentType(undefined)).not.toThrow();
		const wrong = (() => {
			try {
				checkContentType('text/plain; charset=utf-8');
			} catch (error) {
				return error as EnvelopeDecodeError;
			}
			return undefined;
		})();
		expect(wrong?.reason).toBe('wrong_content_type');
		expect(wrong?.message).toBe('The message content type is not application/json (text/plain)');
		expect(() => checkContentType(`${'x'.repeat(300)}`)).toThrow(
			`The message content type is not application/json (${'x'.repeat(100)})`,
		);
	});

	it('never puts a value from the body into the error message', () => {
		const secret = 'gAAAAAB-keystone-token-SECRET';
		const error = decodeError(
			variant((inner) => {
				inner._context_auth_token = secret;
				inner.payload['esi_leap_object.data'].uuid = { token: secret };
			}),
		);
		expect(error.message).not.toContain(secret);
		expect(error.message).toContain('payload.esi_leap_object.data.uuid');
	});
});

describe('decodeNotification tolerance', () => {
	it('reports a well-formed notification of another event type as unsupported', () => {
		const result = decodeNotification(
			variant((inner) => (inner.event_type = 'esi_leap.offer.create.end')),
		);
		expect(result.kind).toBe('unsupported');
		expect(result.notification.event_type).toBe('esi_leap.offer.create.end');
	});

	it('accepts extra fields anywhere', () => {
		const result = decodeNotification(
			variant((inner) => {
				inner.new_envelope_key = 1;
				inner.payload['esi_leap_object.data'].new_lease_field = 'x';
			}),
		);
		expect(result.kind).toBe('lease');
	});
});

describe('parseEventType', () => {
	it('splits the six lease event types and rejects anything else', () => {
		expect(parseEventType('esi_leap.lease.delete.error')).toEqual({
			event: 'delete.error',
			action: 'delete',
			phase: 'error',
		});
		expect(parseEventType('esi_leap.lease.expire.end')).toBeNull();
		expect(parseEventType('esi_leap.lease.fulfill.end.x')).toBeNull();
	});
});

describe('checkContentType', () => {
	it('accepts what oslo sends, and a missing content type', () => {
		expect(() => checkContentType('application/json')).not.toThrow();
		expect(() => checkContentType('Application/JSON; charset=utf-8')).not.toThrow();
		expect(() => checkContentType(undefined)).not.toThrow();
	});

	it('rejects any other declared type', () => {
		for (const type of ['application/x-python-serialize', 'text/plain', 'application/msgpack']) {
			expect(() => checkContentType(type)).toThrow(
				expect.objectContaining({ reason: 'wrong_content_type' }),
			);
		}
	});
});
