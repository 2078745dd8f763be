/**
 * End-to-end harness: a real n8n (pinned, see n8n-install.ts) started headless in an isolated
 * user folder with this package installed the way a user installs it, driven over its REST and
 * public APIs. Recipe and measurements: /work/shared/n8n/running-n8n.md.
 *
 *   const n8n = await startN8n();                       // regular mode, our package installed
 *   const cred = await n8n.createCredential({ name: 'Bus', type: 'rabbitmq', data: {...} });
 *   const id = await n8n.createWorkflow(workflowJson);  // node credentials remapped by name
 *   await n8n.activateWorkflow(id);
 *   const [execution] = await n8n.waitForExecutions(id, { count: 1 });
 *   nodeOutput(execution, 'Code');                       // the node's output items (json)
 *   await n8n.stop();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { installPaths, type N8nInstall } from './n8n-install';

export const OWNER_EMAIL = 'owner@e2e.test';
export const OWNER_PASSWORD = 'E2e-Owner-Passw0rd!';

const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 20_000;

export interface StartOptions {
	/** 'regular' (default): one process on sqlite. 'queue': main + one `n8n worker`, Redis + a fresh PostgreSQL database. */
	mode?: 'regular' | 'queue';
	/**
	 * Package tarballs installed into <userFolder>/.n8n/nodes with `npm install`. Default: this
	 * package, packed and installed once by global-setup.ts ($E2E_NODES_TEMPLATE) and copied in.
	 * Pass [] for none.
	 */
	packages?: string[];
	/** Extra environment for every n8n process (overrides the defaults). */
	env?: Record<string, string>;
	/** Short label used in folder names and error messages. */
	name?: string;
	/** Use this user folder (created if missing) and keep it on stop. Default: a fresh temporary one. */
	userFolder?: string;
	/** HTTP port of the main process. Default: a free one. */
	port?: number;
	/** Serve the editor UI (the demo). Default: off. */
	ui?: boolean;
	/** The env-managed owner. Default: OWNER_EMAIL / OWNER_PASSWORD. */
	owner?: Owner;
}

export interface Owner {
	email: string;
	password: string;
}

export interface Workflow {
	name: string;
	nodes: WorkflowNode[];
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
	[key: string]: unknown;
}

export interface WorkflowNode {
	name: string;
	type: string;
	typeVersion: number;
	position: [number, number];
	parameters: Record<string, unknown>;
	credentials?: Record<string, { id?: string; name: string }>;
	[key: string]: unknown;
}

export interface Execution {
	id: string;
	workflowId: string;
	status: string;
	mode: string;
	finished: boolean;
	startedAt: string;
	stoppedAt: string | null;
	data?: {
		resultData: {
			runData: Record<
				string,
				Array<{
					data?: { main?: Array<Array<{ json: Record<string, unknown> }> | null> };
					error?: unknown;
				}>
			>;
			error?: { message?: string; [key: string]: unknown };
			lastNodeExecuted?: string;
		};
	};
}

export interface CliExecution {
	exitCode: number;
	/** The run the CLI printed (also on failure), or undefined when it printed none. Works with nodeOutput(). */
	result: { status?: string; mode?: string; data?: Execution['data'] } | undefined;
	stdout: string;
	stderr: string;
}

/** A node for linearWorkflow(): typeVersion defaults to 1, parameters to {}. */
export type ChainNode = Pick<WorkflowNode, 'name' | 'type'> &
	Partial<Omit<WorkflowNode, 'name' | 'type'>>;

/** A workflow whose nodes run one after the other (first output of each into the next). */
export function linearWorkflow(name: string, chain: ChainNode[]): Workflow {
	const nodes = chain.map((node, index) => ({
		typeVersion: 1,
		parameters: {},
		position: [index * 220, 0] as [number, number],
		...node,
	}));
	const connections = Object.fromEntries(
		nodes
			.slice(0, -1)
			.map((node, index) => [
				node.name,
				{ main: [[{ node: nodes[index + 1].name, type: 'main', index: 0 }]] },
			]),
	);
	return { name, nodes, connections };
}

