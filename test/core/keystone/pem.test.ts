import { describe, expect, it } from 'vitest';

import { normalizePem } from '../../../nodes/core/keystone/pem';

const body = 'A'.repeat(64) + 'B'.repeat(10);
const canonical = `-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n${'B'.repeat(10)}\n-----END CERTIFICATE-----\n`;

describe('normalizePem', () => {
	it('restores line breaks lost in a single-line input', () => {
		expect(normalizePem(`-----BEGIN CERTIFICATE----- ${body} -----END CERTIFICATE-----`)).toBe(
			canonical,
		);
		expect(normalizePem(`-----BEGIN CERTIFICATE-----${body}-----END CERTIFICATE-----`)).toBe(
			canonical,
		);
	});

	it('understands \\n escapes and keeps several certificates', () => {
		const escaped = `-----BEGIN CERTIFICATE-----\\n${body}\\n-----END CERTIFICATE-----`;
		expect(normalizePem(`${escaped}\\n${escaped}`)).toBe(`${canonical}${canonical}`);
	});

	it('keeps canonical PEM unchanged', () => {
		expect(normalizePem(canonical)).toBe(canonical);
	});
});
