import type {
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IDataObject,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INodeProperties,
	Icon,
} from 'n8n-workflow';

import { requestToken, type KeystoneAuth } from '../nodes/core/keystone/auth';
import { resolveLeaseEndpoint, type EndpointInterface } from '../nodes/core/keystone/catalog';
import { normalizePem } from '../nodes/core/keystone/pem';
import { redact } from '../nodes/core/redact';
import { CredentialLoginError } from '../nodes/shared/errors';
import { DEFAULT_TIMEOUT_SECONDS, requestTimeoutMs } from '../nodes/shared/timeout';
import { transportOverHttpRequest } from '../nodes/shared/transport';

/**
 * OpenStack Keystone v3 login for ESI Leap. n8n calls preAuthentication when the hidden,
 * expirable `token` is empty, after a 401, and on every credential test; it stores the returned
 * `token` and `leaseEndpoint`. `authenticate` is a function (not the generic form) because the
 * ESI Leap base URL comes from the catalog and must be applied after the exchange.
 */
export class EsiLeapApi implements ICredentialType {
	name = 'esiLeapApi';

	displayName = 'ESI Leap API';

	icon: Icon = { light: 'file:../icons/esiLeap.svg', dark: 'file:../icons/esiLeap.dark.svg' };

	documentationUrl = 'https://github.com/CCI-MOC/n8n-nodes-esi-leap#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Keystone Auth URL',
			name: 'authUrl',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://keystone.example.org:5000/v3',
			description: 'The identity endpoint (OS_AUTH_URL), with or without /v3',
		},
		{
			displayName: 'Authentication Type',
			name: 'authType',
			type: 'options',
			options: [
				{ name: 'Password', value: 'password' },
				{ name: 'Application Credential', value: 'applicationCredential' },
			],
			default: 'password',
		},
		{
			displayName: 'Username',
			name: 'username',
			type: 'string',
			default: '',
			displayOptions: { show: { authType: ['password'] } },
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authType: ['password'] } },
		},
		{
			displayName: 'User Domain Name',
			name: 'userDomainName',
			type: 'string',
			default: 'Default',
			displayOptions: { show: { authType: ['password'] } },
		},
		{
			displayName: 'Project Name',
			name: 'projectName',
			type: 'string',
			default: '',
			description:
				'The project to scope the token to (OS_PROJECT_NAME). Ignored when Project ID is set.',
			displayOptions: { show: { authType: ['password'] } },
		},
		{
			displayName: 'Project ID',
			name: 'projectId',
			type: 'string',
			default: '',
			description: 'Alternative to Project Name (OS_PROJECT_ID)',
			displayOptions: { show: { authType: ['password'] } },
		},
		{
			displayName: 'Project Domain Name',
			name: 'projectDomainName',
			type: 'string',
			default: 'Default',
			description: 'Needed with Project Name',
			displayOptions: { show: { authType: ['password'] } },
		},
		{
			displayName: 'Application Credential ID',
			name: 'applicationCredentialId',
			type: 'string',
			default: '',
			displayOptions: { show: { authType: ['applicationCredential'] } },
		},
		{
			displayName: 'Application Credential Secret',
			name: 'applicationCredentialSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authType: ['applicationCredential'] } },
		},
		{
			displayName: 'Region',
			name: 'region',
			type: 'string',
			default: '',
			placeholder: 'RegionOne',
			description: 'Catalog region of ESI Leap. Leave empty if the catalog has only one.',
		},
		{
			displayName: 'Interface',
			name: 'interface',
			type: 'options',
			options: [
				{ name: 'Public', value: 'public' },
				{ name: 'Internal', value: 'internal' },
				{ name: 'Admin', value: 'admin' },
			],
			default: 'public',
			description: 'Which catalog endpoint of ESI Leap (service type "lease") to use',
		},
		{
			displayName: 'ESI Leap Endpoint Override',
			name: 'endpointOverride',
			type: 'string',
			default: '',
			placeholder: 'https://esi-leap.example.org:7777',
			description:
				'ESI Leap root URL to use instead of the catalog entry (without /v1). Keystone is still used to log in.',
		},
		{
			displayName: 'Custom CA Certificate',
			name: 'caCertificate',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: '-----BEGIN CERTIFICATE----- ...',
			description:
				'PEM certificate(s) of the private certificate authority that signed the Keystone and ESI Leap certificates. Line breaks may be lost when pasting; that is fine.',
		},
		{
			displayName: 'Allow Self-Signed Certificates',
			name: 'allowSelfSigned',
			type: 'boolean',
			default: false,
			description:
				'Whether to skip TLS certificate verification. Insecure: prefer Custom CA Certificate.',
		},
		{
			displayName: 'Timeout (Seconds)',
			name: 'timeoutSeconds',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: DEFAULT_TIMEOUT_SECONDS,
			description:
				'How long to wait for the Keystone login and for each ESI Leap answer before giving up with an error (deletes wait at least 120 s: ESI Leap can block on its message bus while deleting)',
		},
		{
			displayName: 'Token',
			name: 'token',
			type: 'hidden',
			typeOptions: { expirable: true, password: true },
			default: '',
		},
		{
			displayName: 'ESI Leap Endpoint',
			name: 'leaseEndpoint',
			type: 'hidden',
			default: '',
		},
	];

	/**
	 * Failures leave as CredentialLoginError so that n8n shows our text (Keystone's message, the
	 * URL) in the credential test and the node can take the typed error back out.
	 */
	async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject) {
		const send = async (options: IHttpRequestOptions) => await this.helpers.httpRequest(options);
		try {
			const transport = transportOverHttpRequest(send, tlsRequestOptions(credentials));
			const token = await requestToken(
				transport,
				String(credentials.authUrl ?? ''),
				keystoneAuth(credentials),
				{ timeoutMs: requestTimeoutMs(credentials) },
			);
			const leaseEndpoint = resolveLeaseEndpoint(
				token.catalog,
				{
					interface: (credentials.interface as EndpointInterface | undefined) ?? 'public',
					region: stringField(credentials, 'region'),
				},
				stringField(credentials, 'endpointOverride'),
			);
			return { token: token.token, leaseEndpoint } satisfies IDataObject;
		} catch (error) {
			const secrets = [credentials.password, credentials.applicationCredentialSecret].map(
				(value) => (typeof value === 'string' ? value : undefined),
			);
			throw new CredentialLoginError(error, (text) => redact(text, secrets));
		}
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		const leaseEndpoint = stringField(credentials, 'leaseEndpoint');
		return {
			...requestOptions,
			...tlsRequestOptions(credentials, requestOptions),
			// The credential's timeout wins over the client's default, for every node alike.
			timeout: requestTimeoutMs(credentials, requestOptions.method),
			// Nodes send paths (/v1/...); the endpoint is known only after the Keystone exchange.
			baseURL: requestOptions.baseURL || leaseEndpoint || undefined,
			headers: { ...requestOptions.headers, 'X-Auth-Token': String(credentials.token ?? '') },
		};
	}

	// The exchange always runs for a test, so this proves the Keystone login and the endpoint
	// choice; the events query then proves ESI Leap answers and accepts the token. Events need no
	// policy role, and an id above any real one keeps the answer empty (ESI has no paging).
	test: ICredentialTestRequest = {
		request: {
			method: 'GET',
			url: '/v1/events',
			qs: { last_event_id: 2147483647 },
		},
	};
}