/** Output items (json) of the first run of `nodeName`, all output branches concatenated. */
export function nodeOutput(
	execution: { id?: string; data?: Execution['data'] },
	nodeName: string,
): Array<Record<string, unknown>> {
	const runs = execution.data?.resultData.runData[nodeName];
	if (!runs?.length) {
		const ran = Object.keys(execution.data?.resultData.runData ?? {}).join(', ');
		throw new Error(
			`node "${nodeName}" did not run in execution ${execution.id ?? '(cli)'} (ran: ${ran || 'nothing; fetch with includeData'})`,
		);
	}
	return (runs[0].data?.main ?? []).flatMap((branch) => (branch ?? []).map((item) => item.json));
}

export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

/**
 * n8n gets a minimal environment: `npm run` adds npm_config_* (ignore-scripts, nodedir=/usr) and
 * vitest adds NODE_ENV=test, under which n8n's logger stays silent.
 */
function cleanEnv(): NodeJS.ProcessEnv {
	const kept = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SHELL'];
	return {
		...Object.fromEntries(
			kept.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]),
		),
		NODE_ENV: 'production',
	};
}

/**
 * The pinned install, or another n8n for a one-off compatibility run: E2E_N8N_BIN (its
 * node_modules/n8n/bin/n8n), E2E_NODE_BIN (default: this Node) and E2E_N8N_ENV (JSON, extra env).
 */
function installation(): N8nInstall {
	const other = process.env.E2E_N8N_BIN;
	const paths: N8nInstall = other
		? {
				cacheDir: path.resolve(other, '..', '..', '..', '..'),
				n8nDir: path.resolve(other, '..', '..', '..', '..'),
				n8nBin: other,
				nodeBin: process.env.E2E_NODE_BIN ?? process.execPath,
				nodeDir: '',
			}
		: installPaths();
	if (!fs.existsSync(paths.n8nBin) || !fs.existsSync(paths.nodeBin)) {
		throw new Error(
			`n8n is not installed under ${paths.cacheDir}: run \`npx tsx test/e2e/n8n-install.ts\` (or \`npm run test:e2e\`, whose global setup installs it)`,
		);
	}
	return paths;
}

const ownerHashes = new Map<string, string>();
/** n8n only accepts a bcrypt hash for the env-managed owner; hash with n8n's own bcryptjs. */
function ownerPasswordHash(paths: N8nInstall, password: string): string {
	const cached = ownerHashes.get(password);
	if (cached) return cached;
	const result = spawnSync(
		paths.nodeBin,
		['-e', 'process.stdout.write(require("bcryptjs").hashSync(process.argv[1], 10))', password],
		{
			cwd: path.join(paths.n8nDir, 'node_modules', 'n8n'),
			encoding: 'utf8',
		},
	);
	if (result.status !== 0 || !/^\$2[aby]\$\d\d\$/.test(result.stdout))
		throw new Error(`bcrypt hash failed: ${result.stderr}`);
	ownerHashes.set(password, result.stdout);
	return result.stdout;
}

/**
 * Installs package tarballs into <userFolder>/.n8n/nodes the way a user (or n8n's own installer)
 * would: `npm install`, production dependencies only, no install scripts, n8n-workflow left to n8n.
 */
export function installPackages(nodesDir: string, tarballs: string[]): void {
	fs.mkdirSync(nodesDir, { recursive: true });
	if (!fs.existsSync(path.join(nodesDir, 'package.json'))) {
		fs.writeFileSync(
			path.join(nodesDir, 'package.json'),
			JSON.stringify({ name: 'installed-nodes', private: true }),
		);
	}
	if (!tarballs.length) return;
	const result = spawnSync(
		'npm',
		[
			'install',
			'--ignore-scripts',
			'--omit=dev',
			'--omit=peer',
			'--legacy-peer-deps',
			'--no-audit',
			'--no-fund',
			'--no-package-lock',
			...tarballs,
		],
		{ cwd: nodesDir, env: cleanEnv(), encoding: 'utf8' },
	);
	if (result.status !== 0)
		throw new Error(`npm install ${tarballs.join(' ')} failed in ${nodesDir}:\n${result.stderr}`);
}

