/**
 * Runs the ESI Lease node through its execute path against the emulator, signed in as one of
 * the emulator's users through the real EsiLeapApi credential.
 */
import type {
	ICredentialDataDecryptedObject,
	INodeExecutionData,
	INodeParameters,
} from 'n8n-workflow';
import { afterAll, beforeAll } from 'vitest';

import { EsiLease } from '../../../nodes/EsiLease/EsiLease.node';
import { startEmulator, type Emulator } from '../../emulator';
import { runNode } from '../../helpers/executeContext';
import { signedInHttp, type EmulatorRole } from '../../helpers/esiLeapApiCredential';
import type { N8nHttp } from '../../helpers/n8nHttp';

export const esiLease = new EsiLease();

const ROLES: readonly EmulatorRole[] = ['admin', 'owner', 'lessee'];

export async function startQuietEmulator(): Promise<Emulator> {
	// No timer: the manager only runs when a test ticks it.
	return await startEmulator({ tickIntervalMs: 0 });
}

export interface RunOptions {
	items?: INodeExecutionData[];
	continueOnFail?: boolean;
	timezone?: string;
}

export interface Session {
	http: N8nHttp;
	credential: ICredentialDataDecryptedObject;
	run(parameters: INodeParameters, options?: RunOptions): Promise<INodeExecutionData[]>;
	/** Runs and returns what the node threw (fails the test if it did not throw). */
	fail(parameters: INodeParameters, options?: RunOptions): Promise<Error>;
	/** ESI Leap requests sent so far (Keystone excluded), JSON bodies decoded. */
	esiRequests(): Array<{
		method: string;
		url: string;
		headers: Record<string, string>;
		body?: unknown;
		status?: number;
	}>;
	close(): Promise<void>;
}

export function sessionFor(emulator: Emulator, role: EmulatorRole): Session {
	const { http, credential } = signedInHttp(emulator, role);
	const run = async (parameters: INodeParameters, options: RunOptions = {}) =>
		await runNode({ nodeType: esiLease, parameters, http, ...options });
	return {
		http,
		credential,
		run,
		async fail(parameters, options) {
			const outcome = await run(parameters, options).then(
				(items) => ({ items }),
				(error: unknown) => ({ error }),
			);
			if (!('error' in outcome)) {
				throw new Error(`expected the node to fail, got ${JSON.stringify(outcome.items)}`);
			}
			return outcome.error as Error;
		},
		esiRequests: () =>
			http.requests
				.filter((request) => request.url.startsWith(emulator.leaseUrl))
				.map((request) => ({ ...request, body: decodedBody(request.body) })),
		close: async () => await http.close(),
	};
}

/** The transport hands n8n JSON text; tests compare the decoded value. */
function decodedBody(body: unknown): unknown {
	return typeof body === 'string' && body !== '' ? (JSON.parse(body) as unknown) : body;
}

export interface Sessions {
	emulator: Emulator;
	admin: Session;
	owner: Session;
	lessee: Session;
}

/**
 * One quiet emulator per test file and a session per role, set up in beforeAll and closed in
 * afterAll. The fields are filled once beforeAll has run, so read them inside tests.
 */
export function useEmulatorSessions(): Sessions {
	const sessions = {} as Sessions;
	beforeAll(async () => {
		sessions.emulator = await startQuietEmulator();
		for (const role of ROLES) sessions[role] = sessionFor(sessions.emulator, role);
	});
	afterAll(async () => {
		await Promise.all(ROLES.map(async (role) => await sessions[role].close()));
		await sessions.emulator.stop();
	});
	return sessions;
}

/** A resource-locator value as the editor stores it. */
export function locator(mode: 'list' | 'name' | 'id', value: string) {
	return { __rl: true, mode, value };
}

/** ISO time `days` from now, whole seconds, UTC. */
export function daysFromNow(days: number): string {
	const date = new Date(Date.now() + days * 86_400_000);
	date.setUTCMilliseconds(0);
	return date.toISOString();
}
