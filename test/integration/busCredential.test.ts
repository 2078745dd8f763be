import type { ICredentialDataDecryptedObject, ICredentialTestFunctions } from 'n8n-workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { esiLeapMessageBusApiTest } from '../../nodes/EsiLeapTrigger/methods/credentialTest';
import { busCredentialData } from '../helpers/busTestBed';
import { startOwnRabbit } from '../helpers/ownRabbit';
import type { OwnRabbit } from '../helpers/ownRabbit';
import { uniqueName } from '../helpers/rabbit';

/**
 * The bus credential test says what is wrong in words (issue 12 item 6) — a vhost that does not
 * exist, a wrong password — on the shared broker, and TLS on a broker node of the test's own with
 * a CA generated for it (verification on by default, custom CA, wrong CA rejected, mutual TLS).
 */

async function runTest(data: ICredentialDataDecryptedObject) {
	return await esiLeapMessageBusApiTest.call({} as ICredentialTestFunctions, {
		id: 'c1',
		name: 'bus',
		type: 'esiLeapMessageBusApi',
		data,
	});
}

describe('bus credential test: what the broker refused (shared broker)', () => {
	it('names a virtual host that does not exist as such', async () => {
		const vhost = uniqueName('no-such-vhost');
		const result = await runTest(busCredentialData({ vhost }));
		expect(result.status).toBe('Error');
		expect(result.message).toContain(
			`RabbitMQ refused virtual host "${vhost}": it does not exist, or this user has no permissions on it`,
		);
		expect(result.message).not.toMatch(/Expected ConnectionOpenOk/);
	});

	it('names a wrong password as a refused login, without the password', async () => {
		const password = 'not-the-password-SECRET';
		const result = await runTest(busCredentialData({ password }));
		expect(result.status).toBe('Error');
		expect(result.message).toContain('RabbitMQ refused the login: wrong user name or password');
		expect(result.message).not.toContain(password);
	});
});

describe('bus credential over TLS (own broker node with a generated CA)', () => {
	let rabbit: OwnRabbit;
	const exchange = uniqueName('openstack.tls');

	beforeAll(async () => {
		rabbit = await startOwnRabbit();
		await rabbit.ctl(
			'eval',
			`rabbit_exchange:declare(rabbit_misc:r(<<"/">>, exchange, <<"${exchange}">>), topic, false, false, false, [], <<"test">>).`,
		);
	}, 120_000);

	afterAll(async () => {
		await rabbit?.remove();
	});

	const tlsCredential = (overrides: ICredentialDataDecryptedObject) =>
		busCredentialData({
			host: 'localhost',
			port: rabbit.tlsPort,
			tls: true,
			testExchange: exchange,
			caCertificate: rabbit.tls.ca,
			clientCertificate: rabbit.tls.clientCert,
			privateKey: rabbit.tls.clientKey,
			...overrides,
		});

	it('verification on (the default) with the custom CA and a client certificate: connects', async () => {
		await expect(runTest(tlsCredential({}))).resolves.toEqual({
			status: 'OK',
			message: `Connected; exchange "${exchange}" exists`,
		});
	});

	it('a CA that did not sign the broker certificate is rejected', async () => {
		const result = await runTest(tlsCredential({ caCertificate: rabbit.tls.otherCa }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(
			/^Could not connect to amqps:\/\/localhost:\d+\/%2F: TLS handshake with the broker failed: /,
		);
		expect(result.message).toMatch(/certificate/i);
	});

	it('without a custom CA the generated CA is not trusted (verification is on by default)', async () => {
		const result = await runTest(tlsCredential({ caCertificate: '' }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/TLS handshake with the broker failed: .*certificate/i);
	});

	it('turning verification off is the only way past an untrusted certificate', async () => {
		const result = await runTest(
			tlsCredential({ caCertificate: rabbit.tls.otherCa, verifyTls: false }),
		);
		expect(result.status).toBe('OK');
	});

	it('mutual TLS: without a client certificate the broker refuses the connection', async () => {
		const result = await runTest(tlsCredential({ clientCertificate: '', privateKey: '' }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(
			/^Could not connect to amqps:.*TLS handshake .*certificate required/,
		);
		expect(result.message).not.toContain(rabbit.tls.clientKey.slice(30, 60));
	});
});
