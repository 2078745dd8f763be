/**
 * ESI Leap API credential data as the editor saves it for a Keystone password login, and n8n's
 * HTTP helpers signed in with it to the emulator as one of its users.
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { EsiLeapApi } from '../../credentials/EsiLeapApi.credentials';
import type { Emulator } from '../emulator';
import { createN8nHttp, type N8nHttp } from './n8nHttp';

export type EmulatorRole = 'admin' | 'owner' | 'lessee';

export interface PasswordLogin {
	authUrl: string;
	username: string;
	password: string;
	userDomainName: string;
	projectName: string;
	region?: string;
}

/** Every other field at the value the editor leaves when it is not touched. */
export function passwordLoginCredential(login: PasswordLogin): ICredentialDataDecryptedObject {
	return {
		authUrl: login.authUrl,
		authType: 'password',
		username: login.username,
		password: login.password,
		userDomainName: login.userDomainName,
		projectName: login.projectName,
		projectId: '',
		projectDomainName: login.userDomainName,
		region: login.region ?? '',
		interface: 'public',
		endpointOverride: '',
		caCertificate: '',
		allowSelfSigned: false,
		token: '',
		leaseEndpoint: '',
	};
}

export function credentialFor(
	emulator: Emulator,
	role: EmulatorRole,
): ICredentialDataDecryptedObject {
	const user = emulator.users[role];
	return passwordLoginCredential({
		authUrl: emulator.keystoneUrl,
		username: user.name,
		password: user.password,
		userDomainName: user.domainName,
		projectName: user.projectName,
	});
}

/**
 * The credential object is the one the HTTP helpers use, so a test sees the token the
 * credential caches in it.
 */
export function signedInHttp(
	emulator: Emulator,
	role: EmulatorRole,
): { http: N8nHttp; credential: ICredentialDataDecryptedObject } {
	const credential = credentialFor(emulator, role);
	const http = createN8nHttp({ esiLeapApi: { type: new EsiLeapApi(), data: credential } });
	return { http, credential };
}
