import { describe, expect, it } from 'vitest';

import {
	checkContentType,
	decodeNotification,
	EnvelopeDecodeError,
} from '../../nodes/core/events/envelope';
import { loadAmqpCaptures } from '../helpers/fixtures';
import { generateBadMessages } from './badMessages';

/** The corpus itself: big enough, covering every kind, and each entry bad for the stated reason. */

const captures = loadAmqpCaptures();
const corpus = generateBadMessages(captures, { hugeBytes: 256 * 1024 });

function failureOf(contentType: string, body: Buffer): string {
	try {
		checkContentType(contentType);
		decodeNotification(body);
		return 'decoded';
	} catch (error) {
		return error instanceof EnvelopeDecodeError ? error.reason : `crash: ${String(error)}`;
	}
}

describe('bad-message corpus', () => {
	it('has at least 1 000 messages of every kind the issue lists, with unique ids', () => {
		expect(corpus.length).toBeGreaterThanOrEqual(1000);
		expect(new Set(corpus.map((message) => message.kind))).toEqual(
			new Set([
				'truncated',
				'envelopeVersion',
				'innerNotString',
				'innerNotJson',
				'missingField',
				'mistypedField',
				'huge',
				'invalidUtf8',
				'contentType',
			]),
		);
		expect(new Set(corpus.map((message) => message.id)).size).toBe(corpus.length);
		expect(corpus.filter((message) => message.body.length >= 256 * 1024).length).toBeGreaterThan(0);
	});

	it('every entry fails to decode for the reason it states (never crashes, never decodes)', () => {
		const wrong = corpus
			.map((message) => ({ message, got: failureOf(message.contentType, message.body) }))
			.filter(({ message, got }) => got !== message.expectedReason)
			.map(
				({ message, got }) =>
					`${message.description}: expected ${message.expectedReason}, got ${got}`,
			);
		expect(wrong).toEqual([]);
	});

	it('leaves the captured bodies untouched', () => {
		const fresh = loadAmqpCaptures();
		expect(
			captures.map((capture) => capture.body.equals(fresh[captures.indexOf(capture)].body)),
		).not.toContain(false);
	});
});
