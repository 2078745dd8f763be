/**
 * The cloud package (n8n-nodes-esi-leap-cloud), built as it is released (cloud/build.ts: select,
 * stage, `n8n-node build`, `n8n-node lint` with n8n's cloud rules, `npm pack`) and checked against
 * n8n's verification rules on the unpacked tarball. Each check also runs on a planted copy, so a
 * check that stopped looking fails here.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildCloudPackage, readManifest, REPO, STAGING, type CloudBuild } from '../../cloud/build';
import {
	environmentOrFileAccess,
	readPackedManifest,
	runtimeDependencies,
	scanPackage,
} from './verify';

let build: CloudBuild;
let unpacked: string;
const scratch: string[] = [];

function temporaryCopy(from: string): string {
	const to = mkdtempSync(path.join(tmpdir(), 'esi-leap-cloud-'));
	scratch.push(to);
	cpSync(from, to, { recursive: true });
	return to;
}

beforeAll(() => {
	build = buildCloudPackage();
	unpacked = mkdtempSync(path.join(tmpdir(), 'esi-leap-cloud-'));
	scratch.push(unpacked);
	const tar = spawnSync('tar', ['-xzf', build.tarball, '-C', unpacked, '--strip-components=1']);
	expect(tar.status, String(tar.stderr)).toBe(0);
}, 240_000);

afterAll(() => {
	for (const directory of scratch) rmSync(directory, { recursive: true, force: true });
});

describe('the cloud package n8n-nodes-esi-leap-cloud', () => {
	it('is selected by import: the Event History mode, ESI Lease and the credential, no bus code', () => {
		expect(build.sources).toEqual(
			expect.arrayContaining([
				'cloud/nodes/EsiLeapTrigger/EsiLeapTrigger.node.ts',
				'nodes/EsiLeapTrigger/modes/eventHistory.ts',
				'nodes/core/history/poller.ts',
				'nodes/EsiLease/EsiLease.node.ts',
				'credentials/EsiLeapApi.credentials.ts',
			]),
		);
		const bus = build.sources.filter((source) => /bus|messageBus|amqp|MessageBus/.test(source));
		expect(bus).toEqual([]);
		expect(build.sources).not.toContain('nodes/EsiLeapTrigger/EsiLeapTrigger.node.ts');
	});

	it('ships what its manifest names, with the name and version of the release', () => {
		const manifest = readPackedManifest(unpacked);
		expect(manifest.name).toBe('n8n-nodes-esi-leap-cloud');
		const root = JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8'));
		expect(manifest.version).toBe(root.version);
		expect(manifest.n8n.strict).toBe(true);
		for (const entry of [...manifest.n8n.nodes, ...manifest.n8n.credentials]) {
			expect(() => readFileSync(path.join(unpacked, entry))).not.toThrow();
		}
		const codex = JSON.parse(
			readFileSync(
				path.join(unpacked, 'dist/cloud/nodes/EsiLeapTrigger/EsiLeapTrigger.node.json'),
				'utf8',
			),
		);
		expect(codex.node).toBe('n8n-nodes-esi-leap-cloud.esiLeapTrigger');
	});

	it('builds the shared credential type esiLeapApi byte for byte as the full package does (safe side by side)', () => {
		const full = path.join(REPO, 'dist/credentials/EsiLeapApi.credentials.js');
		expect(existsSync(full), `${full} is missing: run npm run build first (npm test does)`).toBe(
			true,
		);
		const fullCode = readFileSync(full, 'utf8');
		const cloudCode = readFileSync(
			path.join(unpacked, 'dist/credentials/EsiLeapApi.credentials.js'),
			'utf8',
		);
		expect(cloudCode).toBe(fullCode);
		// ...with the same icon beside it, where the credential's file: path points.
		expect(readFileSync(path.join(unpacked, 'dist/icons/esiLeap.svg'))).toEqual(
			readFileSync(path.join(REPO, 'dist/icons/esiLeap.svg')),
		);
	});

	it('is published with the full package, with provenance, from a version tag', () => {
		const publish = readFileSync(path.join(REPO, '.github/workflows/publish.yml'), 'utf8');
		expect(publish).toMatch(/tags:\s*\n\s*- '\*\.\*\.\*'/);
		expect(publish).toContain('id-token: write');
		expect(publish).toContain('run: npm run release');
		expect(publish).toContain('run: npm run build:cloud');
		expect(publish).toContain('run: npm publish ./build/cloud --provenance --access public');
		expect(publish).toContain('for manifest in package.json cloud/package.json');
	});

	it('rule: no runtime dependencies (a planted dependency is found)', () => {
		expect(runtimeDependencies(readPackedManifest(unpacked))).toEqual([]);
		const planted = { ...readPackedManifest(unpacked), dependencies: { amqplib: '^0.10.9' } };
		expect(runtimeDependencies(planted)).toEqual(['amqplib']);
	});

	it('rule: no environment or file access in the shipped code (planted ones are found)', () => {
		expect(environmentOrFileAccess(unpacked)).toEqual([]);
		const copy = temporaryCopy(unpacked);
		const poller = path.join(copy, 'dist/nodes/core/history/poller.js');
		writeFileSync(
			poller,
			`${readFileSync(poller, 'utf8')}\nconst fs = require("node:fs");\nconst floor = process.env.FLOOR;\n`,
		);
		expect(environmentOrFileAccess(copy)).toEqual([
			'dist/nodes/core/history/poller.js: loads "node:fs"',
			'dist/nodes/core/history/poller.js: uses process',
		]);
	});

	it("rule: `n8n-node lint` with n8n's cloud rules is clean on its sources (strict mode, n8n's own config)", async () => {
		expect(build.lintOutput).not.toMatch(/problem|warning|error/i);
		const template = readFileSync(
			path.join(
				REPO,
				'node_modules/@n8n/node-cli/dist/template/templates/shared/default/eslint.config.mjs',
			),
			'utf8',
		);
		expect(readFileSync(path.join(STAGING, 'eslint.config.mjs'), 'utf8')).toBe(template);
		expect(readManifest().n8n).toMatchObject({ strict: true });
		// The same rules catch a timer in the history code (the reason the poller takes a clock).
		const eslint = new ESLint({ cwd: STAGING });
		const poller = path.join(STAGING, 'nodes/core/history/poller.ts');
		const [result] = await eslint.lintText(
			`${readFileSync(poller, 'utf8')}\nexport const wait = () => setTimeout(() => undefined, 1);\n`,
			{ filePath: poller },
		);
		expect(result.messages.map((message) => message.ruleId)).toContain(
			'@n8n/community-nodes/no-restricted-globals',
		);
	}, 60_000);

	it("rule: @n8n/scan-community-package's analyzer passes on the unpacked tarball and on the staged sources", async () => {
		const tarball = scanPackage(unpacked);
		expect(tarball.details ?? tarball.message ?? '').toBe('');
		expect(tarball.passed).toBe(true);
		const sources = scanPackage(STAGING, [
			'package.json',
			'{nodes,credentials,cloud}/**/*.{js,ts,json}',
		]);
		expect(sources.details ?? sources.message ?? '').toBe('');
		expect(sources.passed).toBe(true);
	}, 120_000);

	it('the analyzer fails a planted copy (a runtime dependency and a timer)', async () => {
		const copy = temporaryCopy(unpacked);
		const manifest = readPackedManifest(copy);
		writeFileSync(
			path.join(copy, 'package.json'),
			JSON.stringify({ ...manifest, dependencies: { amqplib: '^0.10.9' } }),
		);
		const poller = path.join(copy, 'dist/nodes/core/history/poller.js');
		writeFileSync(poller, `${readFileSync(poller, 'utf8')}\nsetTimeout(() => undefined, 1);\n`);
		const result = scanPackage(copy);
		expect(result.passed).toBe(false);
		expect(result.details).toContain('no-runtime-dependencies');
		expect(result.details).toContain('no-restricted-globals');
	}, 120_000);
});