function baseEnv(
	paths: N8nInstall,
	userFolder: string,
	port: number,
	brokerPort: number,
	owner: Owner,
): NodeJS.ProcessEnv {
	return {
		...cleanEnv(),
		PATH: `${path.dirname(paths.nodeBin)}${path.delimiter}${process.env.PATH ?? ''}`,
		N8N_USER_FOLDER: userFolder,
		N8N_ENCRYPTION_KEY: `e2e-${randomBytes(16).toString('hex')}`,
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'true',
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		N8N_PORT: String(port),
		N8N_PROTOCOL: 'http',
		N8N_SECURE_COOKIE: 'false',
		N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		N8N_RUNNERS_TASK_TIMEOUT: '60',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_WHATS_NEW_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_DYNAMIC_BANNERS_ENABLED: 'false',
		N8N_LICENSE_AUTO_RENEW_ENABLED: 'false',
		N8N_DISABLE_UI: 'true',
		// mcp-registry fetches api.n8n.io at start (no internet here)
		N8N_DISABLED_MODULES: 'mcp-registry',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		DB_TYPE: 'sqlite',
		EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'all',
		EXECUTIONS_DATA_SAVE_ON_ERROR: 'all',
		EXECUTIONS_DATA_SAVE_MANUAL_EXECUTIONS: 'true',
		N8N_LOG_LEVEL: process.env.E2E_N8N_LOG_LEVEL ?? 'info',
		N8N_INSTANCE_OWNER_MANAGED_BY_ENV: 'true',
		N8N_INSTANCE_OWNER_EMAIL: owner.email,
		N8N_INSTANCE_OWNER_PASSWORD_HASH: ownerPasswordHash(paths, owner.password),
	};
}

/** Runs a JS snippet with n8n's own modules (pg, ioredis): no such clients in our dependencies. */
function withN8nModules(
	paths: N8nInstall,
	env: NodeJS.ProcessEnv,
	script: string,
	arg: string,
): { ok: boolean; error: string } {
	const result = spawnSync(paths.nodeBin, ['-e', script, arg], {
		cwd: path.join(paths.n8nDir, 'node_modules', 'n8n'),
		env,
		encoding: 'utf8',
	});
	return { ok: result.status === 0, error: result.stderr.trim() };
}

function postgres(paths: N8nInstall, env: NodeJS.ProcessEnv, sql: string): void {
	const script = `
		const { Client } = require('pg');
		const c = new Client({ host: process.env.DB_POSTGRESDB_HOST, port: +process.env.DB_POSTGRESDB_PORT,
			user: process.env.DB_POSTGRESDB_USER, password: process.env.DB_POSTGRESDB_PASSWORD, database: 'postgres' });
		c.connect().then(() => c.query(process.argv[1])).then(() => c.end(), (e) => { console.error(e.message); process.exit(1); });`;
	const { ok, error } = withN8nModules(paths, env, script, sql);
	if (!ok) {
		throw new Error(
			`PostgreSQL at ${env.DB_POSTGRESDB_HOST}:${env.DB_POSTGRESDB_PORT} refused "${sql}": ${error} (start it with \`pg_ctlcluster 15 main start\`)`,
		);
	}
}

/** Deletes the Bull queue keys of one instance (they outlive n8n). */
function deleteRedisKeys(paths: N8nInstall, env: NodeJS.ProcessEnv, prefix: string): void {
	const script = `
		const Redis = require('ioredis');
		const r = new Redis({ host: process.env.QUEUE_BULL_REDIS_HOST, port: +process.env.QUEUE_BULL_REDIS_PORT, lazyConnect: true });
		(async () => {
			await r.connect();
			const keys = [];
			for await (const batch of r.scanStream({ match: process.argv[1] + ':*' })) keys.push(...batch);
			if (keys.length) await r.del(...keys);
			await r.quit();
		})().catch((e) => { console.error(e.message); process.exit(1); });`;
	const { ok, error } = withN8nModules(paths, env, script, prefix);
	if (!ok) throw new Error(`Redis cleanup of ${prefix}:* failed: ${error}`);
}

