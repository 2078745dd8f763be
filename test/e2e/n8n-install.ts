/**
 * Installs the pinned Node 24 + n8n used by the end-to-end tests into a cache folder
 * shared between runs (default ~/.cache/n8n-nodes-esi-leap, or $E2E_CACHE_DIR).
 *
 * Why this shape (measured in /work/shared/n8n/running-n8n.md):
 * - n8n 2.x needs Node >= 22; the machine has Node 20, so we fetch `node-linux-<arch>` from npm
 *   (binary + headers, no install script needed).
 * - `npm install n8n` must run with --ignore-scripts (the Kafka native build downloads from
 *   GitHub and aborts the whole install); only sqlite3 is then rebuilt, against Node 24's headers.
 * - n8n@2.41.3 does not resolve on the registry snapshot we have, so the version is exact.
 *
 * - n8n 1.x (N8N_1X, for the compatibility run `npm run test:e2e:1x`) runs on the Node running
 *   this script (Node 20 here); its n8n-nodes-base pins `xlsx` to a cdn.sheetjs.com URL, which is
 *   unreachable, so an override takes the registry's xlsx (running-n8n.md §2, "1.x fallback").
 *
 * Idempotent: a marker file records the versions; installs go to a `.partial` folder renamed
 * into place at the end, so an interrupted run is never mistaken for a finished one.
 *
 * CLI: `npx tsx test/e2e/n8n-install.ts [1.x]` (prints the paths as JSON on success).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const NODE_VERSION = '24.21.0';
export const N8N_VERSION = '2.41.1';

/** One pinned n8n the e2e suite runs against. */
export interface N8nPin {
	n8n: string;
	/** A Node from npm (`node-linux-<arch>@version`), or null: the Node running this script. */
	node: string | null;
	/** npm overrides for the install folder's package.json. */
	overrides?: Record<string, string>;
	/** Environment n8n needs on this version (the harness reads it as E2E_N8N_ENV). */
	env: Record<string, string>;
}

export const N8N_2X: N8nPin = { n8n: N8N_VERSION, node: NODE_VERSION, env: {} };

/**
 * The newest 1.x on the registry (`npm view n8n@1 version`), engines ">=20.19 <= 24.x".
 * Its env: isolated-vm 6.2 has no Node 20 prebuild, so the legacy expression engine; task runners
 * are opt-in in 1.x; `mcp-registry` is no module of 1.x (n8n refuses to start when it is named).
 */
export const N8N_1X: N8nPin = {
	n8n: '1.123.81',
	node: null,
	overrides: { xlsx: '0.18.5' },
	env: {
		N8N_EXPRESSION_ENGINE: 'legacy',
		N8N_RUNNERS_ENABLED: 'true',
		N8N_DISABLED_MODULES: '',
	},
};

export interface N8nInstall {
	cacheDir: string;
	/** Node 24 binary that runs n8n. */
	nodeBin: string;
	/** Folder holding node's `bin/` and `include/node` (used as npm_config_nodedir). */
	nodeDir: string;
	/** Folder whose node_modules holds n8n. */
	n8nDir: string;
	/** n8n's CLI entry point (run it with nodeBin). */
	n8nBin: string;
}

export function cacheDir(): string {
	return process.env.E2E_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'n8n-nodes-esi-leap');
}

export function installPaths(root = cacheDir(), pin: N8nPin = N8N_2X): N8nInstall {
	const nodeVersion = pin.node ?? process.versions.node;
	// The running Node: its headers are in <prefix>/include/node (Debian's nodejs: /usr).
	const nodeDir =
		pin.node === null
			? path.resolve(process.execPath, '..', '..')
			: path.join(root, `node-${pin.node}`, 'node_modules', `node-linux-${process.arch}`);
	// sqlite3 is compiled against one Node ABI, so the n8n folder is keyed by the Node version too.
	const n8nDir = path.join(root, `n8n-${pin.n8n}-node-${nodeVersion}`);
	return {
		cacheDir: root,
		nodeBin: pin.node === null ? process.execPath : path.join(nodeDir, 'bin', 'node'),
		nodeDir,
		n8nDir,
		n8nBin: path.join(n8nDir, 'node_modules', 'n8n', 'bin', 'n8n'),
	};
}

const MARKER = '.e2e-installed.json';

function isInstalled(dir: string, expected: Record<string, string>): boolean {
	try {
		const marker = JSON.parse(fs.readFileSync(path.join(dir, MARKER), 'utf8')) as Record<
			string,
			string
		>;
		return Object.entries(expected).every(([k, v]) => marker[k] === v);
	} catch {
		return false;
	}
}

/**
 * npm invoked from `npm run` inherits npm_config_* from the project (.npmrc has
 * ignore-scripts=true, ~/.npmrc has nodedir=/usr = Node 20 headers); both would break the
 * sqlite3 build, so child npm processes get a clean npm environment.
 */
function npmEnv(paths: N8nInstall): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [k, v] of Object.entries(process.env)) {
		if (!/^npm_/i.test(k)) env[k] = v;
	}
	if (process.env.npm_config_cache) env.npm_config_cache = process.env.npm_config_cache;
	env.npm_config_nodedir = paths.nodeDir;
	env.npm_config_fund = 'false';
	env.npm_config_audit = 'false';
	env.npm_config_update_notifier = 'false';
	if (fs.existsSync(paths.nodeBin))
		env.PATH = `${path.dirname(paths.nodeBin)}${path.delimiter}${env.PATH ?? ''}`;
	return env;
}

