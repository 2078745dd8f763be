import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * The RabbitMQ that ESI Leap's oslo.messaging publishes notifications to (its `transport_url`).
 * Tested by the trigger's `methods.credentialTest.esiLeapMessageBusApiTest`: a connection plus a
 * passive check of the exchange (an HTTP test request cannot speak AMQP).
 */
export class EsiLeapMessageBusApi implements ICredentialType {
	name = 'esiLeapMessageBusApi';

	displayName = 'ESI Leap Message Bus API';

	icon: Icon = { light: 'file:../icons/esiLeap.svg', dark: 'file:../icons/esiLeap.dark.svg' };

	documentationUrl = 'https://github.com/CCI-MOC/n8n-nodes-esi-leap#message-bus-credential';

	properties: INodeProperties[] = [
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'rabbitmq.example.org',
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 5672,
			description: 'Usually 5672, or 5671 with TLS',
		},
		{
			displayName: 'Virtual Host',
			name: 'vhost',
			type: 'string',
			default: '/',
			description: "The vhost of ESI Leap's transport_url",
		},
		{
			displayName: 'User',
			name: 'username',
			type: 'string',
			default: '',
			required: true,
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
		{
			displayName: 'Heartbeat (Seconds)',
			name: 'heartbeat',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 30,
			description: 'How often to check that the broker is still there (0 turns heartbeats off)',
		},
		{
			displayName: 'Exchange to Check',
			name: 'testExchange',
			type: 'string',
			default: 'openstack',
			description:
				"Exchange the credential test checks passively: ESI Leap's control_exchange (oslo default: openstack)",
		},
		{
			displayName: 'TLS',
			name: 'tls',
			type: 'boolean',
			default: false,
			description: 'Whether to connect with AMQPS',
		},
		{
			displayName: 'Verify Server Certificate',
			name: 'verifyTls',
			type: 'boolean',
			default: true,
			displayOptions: { show: { tls: [true] } },
			description:
				'Whether to check the broker certificate. Turn off only for testing; prefer a custom CA.',
		},
		{
			displayName: 'Custom CA Certificate',
			name: 'caCertificate',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { tls: [true] } },
			placeholder: '-----BEGIN CERTIFICATE----- ...',
			description: 'PEM certificate(s) of the CA that signed the broker certificate',
		},
		{
			displayName: 'Client Certificate',
			name: 'clientCertificate',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { tls: [true] } },
			description: 'PEM client certificate, for brokers that require mutual TLS',
		},
		{
			displayName: 'Client Key',
			name: 'privateKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { tls: [true] } },
			description: 'PEM private key of the client certificate',
		},
		{
			displayName: 'Client Key Passphrase',
			name: 'passphrase',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { tls: [true] } },
		},
	];
}
