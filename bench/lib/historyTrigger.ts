/**
 * The emulator in its own process (so a benchmark's memory is the trigger's) and the ESI Leap
 * Trigger on it through the real ESI Leap API credential (Keystone login as the emulator's admin,
 * token reuse), with the lean benchmark context. Used by history.ts and watch.ts.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { EsiLeapApi } from '../../credentials/EsiLeapApi.credentials';
import { EsiLeapTrigger } from '../../nodes/EsiLeapTrigger/EsiLeapTrigger.node';
import { freePort } from '../../test/e2e/harness';
import { passwordLoginCredential } from '../../test/helpers/esiLeapApiCredential';
import { createN8nHttp } from '../../test/helpers/n8nHttp';
import { createBenchContext } from './context';

export async function until(condition: () => boolean, timeoutMs: number, what: string) {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}

export interface Emulator {
	keystoneUrl: string;
	leaseUrl: string;
	control(action: string, body?: IDataObject): Promise<IDataObject>;
	stop(): void;
}

/** `npm run emulator` on free ports, without AMQP or manager ticks; controlled over HTTP. */
export async function startEmulatorProcess(): Promise<Emulator> {
	const keystonePort = await freePort();
	const esiPort = await freePort();
	const child = spawn(
		process.execPath,
		[
			'--import',
			'tsx',
			path.join(__dirname, '..', '..', 'test', 'emulator', 'cli.ts'),
			'--keystone-port',
			String(keystonePort),
			'--esi-port',
			String(esiPort),
			'--no-amqp',
			'--tick-ms',
			'0',
		],
		{ stdio: ['ignore', 'pipe', 'inherit'] },
	);
	await new Promise<void>((resolve, reject) => {
		let output = '';
		child.stdout!.on('data', (chunk: Buffer) => {
			output += chunk.toString();
			if (output.includes('Control')) resolve();
		});
		child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
	});
	return {
		...connectEmulator(`http://127.0.0.1:${keystonePort}/v3`, `http://127.0.0.1:${esiPort}`),
		stop: () => child.kill('SIGTERM'),
	};
}

/** An emulator another process started (its URLs), controlled over HTTP; `stop` leaves it running. */
export function connectEmulator(keystoneUrl: string, leaseUrl: string): Emulator {
	return {
		keystoneUrl,
		leaseUrl,
		async control(action, body = {}) {
			const response = await fetch(`${leaseUrl}/_emulator/${action}`, {
				method: action === 'state' ? 'GET' : 'POST',
				headers: { 'content-type': 'application/json' },
				body: action === 'state' ? undefined : JSON.stringify(body),
			});
			if (!response.ok) throw new Error(`emulator ${action}: HTTP ${response.status}`);
			return (await response.json()) as IDataObject;
		},
		stop: () => undefined,
	};
}

export async function startTrigger(emulator: Emulator, parameters: IDataObject) {
	const http = createN8nHttp({
		esiLeapApi: {
			type: new EsiLeapApi(),
			// The emulator's default admin (see test/emulator/README.md).
			data: passwordLoginCredential({
				authUrl: emulator.keystoneUrl,
				username: 'admin',
				password: 'admin-pass',
				userDomainName: 'Default',
				projectName: 'admin',
			}),
		},
	});
	let events = 0;
	let executions = 0;
	const bench = createBenchContext({
		parameters: { mode: 'eventHistory', ...parameters },
		credentials: {},
		onExecution: (items) => {
			events += items.length;
			executions++;
		},
		httpRequestWithAuthentication: async (name, request) =>
			await http.httpRequestWithAuthentication(name, request, bench.context.getNode()),
	});
	const response = await new EsiLeapTrigger().trigger.call(bench.context);
	return {
		http,
		polls: () => http.requests.filter((request) => request.url.includes('/v1/events')).length,
		leaseLookups: () =>
			http.requests.filter((request) => request.url.includes('/v1/leases')).length,
		counters: bench.counters,
		events: () => events,
		executions: () => executions,
		staticData: () => bench.context.getWorkflowStaticData('node'),
		stop: async () => {
			await response.closeFunction?.();
			await http.close();
		},
	};
}

/** Runs a benchmark's main as the script of its process: exit 0, or the stack and exit 1. */
export function runAsScript(main: () => Promise<void>): void {
	main().then(
		() => process.exit(0),
		(error: Error) => {
			process.stderr.write(`${error.stack ?? error.message}\n`);
			process.exit(1);
		},
	);
}
