/**
 * Runs once before the e2e tests: makes sure the pinned n8n is installed (slow only the first
 * time), builds and packs this package, and installs the tarball into a template
 * `.n8n/nodes` folder that every test instance copies (a real `npm install`, done once).
 * Exposes E2E_NODES_TEMPLATE (that folder) and E2E_PACKAGE_TARBALL to the tests.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { installPackages } from './harness';
import { ensureN8nInstalled } from './n8n-install';

function timed<T>(label: string, fn: () => T): T {
	const started = Date.now();
	const result = fn();
	process.stderr.write(`[e2e setup] ${label}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
	return result;
}

function npm(args: string[], cwd: string): string {
	const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
	const result = spawnSync('npm', args, { cwd, env, encoding: 'utf8' });
	if (result.status !== 0)
		throw new Error(`npm ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
	return result.stdout;
}

export default async function setup(project: TestProject): Promise<() => void> {
	const repoRoot = project.config.root;
	const started = Date.now();
	await ensureN8nInstalled();
	process.stderr.write(
		`[e2e setup] n8n install check: ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
	);

	const work = fs.mkdtempSync(path.join(os.tmpdir(), 'esi-leap-e2e-package-'));
	if (!process.env.E2E_SKIP_BUILD) timed('npm run build', () => npm(['run', 'build'], repoRoot));
	const packed = timed(
		'npm pack',
		() =>
			JSON.parse(npm(['pack', '--json', '--pack-destination', work], repoRoot)) as Array<{
				filename: string;
			}>,
	);
	const tarball = path.join(work, path.basename(packed[0].filename));

	const template = path.join(work, 'nodes');
	timed('npm install <tarball> into the nodes folder', () => installPackages(template, [tarball]));
	const installed = path.join(template, 'node_modules');
	for (const dependency of ['n8n-nodes-esi-leap', 'amqplib']) {
		if (!fs.existsSync(path.join(installed, dependency, 'package.json'))) {
			throw new Error(`${dependency} is missing from ${installed} after installing ${tarball}`);
		}
	}

	// Read by harness.ts in the test workers (forked after this setup, so they inherit it).
	process.env.E2E_NODES_TEMPLATE = template;
	process.env.E2E_PACKAGE_TARBALL = tarball;
	return () => fs.rmSync(work, { recursive: true, force: true });
}
