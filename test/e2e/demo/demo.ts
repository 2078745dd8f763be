/**
 * The demo behind `npm start` (and `npm run screenshot`): the ESI Leap emulator (its CLI, fixed
 * ports, publishing to the local RabbitMQ, a lease lifecycle every minute) and a real n8n with the
 * UI on, this package installed from its tarball, both credentials and the two demo workflows
 * imported and active. Every start begins from a clean n8n: the emulator starts empty too, so an
 * old event-history position or old executions would only confuse.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { startN8n, type N8nInstance, type Owner } from '../harness';
import { ensureN8nInstalled } from '../n8n-install';
import { buildAndPack } from '../package-build';
import { NOTIFICATION_TOPIC } from '../../emulator/notifier';
import { cleanDemoBroker, describeCleanup } from './cleanup';
import { pickPorts, type PortWish } from './ports';
import {
	API_CREDENTIAL,
	apiCredentialData,
	BUS_CREDENTIAL,
	BUS_WORKFLOW_NAME,
	busCredentialData,
	busTrigger,
	HISTORY_WORKFLOW_NAME,
	historyTrigger,
	leaseEventsWorkflow,
} from './workflows';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export interface DemoOptions {
	/** n8n's user folder; wiped at every start. */
	folder: string;
	n8nPort: number;
	keystonePort: number;
	esiPort: number;
	amqpUrl: string;
	lifecycleEverySeconds: number;
	owner: Owner;
	build: boolean;
	log: (line: string) => void;
}

export function demoOptionsFromEnv(log: (line: string) => void): DemoOptions {
	const env = process.env;
	return {
		folder: env.DEMO_FOLDER ?? path.join(REPO_ROOT, '.demo'),
		n8nPort: Number(env.DEMO_N8N_PORT ?? 5678),
		keystonePort: Number(env.DEMO_KEYSTONE_PORT ?? 5000),
		esiPort: Number(env.DEMO_ESI_PORT ?? 7777),
		amqpUrl: env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
		lifecycleEverySeconds: Number(env.DEMO_LIFECYCLE_EVERY ?? 60),
		owner: {
			email: env.DEMO_OWNER_EMAIL ?? 'demo@example.com',
			password: env.DEMO_OWNER_PASSWORD ?? 'Demo-Passw0rd!',
		},
		build: env.DEMO_SKIP_BUILD === undefined,
		log,
	};
}

/**
 * The default ports, unless in use (then the next free ones, printed) or set by their variable
 * (then they must be free). Checked before anything is built or started.
 */
export async function withFreePorts(
	options: DemoOptions,
	env: NodeJS.ProcessEnv = process.env,
): Promise<DemoOptions> {
	const wish = (label: string, variable: string, port: number): PortWish => ({
		label,
		variable,
		port,
		explicit: env[variable] !== undefined,
	});
	const [n8nPort, keystonePort, esiPort] = await pickPorts(
		[
			wish('n8n', 'DEMO_N8N_PORT', options.n8nPort),
			wish('Keystone', 'DEMO_KEYSTONE_PORT', options.keystonePort),
			wish('ESI Leap', 'DEMO_ESI_PORT', options.esiPort),
		],
		options.log,
	);
	return { ...options, n8nPort, keystonePort, esiPort };
}

/** The emulator's exchange (oslo's default control_exchange) and the demo trigger's own queue. */
export const DEMO_EXCHANGE = 'openstack';
export const DEMO_QUEUE = 'n8n-esi-leap-demo';
const HISTORY_POLL_SECONDS = 5;
/** The emulator's seeded lessee (test/emulator/README.md): claims the leases of the lifecycle. */
const LESSEE = { name: 'lessee', password: 'lessee-pass', projectName: 'esi-lessee' };

export interface Demo {
	n8n: N8nInstance;
	editorUrl: string;
	esiUrl: string;
	keystoneUrl: string;
	workflows: { bus: string; history: string };
	/** Runs one lease lifecycle now (through the emulator's control API). */
	runLifecycle(): Promise<{ leaseUuid: string }>;
	stop(): Promise<void>;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number) {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await check().catch(() => false)) return;
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
	throw new Error(`${what} not ready after ${timeoutMs} ms`);
}