function tail(file: string, lines = 60): string {
	try {
		return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
	} catch {
		return '(no log)';
	}
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
	for (const child of running) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
	if (child.pid === undefined) return;
	try {
		process.kill(-child.pid, signal);
	} catch {
		// already gone
	}
}

function spawnN8n(
	paths: N8nInstall,
	args: string[],
	env: NodeJS.ProcessEnv,
	logFile: string,
): ChildProcess {
	const out = fs.openSync(logFile, 'a');
	// Own process group, so stop() can also reap the task-runner child if n8n leaves it behind.
	const child = spawn(paths.nodeBin, [paths.n8nBin, ...args], {
		env,
		stdio: ['ignore', out, out],
		detached: true,
	});
	fs.closeSync(out);
	running.add(child);
	child.once('exit', () => running.delete(child));
	return child;
}

async function waitForUrl(
	url: string,
	child: ChildProcess,
	logFile: string,
	what: string,
): Promise<void> {
	const deadline = Date.now() + READY_TIMEOUT_MS;
	while (Date.now() < deadline) {
		if (child.exitCode !== null || child.signalCode !== null) {
			throw new Error(
				`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready; log ${logFile}:\n${tail(logFile)}`,
			);
		}
		try {
			const response = await fetch(url);
			if (response.ok) return;
		} catch {
			// not listening yet
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	throw new Error(
		`${what} not ready after ${READY_TIMEOUT_MS} ms; log ${logFile}:\n${tail(logFile)}`,
	);
}

async function stopProcess(child: ChildProcess): Promise<void> {
	if (child.exitCode === null && child.signalCode === null) {
		const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
		child.kill('SIGTERM');
		const timedOut = await Promise.race([
			exited.then(() => false),
			new Promise<boolean>((resolve) => setTimeout(() => resolve(true), STOP_TIMEOUT_MS)),
		]);
		if (timedOut) {
			killGroup(child, 'SIGKILL');
			await exited;
		}
	}
	killGroup(child, 'SIGKILL');
}

export class N8nInstance {
	private apiKey = '';
	private cookie = '';
	private readonly browserId = `e2e-${randomBytes(6).toString('hex')}`;
	private readonly credentialIds = new Map<string, string>();

	constructor(
		readonly name: string,
		readonly baseUrl: string,
		readonly userFolder: string,
		readonly logFile: string,
		private readonly paths: N8nInstall,
		private readonly env: NodeJS.ProcessEnv,
		private readonly processes: ChildProcess[],
		private readonly cleanup: () => void,
		readonly owner: Owner = { email: OWNER_EMAIL, password: OWNER_PASSWORD },
	) {}

	/** Logs in as the env-managed owner and creates an API key with every scope. */
	async authenticate(): Promise<void> {
		const post = (restPath: string, body: unknown) =>
			fetch(`${this.baseUrl}${restPath}`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', 'browser-id': this.browserId },
				body: JSON.stringify(body),
			});
		const credentials = { emailOrLdapLoginId: this.owner.email, password: this.owner.password };
		// n8n 1.x reports ready before its REST routes are mounted (404 until then) and, on a
		// loaded machine, before its migrations are done (503 "Database is not ready!", or a
		// reset connection): retry those for up to a minute.
		const tryLogin = () => post('/rest/login', credentials).catch((error: Error) => error);
		const starting = (answer: Response | Error) =>
			answer instanceof Error || answer.status === 404 || answer.status === 503;
		let answer = await tryLogin();
		for (let tries = 0; starting(answer) && tries < 300; tries++) {
			await new Promise((resolve) => setTimeout(resolve, 200));
			answer = await tryLogin();
		}
		if (answer instanceof Error) throw answer;
		let login = answer;
		// n8n 1.x has no env-managed owner: set it up as the editor's first visit does.
		if (login.status === 401) {
			login = await post('/rest/owner/setup', {
				email: this.owner.email,
				firstName: 'E2E',
				lastName: 'Owner',
				password: this.owner.password,
			});
		}
		const cookie = login.headers.getSetCookie().find((c) => c.startsWith('n8n-auth='));
		if (!login.ok || !cookie)
			throw new Error(`login failed: HTTP ${login.status} ${await login.text()}`);
		this.cookie = cookie.split(';')[0];
		const scopes = await this.rest<string[]>('GET', '/rest/api-keys/scopes');
		const key = await this.rest<{ rawApiKey: string }>('POST', '/rest/api-keys', {
			label: 'e2e',
			scopes,
			expiresAt: null,
		});
		this.apiKey = key.rawApiKey;
	}

	private async send(
		url: string,
		method: string,
		headers: Record<string, string>,
		body?: unknown,
	): Promise<{ status: number; text: string }> {
		const response = await fetch(url, {
			method,
			headers: {
				...headers,
				...(body === undefined ? {} : { 'content-type': 'application/json' }),
			},
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		return { status: response.status, text: await response.text() };
	}

	private async request<T>(
		url: string,
		method: string,
		headers: Record<string, string>,
		body?: unknown,
	): Promise<T> {
		const { status, text } = await this.send(url, method, headers, body);
		if (status >= 400)
			throw new Error(`${method} ${url} -> HTTP ${status}: ${text.slice(0, 2000)}`);
		return (text ? JSON.parse(text) : undefined) as T;
	}

	/** Public API (/api/v1/...), authenticated with the API key. Returns the parsed body. */
	async api<T = unknown>(method: string, apiPath: string, body?: unknown): Promise<T> {
		return this.request<T>(
			`${this.baseUrl}/api/v1${apiPath}`,
			method,
			{ 'x-n8n-api-key': this.apiKey },
			body,
		);
	}

	private sessionHeaders(): Record<string, string> {
		return { cookie: this.cookie, 'browser-id': this.browserId };
	}

	/** Internal REST API (/rest/..., /types/...) with the owner's session cookie. Unwraps `{ data }`. */
	async rest<T = unknown>(method: string, restPath: string, body?: unknown): Promise<T> {
		const parsed = await this.request<{ data?: T } | T>(
			`${this.baseUrl}${restPath}`,
			method,
			this.sessionHeaders(),
			body,
		);
		return parsed && typeof parsed === 'object' && 'data' in parsed && restPath.startsWith('/rest/')
			? (parsed.data as T)
			: (parsed as T);
	}

	/** Creates a credential; workflows created afterwards get its id wherever a node names it. */
	async createCredential(credential: {
		name: string;
		type: string;
		data: Record<string, unknown>;
	}): Promise<{ id: string; name: string }> {
		const created = await this.api<{ id: string; name: string }>(
			'POST',
			'/credentials',
			credential,
		).catch((error: Error) => {
			// n8n 1.x's public API turns every field hidden by displayOptions (and its own
			// allowedDomains) into a required one; the editor's REST endpoint takes the credential.
			if (!/HTTP 400: .*does not match allOf schema/.test(error.message)) throw error;
			return this.rest<{ id: string; name: string }>('POST', '/rest/credentials', credential);
		});
		this.credentialIds.set(created.name, created.id);
		return created;
	}

	/**
	 * Tests a stored credential the way the editor's "Test" button does: n8n runs the
	 * credential type's `test` request (public API `POST /credentials/{id}/test`, new in 2.x).
	 */
	async testCredential(id: string): Promise<{ status: 'OK' | 'Error'; message: string }> {
		return this.api<{ status: 'OK' | 'Error'; message: string }>(
			'POST',
			`/credentials/${id}/test`,
			{},
		).catch(async (error: Error) => {
			// n8n 1.x has no such public endpoint; the editor's Test button posts the credential.
			if (!/HTTP 404/.test(error.message)) throw error;
			const credentials = await this.rest('GET', `/rest/credentials/${id}?includeData=true`);
			return this.rest('POST', '/rest/credentials/test', { credentials });
		});
	}

	/** Creates a workflow (public API); node credentials are matched by name to those created here. */
	async createWorkflow(workflow: Workflow): Promise<string> {
		const nodes = workflow.nodes.map((node) => {
			if (!node.credentials) return node;
			const credentials = Object.fromEntries(
				Object.entries(node.credentials).map(([type, ref]) => {
					const id = this.credentialIds.get(ref.name);
					if (!id)
						throw new Error(
							`workflow "${workflow.name}", node "${node.name}": no credential named "${ref.name}" was created`,
						);
					return [type, { id, name: ref.name }];
				}),
			);
			return { ...node, credentials };
		});
		const created = await this.api<{ id: string }>('POST', '/workflows', {
			name: workflow.name,
			nodes,
			connections: workflow.connections,
			settings: workflow.settings ?? { executionOrder: 'v1' },
		});
		return created.id;
	}

	/**
	 * Activates (2.x: publishes) a workflow: its triggers start listening/polling. n8n answers
	 * `active: true` before its triggers have started; a failing trigger is retried in the
	 * background and only logged ("There was a problem activating the workflow", see
	 * activationProblems()) until the retries run out and activationError() reports it.
	 */
	async activateWorkflow(id: string): Promise<void> {
		const workflow = await this.api<{ active: boolean }>('POST', `/workflows/${id}/activate`, {});
		if (!workflow.active) throw new Error(`workflow ${id} did not become active`);
		const error = await this.activationError(id);
		if (error)
			throw new Error(`workflow ${id} is active but its trigger failed to start: ${error}`);
	}

	/** Log lines of failed trigger starts (every attempt is logged; see activateWorkflow). */
	activationProblems(): string[] {
		return this.log()
			.split('\n')
			.filter((line) => line.startsWith('There was a problem activating the workflow'));
	}

	/** The error n8n recorded once a trigger of this workflow gave up starting, if any. */
	async activationError(id: string): Promise<string | undefined> {
		const error = await this.rest<string | null | { message?: string }>(
			'GET',
			`/rest/active-workflows/error/${id}`,
		);
		if (!error) return undefined;
		return typeof error === 'string' ? error : (error.message ?? JSON.stringify(error));
	}

	async deactivateWorkflow(id: string): Promise<void> {
		await this.api('POST', `/workflows/${id}/deactivate`, {});
	}

	/** Executions of a workflow, newest first (public API). */
	async executions(
		workflowId: string,
		options: { includeData?: boolean; status?: string } = {},
	): Promise<Execution[]> {
		const query = new URLSearchParams({
			workflowId,
			includeData: String(options.includeData ?? true),
			limit: '250',
		});
		if (options.status) query.set('status', options.status);
		const page = await this.api<{ data: Execution[] }>('GET', `/executions?${query.toString()}`);
		return page.data;
	}

	/**
	 * Polls the executions of a workflow until `until` holds for the finished ones (default: at
	 * least `count` finished executions), then returns them oldest first.
	 */
	async waitForExecutions(
		workflowId: string,
		options: {
			count?: number;
			until?: (finished: Execution[]) => boolean;
			timeoutMs?: number;
			intervalMs?: number;
		} = {},
	): Promise<Execution[]> {
		const { count = 1, timeoutMs = 60_000, intervalMs = 250 } = options;
		const until = options.until ?? ((finished: Execution[]) => finished.length >= count);
		const deadline = Date.now() + timeoutMs;
		let finished: Execution[] = [];
		while (Date.now() < deadline) {
			finished = (await this.executions(workflowId))
				.filter((e) => e.stoppedAt && !['new', 'running', 'waiting'].includes(e.status))
				.reverse();
			if (until(finished)) return finished;
			await new Promise((resolve) => setTimeout(resolve, intervalMs));
		}
		const seen = finished.map((e) => `${e.id}:${e.status}`).join(', ') || 'none';
		const problems = this.activationProblems().join('\n') || 'none';
		throw new Error(
			`workflow ${workflowId}: condition not met after ${timeoutMs} ms (finished executions: ${seen}; activation problems: ${problems}); log ${this.logFile}:\n${tail(this.logFile, 40)}`,
		);
	}

	/** Runs an n8n CLI command against this instance's folder and database (own task-runner port). */
	async cli(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
		const env = { ...this.env, N8N_RUNNERS_BROKER_PORT: String(await freePort()) };
		return new Promise((resolve, reject) => {
			const child = spawn(this.paths.nodeBin, [this.paths.n8nBin, ...args], {
				env,
				stdio: ['ignore', 'pipe', 'pipe'],
			});
			let stdout = '';
			let stderr = '';
			child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
			child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
			child.on('error', reject);
			child.on('close', (code) => resolve({ exitCode: code ?? -1, stdout, stderr }));
		});
	}

	/**
	 * `n8n execute --id`: runs a workflow that starts with a Manual (or Execute Workflow) Trigger
	 * and returns the run data it prints. Its stdout mixes log lines with the JSON.
	 */
	async execute(workflowId: string): Promise<CliExecution> {
		const { exitCode, stdout, stderr } = await this.cli([
			'execute',
			`--id=${workflowId}`,
			'--rawOutput',
		]);
		// The run is logged at info level as pretty-printed JSON: from a line "{" to the next line "}".
		const lines = stdout.split('\n');
		const start = lines.indexOf('{');
		const end = lines.indexOf('}', start);
		let result: CliExecution['result'];
		if (start >= 0 && end > start) {
			try {
				result = JSON.parse(lines.slice(start, end + 1).join('\n')) as CliExecution['result'];
			} catch {
				result = undefined;
			}
		}
		return { exitCode, result, stdout, stderr };
	}

	/**
	 * The description of a loaded node type, asked by full name (e.g. `n8n-nodes-esi-leap.esiLease`),
	 * or undefined when n8n has not loaded it. The description's `name` is the short one (`esiLease`).
	 * (/types/nodes.json, the editor's list, does not exist with the UI off.)
	 */
	async nodeType(
		name: string,
		version = 1,
	): Promise<{ name: string; version: number | number[]; [key: string]: unknown } | undefined> {
		const { status, text } = await this.send(
			`${this.baseUrl}/rest/node-types`,
			'POST',
			this.sessionHeaders(),
			{ nodeInfos: [{ name, version }] },
		);
		// An unknown type makes n8n answer with an error status rather than an empty list.
		if (status >= 400) return undefined;
		const [description] = (
			JSON.parse(text) as { data: Array<{ name: string; version: number | number[] } | null> }
		).data;
		return description ?? undefined;
	}

	/** Whether n8n has loaded a credential type (e.g. `esiLeapApi`). */
	async hasCredentialType(name: string): Promise<boolean> {
		const { status, text } = await this.send(
			`${this.baseUrl}/api/v1/credentials/schema/${encodeURIComponent(name)}`,
			'GET',
			{ 'x-n8n-api-key': this.apiKey },
		);
		if (status !== 200 && status !== 404)
			throw new Error(`credential schema ${name}: HTTP ${status} ${text.slice(0, 500)}`);
		return status === 200;
	}

	/** The main process's log so far, or the worker's (queue mode). */
	log(process: 'main' | 'worker' = 'main'): string {
		return fs.readFileSync(process === 'main' ? this.logFile : this.workerLogFile, 'utf8');
	}

	/** Where the worker logs in queue mode. */
	get workerLogFile(): string {
		return path.join(this.userFolder, 'n8n-worker.log');
	}

	async stop(): Promise<void> {
		// Main first: in queue mode it stops handing out jobs before the worker goes.
		for (const child of this.processes) await stopProcess(child);
		this.cleanup();
	}
}

/** Starts n8n (and in queue mode a worker), waits for readiness, logs in and creates an API key. */
export async function startN8n(options: StartOptions = {}): Promise<N8nInstance> {
	const paths = installation();
	const name = options.name ?? 'n8n';
	const owner = options.owner ?? { email: OWNER_EMAIL, password: OWNER_PASSWORD };
	const keepFolder = options.userFolder !== undefined || Boolean(process.env.E2E_KEEP);
	const userFolder = options.userFolder
		? (fs.mkdirSync(options.userFolder, { recursive: true }), path.resolve(options.userFolder))
		: fs.mkdtempSync(path.join(os.tmpdir(), `esi-leap-e2e-${name.replace(/[^a-z0-9-]/gi, '-')}-`));
	const nodesDir = path.join(userFolder, '.n8n', 'nodes');
	if (options.packages) {
		installPackages(nodesDir, options.packages);
	} else {
		const template = process.env.E2E_NODES_TEMPLATE;
		if (!template)
			throw new Error(
				'E2E_NODES_TEMPLATE is not set: run through `npm run test:e2e` (its global setup packs this package) or pass `packages`',
			);
		fs.cpSync(template, nodesDir, { recursive: true, verbatimSymlinks: true });
	}

	const port = options.port ?? (await freePort());
	const env: NodeJS.ProcessEnv = {
		...baseEnv(paths, userFolder, port, await freePort(), owner),
		...(options.ui ? { N8N_DISABLE_UI: 'false' } : {}),
		...(process.env.E2E_N8N_ENV
			? (JSON.parse(process.env.E2E_N8N_ENV) as Record<string, string>)
			: {}),
		...options.env,
	};
	const logFile = path.join(userFolder, 'n8n.log');
	const cleanups: Array<() => void> = [];
	const processes: ChildProcess[] = [];

	const fail = async (error: unknown): Promise<never> => {
		for (const child of processes) await stopProcess(child);
		for (const cleanup of cleanups) cleanup();
		throw error;
	};

	try {
		let worker: { env: NodeJS.ProcessEnv; healthPort: number } | undefined;
		if (options.mode === 'queue') {
			const suffix = randomBytes(4).toString('hex');
			Object.assign(env, {
				EXECUTIONS_MODE: 'queue',
				QUEUE_BULL_REDIS_HOST: process.env.E2E_REDIS_HOST ?? '127.0.0.1',
				QUEUE_BULL_REDIS_PORT: process.env.E2E_REDIS_PORT ?? '6379',
				QUEUE_BULL_PREFIX: `e2e-${suffix}`,
				// main and worker share one database; sqlite is not meant for that
				DB_TYPE: 'postgresdb',
				DB_POSTGRESDB_HOST: process.env.E2E_PG_HOST ?? '127.0.0.1',
				DB_POSTGRESDB_PORT: process.env.E2E_PG_PORT ?? '5432',
				DB_POSTGRESDB_USER: process.env.E2E_PG_USER ?? 'postgres',
				DB_POSTGRESDB_PASSWORD: process.env.E2E_PG_PASSWORD ?? '',
				DB_POSTGRESDB_DATABASE: `esi_leap_e2e_${suffix}`,
				...options.env,
			});
			postgres(paths, env, `CREATE DATABASE ${env.DB_POSTGRESDB_DATABASE}`);
			cleanups.push(() => deleteRedisKeys(paths, env, env.QUEUE_BULL_PREFIX!));
			cleanups.push(() =>
				postgres(paths, env, `DROP DATABASE IF EXISTS ${env.DB_POSTGRESDB_DATABASE} WITH (FORCE)`),
			);
			const healthPort = await freePort();
			worker = {
				healthPort,
				env: {
					...env,
					N8N_RUNNERS_BROKER_PORT: String(await freePort()),
					QUEUE_HEALTH_CHECK_ACTIVE: 'true',
					QUEUE_HEALTH_CHECK_PORT: String(healthPort),
				},
			};
		}
		if (!keepFolder) cleanups.push(() => fs.rmSync(userFolder, { recursive: true, force: true }));

		const main = spawnN8n(paths, ['start'], env, logFile);
		processes.push(main);
		// The worker needs the database migrated by main, so it starts once main is ready.
		await waitForUrl(`http://127.0.0.1:${port}/healthz/readiness`, main, logFile, `n8n ${name}`);
		if (worker) {
			const child = spawnN8n(
				paths,
				['worker', '--concurrency=5'],
				worker.env,
				path.join(userFolder, 'n8n-worker.log'),
			);
			processes.push(child);
			await waitForUrl(
				`http://127.0.0.1:${worker.healthPort}/healthz/readiness`,
				child,
				path.join(userFolder, 'n8n-worker.log'),
				`n8n worker ${name}`,
			);
		}
		const instance = new N8nInstance(
			name,
			`http://127.0.0.1:${port}`,
			userFolder,
			logFile,
			paths,
			env,
			processes,
			() => cleanups.forEach((c) => c()),
			owner,
		);
		await instance.authenticate();
		return instance;
	} catch (error) {
		return fail(error);
	}
}
