import type { ICredentialDataDecryptedObject, ICredentialTestFunctions } from 'n8n-workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { brokerSettingsFromCredentials } from '../../../nodes/EsiLeapTrigger/brokerSettings';
import { esiLeapMessageBusApiTest } from '../../../nodes/EsiLeapTrigger/methods/credentialTest';
import { busCredentialData } from '../../helpers/busTestBed';
import { cleanup, declareOsloExchange, openTestBroker, uniqueName } from '../../helpers/rabbit';

const testFunctions = {} as ICredentialTestFunctions;

async function runTest(data: ICredentialDataDecryptedObject) {
	return await esiLeapMessageBusApiTest.call(testFunctions, {
		id: 'c1',
		name: 'bus',
		type: 'esiLeapMessageBusApi',
		data,
	});
}

describe('esiLeapMessageBusApiTest on the real broker', () => {
	const exchange = uniqueName('openstack.credtest');
	let broker: Awaited<ReturnType<typeof openTestBroker>>;

	beforeAll(async () => {
		broker = await openTestBroker();
		await declareOsloExchange(broker.channel, exchange);
	});

	afterAll(async () => {
		// undefined when RabbitMQ was unreachable: beforeAll already said how to start it
		if (broker === undefined) return;
		await cleanup(broker.connection, { exchanges: [exchange] });
	});

	it('connects and finds the exchange', async () => {
		await expect(runTest(busCredentialData({ testExchange: exchange }))).resolves.toEqual({
			status: 'OK',
			message: `Connected; exchange "${exchange}" exists`,
		});
	});

	it('reports a missing exchange without declaring it', async () => {
		const missing = uniqueName('openstack.none');
		const result = await runTest(busCredentialData({ testExchange: missing }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(
			new RegExp(`exchange "${missing.replace(/\./g, '\\.')}" was not found`),
		);
		const probe = await broker.connection.createChannel();
		probe.on('error', () => undefined);
		await expect(probe.checkExchange(missing)).rejects.toThrow(/NOT_FOUND/);
	});

	it('reports a refused login without echoing the password', async () => {
		const password = 'wrong-password-SECRET';
		const result = await runTest(busCredentialData({ testExchange: exchange, password }));
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/Could not connect to amqp:\/\/.*ACCESS_REFUSED|403/);
		expect(result.message).not.toContain(password);
	});
});

describe('brokerSettingsFromCredentials', () => {
	it('plain AMQP with the vhost default', () => {
		const settings = brokerSettingsFromCredentials({
			host: ' rabbit ',
			port: 5672,
			username: 'u',
			password: 'p',
		});
		expect(settings).toMatchObject({
			host: 'rabbit',
			port: 5672,
			vhost: '/',
			heartbeatSeconds: 30,
		});
		expect(settings.tls).toBeUndefined();
	});

	it('TLS verifies the server by default and normalizes pasted PEM', () => {
		const pem = '-----BEGIN CERTIFICATE----- QUJD REVG -----END CERTIFICATE-----';
		const settings = brokerSettingsFromCredentials({
			host: 'h',
			tls: true,
			caCertificate: pem,
			port: 5671,
		});
		expect(settings.tls?.rejectUnauthorized).toBe(true);
		expect(settings.tls?.ca).toBe(
			'-----BEGIN CERTIFICATE-----\nQUJDREVG\n-----END CERTIFICATE-----\n',
		);
		expect(settings.tls?.cert).toBeUndefined();
		expect(
			brokerSettingsFromCredentials({ host: 'h', tls: true, verifyTls: false }).tls
				?.rejectUnauthorized,
		).toBe(false);
	});
});