function run(
	cmd: string,
	args: string[],
	cwd: string,
	env: NodeJS.ProcessEnv,
	log: (line: string) => void,
): void {
	const started = Date.now();
	log(`$ (cd ${cwd} && ${cmd} ${args.join(' ')})`);
	const result = spawnSync(cmd, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
	const seconds = ((Date.now() - started) / 1000).toFixed(1);
	if (result.status !== 0) {
		throw new Error(
			`${cmd} ${args.join(' ')} failed in ${cwd} (exit ${result.status}, ${seconds} s)`,
		);
	}
	log(`  done in ${seconds} s`);
}

function freshDir(dir: string, overrides?: Record<string, string>): void {
	fs.rmSync(dir, { recursive: true, force: true });
	fs.mkdirSync(dir, { recursive: true });
	fs.writeFileSync(
		path.join(dir, 'package.json'),
		JSON.stringify({
			name: path
				.basename(dir)
				.replace(/[^a-z0-9-]/gi, '-')
				.toLowerCase(),
			private: true,
			...(overrides ? { overrides } : {}),
		}),
	);
}

function finish(partial: string, final: string, marker: Record<string, string>): void {
	fs.writeFileSync(
		path.join(partial, MARKER),
		JSON.stringify({ ...marker, at: new Date().toISOString() }, null, 2),
	);
	fs.rmSync(final, { recursive: true, force: true });
	fs.renameSync(partial, final);
}

/**
 * A lock so two test runs (or two engineers) never install into the same folder at once; one per
 * n8n folder, so the 1.x and the 2.x install do not wait for each other.
 */
async function withLock<T>(
	root: string,
	name: string,
	fn: () => T,
	log: (line: string) => void,
): Promise<T> {
	fs.mkdirSync(root, { recursive: true });
	const lock = path.join(root, `.${name}.lock`);
	for (let waited = 0; ; waited++) {
		try {
			fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
			break;
		} catch {
			const holder = Number(fs.readFileSync(lock, 'utf8'));
			let alive = false;
			try {
				process.kill(holder, 0);
				alive = true;
			} catch {
				alive = false;
			}
			if (!alive) {
				fs.rmSync(lock, { force: true });
				continue;
			}
			if (waited % 30 === 0) log(`waiting for install lock held by pid ${holder}`);
			await new Promise((resolve) => setTimeout(resolve, 2000));
		}
	}
	try {
		return fn();
	} finally {
		fs.rmSync(lock, { force: true });
	}
}

export async function ensureN8nInstalled(
	log: (line: string) => void = (l) => process.stderr.write(`[n8n-install] ${l}\n`),
	pin: N8nPin = N8N_2X,
): Promise<N8nInstall> {
	const paths = installPaths(cacheDir(), pin);
	const nodeVersion = pin.node ?? process.versions.node;
	// Only a Node from npm has a home of its own in the cache.
	const nodeHome = pin.node === null ? null : path.dirname(path.dirname(paths.nodeDir));
	const nodeMarker = { node: nodeVersion };
	const n8nMarker = { node: nodeVersion, n8n: pin.n8n };
	const nodeReady = () => nodeHome === null || isInstalled(nodeHome, nodeMarker);
	if (nodeReady() && isInstalled(paths.n8nDir, n8nMarker)) return paths;

	return withLock(
		paths.cacheDir,
		path.basename(paths.n8nDir),
		() => {
			const total = Date.now();
			if (nodeHome !== null && !nodeReady()) {
				const partial = `${nodeHome}.partial`;
				freshDir(partial);
				run(
					'npm',
					['install', '--ignore-scripts', '--save-exact', `node-linux-${process.arch}@${pin.node}`],
					partial,
					npmEnv(paths),
					log,
				);
				finish(partial, nodeHome, nodeMarker);
			}
			const version = spawnSync(paths.nodeBin, ['--version'], { encoding: 'utf8' }).stdout.trim();
			if (version !== `v${nodeVersion}`)
				throw new Error(
					`${paths.nodeBin} reports ${version || 'nothing'}, expected v${nodeVersion}`,
				);

			if (!isInstalled(paths.n8nDir, n8nMarker)) {
				const partial = `${paths.n8nDir}.partial`;
				freshDir(partial, pin.overrides);
				const env = npmEnv(paths);
				run(
					'npm',
					['install', '--ignore-scripts', '--save-exact', '--prefer-offline', `n8n@${pin.n8n}`],
					partial,
					env,
					log,
				);
				run('npm', ['rebuild', 'sqlite3', '--ignore-scripts=false'], partial, env, log);
				const probe = spawnSync(
					paths.nodeBin,
					[
						'-e',
						"new (require('sqlite3').Database)(':memory:').close(); console.log(require('n8n/package.json').version)",
					],
					{
						cwd: partial,
						encoding: 'utf8',
					},
				);
				if (probe.status !== 0 || probe.stdout.trim() !== pin.n8n) {
					throw new Error(`n8n install check failed: ${probe.stdout} ${probe.stderr}`);
				}
				finish(partial, paths.n8nDir, n8nMarker);
			}
			log(
				`installed Node ${nodeVersion} + n8n ${pin.n8n} in ${((Date.now() - total) / 1000).toFixed(1)} s under ${paths.cacheDir}`,
			);
			return paths;
		},
		log,
	);
}

// Run directly (tsx, CommonJS) rather than imported by the harness or global setup.
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
	const pin = process.argv[2] === '1.x' ? N8N_1X : N8N_2X;
	ensureN8nInstalled(undefined, pin).then(
		(paths) => process.stdout.write(`${JSON.stringify(paths, null, 2)}\n`),
		(error: unknown) => {
			process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
			process.exit(1);
		},
	);
}
