/**
 * A RabbitMQ node of the test's own, for tests that stop, restart or reconfigure a broker: its
 * own node name, AMQP/TLS/distribution ports and data, log and config folders in a temp dir,
 * removed afterwards. The shared broker on 5672 is never touched.
 *
 * The node runs as the current user (the Debian wrapper in /usr/sbin would switch to the
 * rabbitmq user, who cannot write our temp dir) with HOME in the temp dir, holding a copy of the
 * machine's Erlang cookie so that `rabbitmqctl -n <node>` from the same HOME can reach it.
 * The TLS listener uses a CA and server certificate generated with the `openssl` CLI (testCa.ts), and
 * requires a client certificate from the same CA (mutual TLS); a second, unrelated CA is made
 * for "wrong CA" tests.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTlsMaterial, type TlsMaterial } from './testCa';

const run = promisify(execFile);

/** The unwrapped scripts (Debian/Ubuntu packages); elsewhere whatever is on PATH. */
function rabbitBinary(name: 'rabbitmq-server' | 'rabbitmqctl'): string {
	const unwrapped = `/usr/lib/rabbitmq/bin/${name}`;
	return existsSync(unwrapped) ? unwrapped : name;
}

const COOKIE_SOURCES = [
	process.env.RABBITMQ_ERLANG_COOKIE_FILE,
	'/var/lib/rabbitmq/.erlang.cookie',
	join(process.env.HOME ?? '/root', '.erlang.cookie'),
].filter((path): path is string => !!path);

export interface OwnRabbit {
	readonly nodeName: string;
	readonly host: string;
	readonly port: number;
	readonly tlsPort: number;
	readonly tls: TlsMaterial;
	/** amqp://guest:guest@127.0.0.1:<port> */
	readonly url: string;
	/** `rabbitmqctl -n <node> ...args` */
	ctl(...args: string[]): Promise<string>;
	/** Stops the RabbitMQ application (connections are closed, non-durable exchanges go). */
	stopApp(): Promise<void>;
	/** Starts it again; resolves once it accepts AMQP connections. */
	startApp(): Promise<void>;
	/** Stops the node and deletes every file it had. Idempotent. */
	remove(): Promise<void>;
}

async function freePort(): Promise<number> {
	return await new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
		});
	});
}

function portOpen(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = tcpConnect({ host: '127.0.0.1', port });
		socket.once('connect', () => {
			socket.destroy();
			resolve(true);
		});
		socket.once('error', () => resolve(false));
	});
}

async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await probe()) return true;
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	return false;
}

/** Starts a separate RabbitMQ node; throws with the node's own log tail when it cannot. */
export async function startOwnRabbit(): Promise<OwnRabbit> {
	const base = await mkdtemp(join(tmpdir(), 'esi-leap-rabbit-'));
	const home = join(base, 'home');
	await mkdir(home);
	await mkdir(join(base, 'log'));
	await mkdir(join(base, 'mnesia'));
	await mkdir(join(base, 'tls'));

	const cookie = COOKIE_SOURCES.find((path) => existsSync(path));
	if (cookie) {
		await copyFile(cookie, join(home, '.erlang.cookie'));
	} else {
		await writeFile(join(home, '.erlang.cookie'), randomBytes(20).toString('hex').toUpperCase());
	}
	await chmod(join(home, '.erlang.cookie'), 0o400);

	const tls = await makeTlsMaterial(join(base, 'tls'));
	const [port, tlsPort, distPort] = [await freePort(), await freePort(), await freePort()];
	const nodeName = `esi-leap-test-${randomBytes(4).toString('hex')}@localhost`;
	const tlsDir = join(base, 'tls');
	await writeFile(
		join(base, 'rabbitmq.conf'),
		[
			'loopback_users = none',
			`listeners.ssl.default = ${tlsPort}`,
			`ssl_options.cacertfile = ${join(tlsDir, 'ca.pem')}`,
			`ssl_options.certfile = ${join(tlsDir, 'server.pem')}`,
			`ssl_options.keyfile = ${join(tlsDir, 'server.key')}`,
			'ssl_options.verify = verify_peer',
			'ssl_options.fail_if_no_peer_cert = true',
			// A 2-core machine shared by several test runs.
			'vm_memory_high_watermark.relative = 0.2',
			'',
		].join('\n'),
	);
	await writeFile(join(base, 'enabled_plugins'), '[].\n');
	await writeFile(join(base, 'rabbitmq-env.conf'), 'ERL_EPMD_ADDRESS=127.0.0.1\n');

	const env: NodeJS.ProcessEnv = {
		...process.env,
		HOME: home,
		RABBITMQ_NODENAME: nodeName,
		RABBITMQ_NODE_PORT: String(port),
		RABBITMQ_DIST_PORT: String(distPort),
		RABBITMQ_MNESIA_BASE: join(base, 'mnesia'),
		RABBITMQ_LOG_BASE: join(base, 'log'),
		RABBITMQ_CONFIG_FILE: join(base, 'rabbitmq.conf'),
		RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins'),
		RABBITMQ_CONF_ENV_FILE: join(base, 'rabbitmq-env.conf'),
		RABBITMQ_PID_FILE: join(base, 'rabbitmq.pid'),
	};

	const ctl = async (...args: string[]): Promise<string> => {
		const { stdout } = await run(rabbitBinary('rabbitmqctl'), ['-q', '-n', nodeName, ...args], {
			env,
			timeout: 60_000,
		});
		return stdout;
	};

	let output = '';
	// eslint-disable-next-line @n8n/community-nodes/no-dangerous-functions -- test-only: the broker node under test; never shipped
	let server: ChildProcess | null = spawn(rabbitBinary('rabbitmq-server'), [], {
		env,
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	server.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
	server.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
	let exited = false;
	const spawnError = await new Promise<Error | null>((resolve) => {
		server?.once('error', resolve);
		server?.once('spawn', () => resolve(null));
	});
	server.once('exit', () => (exited = true));

	let removed = false;
	const remove = async () => {
		if (removed) return;
		removed = true;
		if (server && !exited) {
			await ctl('stop').catch(() => undefined);
			if (!exited) server.kill('SIGKILL');
		}
		server = null;
		await rm(base, { recursive: true, force: true });
	};

	const fail = async (why: string): Promise<never> => {
		const log = await readFile(join(base, 'log', `${nodeName}.log`), 'utf8').catch(() => '');
		await remove();
		throw new Error(
			`Could not start a test RabbitMQ node (${why}). The tests that restart a broker start ` +
				'their own node with `rabbitmq-server` (RabbitMQ 3.x and `openssl` must be installed; ' +
				'the shared broker is never used for this).\n' +
				`Output: ${output.slice(-1500)}\nLog: ${log.slice(-1500)}`,
		);
	};
	if (spawnError) return await fail(`rabbitmq-server: ${spawnError.message}`);
	const ready = await waitUntil(async () => exited || (await portOpen(port)), 90_000);
	if (!ready || exited) return await fail(exited ? 'the node exited' : 'not ready within 90 s');
	await ctl('await_startup', '--timeout', '60').catch((error: Error) => fail(error.message));

	const startApp = async () => {
		await ctl('start_app');
		if (!(await waitUntil(() => portOpen(port), 30_000))) {
			throw new Error(`RabbitMQ node ${nodeName} did not listen again after start_app`);
		}
	};

	return {
		nodeName,
		host: '127.0.0.1',
		port,
		tlsPort,
		tls,
		url: `amqp://guest:guest@127.0.0.1:${port}`,
		ctl,
		stopApp: async () => {
			await ctl('stop_app');
		},
		startApp,
		remove,
	};
}