function keystoneAuth(credentials: ICredentialDataDecryptedObject): KeystoneAuth {
	if (credentials.authType === 'applicationCredential') {
		return {
			type: 'applicationCredential',
			applicationCredentialId: stringField(credentials, 'applicationCredentialId') ?? '',
			applicationCredentialSecret: String(credentials.applicationCredentialSecret ?? ''),
		};
	}
	return {
		type: 'password',
		username: stringField(credentials, 'username') ?? '',
		password: String(credentials.password ?? ''),
		userDomainName: stringField(credentials, 'userDomainName') ?? '',
		projectName: stringField(credentials, 'projectName'),
		projectId: stringField(credentials, 'projectId'),
		projectDomainName: stringField(credentials, 'projectDomainName'),
	};
}

/** TLS settings for n8n's request helper: verification stays on unless explicitly allowed off. */
function tlsRequestOptions(
	credentials: ICredentialDataDecryptedObject,
	requestOptions: Partial<IHttpRequestOptions> = {},
): Partial<IHttpRequestOptions> {
	const pem = stringField(credentials, 'caCertificate');
	const ca = pem ? normalizePem(pem) : undefined;
	return {
		...(credentials.allowSelfSigned === true ? { skipSslCertificateValidation: true } : {}),
		...(ca ? { agentOptions: { ...requestOptions.agentOptions, ca } } : {}),
	};
}

function stringField(
	credentials: ICredentialDataDecryptedObject,
	name: string,
): string | undefined {
	const value = credentials[name];
	return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}
