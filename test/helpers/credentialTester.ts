/**
 * n8n's credential test for a credential with a `test` request, as n8n 2.41 runs it
 * (packages/cli/src/services/credentials-tester.service.ts): the request goes through
 * httpRequestWithAuthentication on a temporary no-op node, preAuthentication always runs, and a
 * failure becomes the message the editor shows: the status text of an HTTP error
 * (`error.cause.response`), else the network code (`error.cause.code`), else the NodeApiError's
 * message.
 */
import type {
	ICredentialDataDecryptedObject,
	ICredentialType,
	INode,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import { createN8nHttp } from './n8nHttp';

const TEMP_NODE: INode = {
	id: 'temp',
	name: 'Temp-Node',
	type: 'n8n-nodes-base.noOp',
	typeVersion: 1,
	position: [0, 0],
	parameters: { temp: '' },
};

interface TesterError {
	message: string;
	cause?: { response?: { status?: number; statusText?: string }; code?: unknown };
}

export async function testCredential(
	name: string,
	type: ICredentialType,
	data: ICredentialDataDecryptedObject,
): Promise<INodeCredentialTestResult> {
	const request = type.test?.request;
	if (!request) throw new Error(`credential ${name} has no test request`);
	// The tester always logs in anew: the stored token is ignored (isTestingCredentials).
	const http = createN8nHttp({ [name]: { type, data: { ...data, token: '' } } });
	try {
		await http.httpRequestWithAuthentication(
			name,
			{ method: request.method, url: request.url as string, qs: request.qs, json: true },
			TEMP_NODE,
		);
		return { status: 'OK', message: 'Connection successful!' };
	} catch (caught) {
		const error = caught as TesterError;
		const response = error.cause?.response;
		if (response) {
			return {
				status: 'Error',
				message: response.statusText || `Received HTTP status code: ${response.status}`,
			};
		}
		if (error.cause?.code) return { status: 'Error', message: String(error.cause.code) };
		return { status: 'Error', message: String(error.message) };
	} finally {
		await http.close();
	}
}
