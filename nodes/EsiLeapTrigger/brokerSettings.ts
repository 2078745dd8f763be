import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import type { BrokerSettings } from '../core/bus/amqp';
import { normalizePem } from '../core/keystone/pem';

function text(credentials: ICredentialDataDecryptedObject, name: string): string {
	const value = credentials[name];
	return typeof value === 'string' ? value.trim() : '';
}

function pem(credentials: ICredentialDataDecryptedObject, name: string): string | undefined {
	const value = text(credentials, name);
	return value ? normalizePem(value) : undefined;
}

/** The ESI Leap Message Bus credential → connection settings (TLS verification on by default). */
export function brokerSettingsFromCredentials(
	credentials: ICredentialDataDecryptedObject,
): BrokerSettings {
	const tls = credentials.tls === true;
	return {
		host: text(credentials, 'host'),
		port: Number(credentials.port ?? (tls ? 5671 : 5672)),
		vhost: text(credentials, 'vhost') || '/',
		username: text(credentials, 'username'),
		password: typeof credentials.password === 'string' ? credentials.password : '',
		heartbeatSeconds: Number(credentials.heartbeat ?? 30),
		tls: tls
			? {
					rejectUnauthorized: credentials.verifyTls !== false,
					ca: pem(credentials, 'caCertificate'),
					cert: pem(credentials, 'clientCertificate'),
					key: pem(credentials, 'privateKey'),
					passphrase: text(credentials, 'passphrase') || undefined,
				}
			: undefined,
	};
}