function startEmulatorCli(options: DemoOptions): ChildProcess {
	const child = spawn(
		path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
		[
			path.join(REPO_ROOT, 'test', 'emulator', 'cli.ts'),
			'--keystone-port',
			String(options.keystonePort),
			'--esi-port',
			String(options.esiPort),
			'--amqp-url',
			options.amqpUrl,
			'--exchange',
			DEMO_EXCHANGE,
			'--lifecycle-every',
			String(options.lifecycleEverySeconds),
		],
		// Its own process group: Ctrl-C reaches the demo, which stops the emulator last.
		{ cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
	);
	const forward = (stream: NodeJS.ReadableStream) => {
		let buffered = '';
		stream.on('data', (chunk: Buffer) => {
			buffered += chunk.toString();
			const lines = buffered.split('\n');
			buffered = lines.pop() ?? '';
			for (const line of lines) if (line.trim()) options.log(`[emulator] ${line}`);
		});
	};
	forward(child.stdout!);
	forward(child.stderr!);
	process.once('exit', () => child.kill('SIGKILL'));
	return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return;
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	child.kill('SIGTERM');
	const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
	await exited;
	clearTimeout(timer);
}

/** The exchange ESI Leap publishes to, declared as oslo declares it; fails if RabbitMQ is down. */
async function ensureExchange(amqpUrl: string): Promise<void> {
	const connection = await amqp.connect(amqpUrl).catch((error: Error) => {
		throw new Error(
			`RabbitMQ not reachable at ${amqpUrl.replace(/\/\/[^@]*@/, '//***@')} (${error.message}); start it with \`rabbitmq-server -detached\` or set AMQP_URL`,
		);
	});
	const channel = await connection.createChannel();
	await channel.assertExchange(DEMO_EXCHANGE, 'topic', { durable: false, autoDelete: false });
	await connection.close();
}

export async function startDemo(options: DemoOptions): Promise<Demo> {
	const { log } = options;
	// RabbitMQ first: no point in a 7-minute install when the broker is missing.
	await ensureExchange(options.amqpUrl);
	await ensureN8nInstalled((line) => log(`[n8n install] ${line}`));
	const work = fs.mkdtempSync(path.join(os.tmpdir(), 'esi-leap-demo-'));
	const tarball = buildAndPack(REPO_ROOT, work, { build: options.build, log });
	fs.rmSync(options.folder, { recursive: true, force: true });

	const emulator = startEmulatorCli(options);
	const esiUrl = `http://127.0.0.1:${options.esiPort}`;
	const keystoneUrl = `http://127.0.0.1:${options.keystonePort}/v3`;
	let n8n: N8nInstance | undefined;
	const stop = async () => {
		await n8n?.stop();
		await stopChild(emulator);
		fs.rmSync(work, { recursive: true, force: true });
		// After both: n8n's consumer and the emulator's publisher would re-declare what goes.
		const names = { exchange: DEMO_EXCHANGE, queue: DEMO_QUEUE, topic: NOTIFICATION_TOPIC };
		const report = await cleanDemoBroker(options.amqpUrl, names);
		for (const line of describeCleanup(report, names)) log(`[RabbitMQ] ${line}`);
	};
	const stopAndFail = async (error: unknown): Promise<never> => {
		await stop();
		throw error;
	};
	try {
		const exited = new Promise<never>((_, reject) =>
			emulator.once('exit', (code) =>
				reject(
					new Error(
						`the emulator exited (${code}); are ports ${options.keystonePort}/${options.esiPort} free?`,
					),
				),
			),
		);
		await Promise.race([
			exited,
			waitFor('emulator', async () => (await fetch(`${esiUrl}/_emulator/state`)).ok, 30_000),
		]);
		exited.catch(() => undefined);

		log('starting n8n (about 10 s)');
		n8n = await startN8n({
			name: 'demo',
			userFolder: options.folder,
			port: options.n8nPort,
			ui: true,
			owner: options.owner,
			packages: [tarball],
		});
		await n8n.createCredential({
			name: API_CREDENTIAL,
			type: 'esiLeapApi',
			data: apiCredentialData({ keystoneUrl }, LESSEE),
		});
		await n8n.createCredential({
			name: BUS_CREDENTIAL,
			type: 'esiLeapMessageBusApi',
			data: busCredentialData(options.amqpUrl, DEMO_EXCHANGE),
		});
		const bus = await n8n.createWorkflow(
			leaseEventsWorkflow(
				BUS_WORKFLOW_NAME,
				busTrigger({ exchange: DEMO_EXCHANGE, queueName: DEMO_QUEUE }),
			),
		);
		const history = await n8n.createWorkflow(
			leaseEventsWorkflow(
				HISTORY_WORKFLOW_NAME,
				historyTrigger({ pollIntervalSeconds: HISTORY_POLL_SECONDS }),
			),
		);
		await n8n.activateWorkflow(bus);
		await n8n.activateWorkflow(history);
		const running = n8n;
		await waitFor(
			'the message-bus trigger',
			async () => {
				const connection = await amqp.connect(options.amqpUrl);
				try {
					const channel = await connection.createChannel();
					channel.on('error', () => undefined);
					return (await channel.checkQueue(DEMO_QUEUE)).consumerCount > 0;
				} finally {
					await connection.close().catch(() => undefined);
				}
			},
			30_000,
		);
		// The history trigger takes its "now" position while it activates; give it a moment.
		await new Promise((resolve) => setTimeout(resolve, 3000));
		const problems = running.activationProblems();
		if (problems.length)
			throw new Error(`a demo workflow failed to start:\n${problems.join('\n')}`);
		return {
			n8n: running,
			editorUrl: running.baseUrl,
			esiUrl,
			keystoneUrl,
			workflows: { bus, history },
			async runLifecycle() {
				const response = await fetch(`${esiUrl}/_emulator/lifecycle`, {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify({ ending: 'delete' }),
				});
				if (!response.ok) throw new Error(`lifecycle: HTTP ${response.status}`);
				return (await response.json()) as { leaseUuid: string };
			},
			stop,
		};
	} catch (error) {
		return stopAndFail(error);
	}
}
