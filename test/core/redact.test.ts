import { describe, expect, it } from 'vitest';

import { redact } from '../../nodes/core/redact';

describe('redact', () => {
	it('masks the given secret values wherever they appear', () => {
		expect(redact('login as bob with hunter2-long failed', ['hunter2-long'])).toBe(
			'login as bob with *** failed',
		);
	});

	it('masks Keystone fernet tokens and token headers', () => {
		const fernet = `gAAAAA${'x'.repeat(40)}`;
		expect(redact(`token ${fernet} expired`)).toBe('token *** expired');
		expect(redact('X-Auth-Token: 0123456789abcdef')).toBe('X-Auth-Token: ***');
		expect(redact('{"x-subject-token":"abc123"}')).toBe('{"x-subject-token":"***"}');
	});

	it('masks password/secret fields but leaves nulls and ordinary text', () => {
		expect(redact('{"password": "p4ss", "user": "bob"}')).toBe(
			'{"password": "***", "user": "bob"}',
		);
		expect(redact('"_context_auth_token": null')).toBe('"_context_auth_token": null');
		expect(redact('Lease with name or uuid x not found.')).toBe(
			'Lease with name or uuid x not found.',
		);
	});
});
