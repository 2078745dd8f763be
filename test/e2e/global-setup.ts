/**
 * Runs once before the e2e tests: makes sure the pinned n8n is installed (slow only the first
 * time), builds and packs this package, and installs the tarball into a template
 * `.n8n/nodes` folder that every test instance copies (a real `npm install`, done once).
 * Exposes E2E_NODES_TEMPLATE (that folder) and E2E_PACKAGE_TARBALL to the tests.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { installPackages } from './harness';
import { ensureN8nInstalled } from './n8n-install';
import { buildAndPack, timed } from './package-build';

const log = (line: string) => process.stderr.write(`[e2e setup] ${line}\n`);

export default async function setup(project: TestProject): Promise<() => void> {
	const repoRoot = project.config.root;
	const started = Date.now();
	await ensureN8nInstalled();
	process.stderr.write(
		`[e2e setup] n8n install check: ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
	);

	const work = fs.mkdtempSync(path.join(os.tmpdir(), 'esi-leap-e2e-package-'));
	const tarball = buildAndPack(repoRoot, work, { build: !process.env.E2E_SKIP_BUILD, log });

	const template = path.join(work, 'nodes');
	timed(
		'npm install <tarball> into the nodes folder',
		() => installPackages(template, [tarball]),
		log,
	);
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
