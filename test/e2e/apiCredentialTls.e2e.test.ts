/**
 * Issue 17, item 7: the ESI Leap API credential over HTTPS in a real n8n. The emulator serves
 * Keystone and ESI Leap with a server certificate from a CA made by `openssl` in this test
 * (test/helpers/testCa.ts). n8n's Test button runs the whole path the nodes use: the Keystone
 * login (preAuthentication, helpers.httpRequest) and GET /v1/events at the catalog's https
 * endpoint (httpRequestWithAuthentication with the credential's `authenticate`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator';
import { makeTlsMaterial, type TlsMaterial } from '../helpers/testCa';
import { apiCredentialData } from './demo/workflows';
import { startN8n, type N8nInstance } from './harness';

describe('ESI Leap API credential over TLS in a real n8n', () => {
	let folder: string;
	let tls: TlsMaterial;
	let emulator: Emulator;
	let n8n: N8nInstance;

	beforeAll(async () => {
		folder = await mkdtemp(join(tmpdir(), 'esi-leap-e2e-tls-'));
		tls = await makeTlsMaterial(folder);
		emulator = await startEmulator({
			tickIntervalMs: 0,
			tls: { cert: tls.serverCert, key: tls.serverKey },
		});
		n8n = await startN8n({ name: 'esi-leap-tls' });
	});

	afterAll(async () => {
		await n8n?.stop();
		await emulator?.stop();
		if (folder) await rm(folder, { recursive: true, force: true });
	});

	const test = async (name: string, extra: Record<string, unknown>) => {
		const credential = await n8n.createCredential({
			name,
			type: 'esiLeapApi',
			data: { ...apiCredentialData(emulator, emulator.users.lessee), ...extra },
		});
		return await n8n.testCredential(credential.id);
	};

	it('serves Keystone and ESI Leap over https', () => {
		expect(emulator.keystoneUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v3$/);
		expect(emulator.leaseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
	});

	it('verifies by default: a certificate from an unknown CA fails the login, saying so', async () => {
		const before = emulator.control.keystoneLog.length;
		expect(await test('TLS: no CA', {})).toEqual({
			status: 'Error',
			message: `Cannot reach Keystone at ${emulator.keystoneUrl}/auth/tokens: the server's TLS certificate is not trusted (unable to verify the first certificate): set Custom CA Certificate to the certificate of the CA that signed it`,
		});
		// Refused in the handshake: Keystone never saw a request.
		expect(emulator.control.keystoneLog.length).toBe(before);
	});

	it('accepts the CA in Custom CA Certificate, also pasted on one line', async () => {
		const before = emulator.control.requestLog.length;
		expect(await test('TLS: our CA', { caCertificate: tls.ca })).toMatchObject({ status: 'OK' });
		expect(
			await test('TLS: our CA on one line', { caCertificate: tls.ca.replace(/\n/g, ' ') }),
		).toMatchObject({ status: 'OK' });
		// Both logins reached Keystone and both event queries ESI Leap, over https.
		expect(emulator.control.requestLog.slice(before)).toEqual([
			expect.objectContaining({ method: 'GET', path: expect.stringMatching(/^\/v1\/events/) }),
			expect.objectContaining({ method: 'GET', path: expect.stringMatching(/^\/v1\/events/) }),
		]);
	});

	it('rejects a wrong CA with the same clear error', async () => {
		expect(await test('TLS: another CA', { caCertificate: tls.otherCa })).toEqual({
			status: 'Error',
			message: `Cannot reach Keystone at ${emulator.keystoneUrl}/auth/tokens: the server's TLS certificate is not trusted (unable to verify the first certificate): set Custom CA Certificate to the certificate of the CA that signed it`,
		});
	});

	it('Allow Self-Signed Certificates turns verification off', async () => {
		expect(await test('TLS: verification off', { allowSelfSigned: true })).toMatchObject({
			status: 'OK',
		});
	});
});
