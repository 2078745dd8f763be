import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import { connectAmqp, describeBroker } from '../../core/bus/amqp';
import { safeErrorText } from '../../core/bus/consumer';
import { DEFAULT_EXCHANGE } from '../../core/bus/topology';
import { brokerSettingsFromCredentials } from '../brokerSettings';

/** Connects with the credential and checks ESI Leap's exchange passively (declares nothing). */
export async function esiLeapMessageBusApiTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	const settings = { ...brokerSettingsFromCredentials(data), connectTimeoutMs: 10_000 };
	const exchange =
		(typeof data.testExchange === 'string' && data.testExchange.trim()) || DEFAULT_EXCHANGE;
	const connection = await connectAmqp(settings).catch((error: Error) => error);
	if (connection instanceof Error) {
		return {
			status: 'Error',
			message: `Could not connect to ${describeBroker(settings)}: ${safeErrorText(connection)}`,
		};
	}
	try {
		const channel = await connection.createChannel();
		const checked = await channel.checkExchange(exchange).then(
			() => undefined,
			(error: Error) => error,
		);
		if (checked instanceof Error) {
			return {
				status: 'Error',
				message: `Connected, but exchange "${exchange}" was not found in vhost "${settings.vhost}" (ESI Leap creates it on its first notification; check control_exchange): ${safeErrorText(checked)}`,
			};
		}
		return { status: 'OK', message: `Connected; exchange "${exchange}" exists` };
	} finally {
		await connection.close().catch(() => undefined);
	}
}
