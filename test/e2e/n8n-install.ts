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
 * Idempotent: a marker file records the versions; installs go to a `.partial` folder renamed
 * into place at the end, so an interrupted run is never mistaken for a finished one.
 *
 * CLI: `npx tsx test/e2e/n8n-install.ts` (prints the paths as JSON on success).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const NODE_VERSION = '24.21.0';
export const N8N_VERSION = '2.41.1';

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

export function installPaths(root = cacheDir()): N8nInstall {
	const nodePkg = `node-linux-${process.arch}`;
	const nodeHome = path.join(root, `node-${NODE_VERSION}`);
	const nodeDir = path.join(nodeHome, 'node_modules', nodePkg);
	// sqlite3 is compiled against one Node ABI, so the n8n folder is keyed by the Node version too.
	const n8nDir = path.join(root, `n8n-${N8N_VERSION}-node-${NODE_VERSION}`);
	return {
		cacheDir: root,
		nodeBin: path.join(nodeDir, 'bin', 'node'),
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

function freshDir(dir: string): void {
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

/** A lock so two test runs (or two engineers) never install into the same folder at once. */
async function withLock<T>(root: string, fn: () => T, log: (line: string) => void): Promise<T> {
	fs.mkdirSync(root, { recursive: true });
	const lock = path.join(root, '.install.lock');
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
): Promise<N8nInstall> {
	const paths = installPaths();
	const nodeHome = path.dirname(path.dirname(paths.nodeDir));
	const nodeMarker = { node: NODE_VERSION };
	const n8nMarker = { node: NODE_VERSION, n8n: N8N_VERSION };
	if (isInstalled(nodeHome, nodeMarker) && isInstalled(paths.n8nDir, n8nMarker)) return paths;

	return withLock(
		paths.cacheDir,
		() => {
			const total = Date.now();
			if (!isInstalled(nodeHome, nodeMarker)) {
				const partial = `${nodeHome}.partial`;
				freshDir(partial);
				run(
					'npm',
					[
						'install',
						'--ignore-scripts',
						'--save-exact',
						`node-linux-${process.arch}@${NODE_VERSION}`,
					],
					partial,
					npmEnv(paths),
					log,
				);
				finish(partial, nodeHome, nodeMarker);
			}
			const version = spawnSync(paths.nodeBin, ['--version'], { encoding: 'utf8' }).stdout.trim();
			if (version !== `v${NODE_VERSION}`)
				throw new Error(
					`${paths.nodeBin} reports ${version || 'nothing'}, expected v${NODE_VERSION}`,
				);

			if (!isInstalled(paths.n8nDir, n8nMarker)) {
				const partial = `${paths.n8nDir}.partial`;
				freshDir(partial);
				const env = npmEnv(paths);
				run(
					'npm',
					['install', '--ignore-scripts', '--save-exact', '--prefer-offline', `n8n@${N8N_VERSION}`],
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
				if (probe.status !== 0 || probe.stdout.trim() !== N8N_VERSION) {
					throw new Error(`n8n install check failed: ${probe.stdout} ${probe.stderr}`);
				}
				finish(partial, paths.n8nDir, n8nMarker);
			}
			log(
				`installed Node ${NODE_VERSION} + n8n ${N8N_VERSION} in ${((Date.now() - total) / 1000).toFixed(1)} s under ${paths.cacheDir}`,
			);
			return paths;
		},
		log,
	);
}

// Run directly (tsx, CommonJS) rather than imported by the harness or global setup.
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
	ensureN8nInstalled().then(
		(paths) => process.stdout.write(`${JSON.stringify(paths, null, 2)}\n`),
		(error: unknown) => {
			process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
			process.exit(1);
		},
	);
}
