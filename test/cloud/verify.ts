/**
 * The verification rules n8n applies to a package it verifies, checked on our `npm pack` output
 * (test/cloud/package.test.ts runs them on the cloud package, and on planted copies to show each
 * check can fail).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { toolEnvironment } from '../../cloud/build';

export interface PackedManifest {
	name: string;
	version: string;
	dependencies?: Record<string, string>;
	optionalDependencies?: Record<string, string>;
	bundleDependencies?: unknown;
	bundledDependencies?: unknown;
	n8n: { strict?: boolean; nodes: string[]; credentials: string[] };
}

export function readPackedManifest(packageDir: string): PackedManifest {
	return JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as PackedManifest;
}

/** Rule 1: no runtime dependencies. Returns the offending entries. */
export function runtimeDependencies(manifest: PackedManifest): string[] {
	return [
		...Object.keys(manifest.dependencies ?? {}),
		...Object.keys(manifest.optionalDependencies ?? {}),
		...(manifest.bundleDependencies || manifest.bundledDependencies
			? ['bundled dependencies']
			: []),
	];
}

function filesUnder(directory: string, suffix: string): string[] {
	return readdirSync(directory).flatMap((entry) => {
		const full = path.join(directory, entry);
		if (statSync(full).isDirectory())
			return entry === 'node_modules' ? [] : filesUnder(full, suffix);
		return full.endsWith(suffix) ? [full] : [];
	});
}

/** Modules a verified package may load: its own files, n8n's peer and what n8n Cloud provides. */
const ALLOWED_MODULES = new Set(['n8n-workflow', 'zod']);

/**
 * Rule 3: no environment and no file access in the shipped JavaScript: every require() is a
 * file of the package or an allowed module (no fs, child_process, net, os...), and nothing reads
 * `process` (process.env, process.cwd...), `__dirname` or `__filename`. Returns "file: finding".
 */
export function environmentOrFileAccess(packageDir: string): string[] {
	const findings: string[] = [];
	for (const file of filesUnder(packageDir, '.js')) {
		const where = path.relative(packageDir, file);
		const code = readFileSync(file, 'utf8').replace(/\/\/# sourceMappingURL=.*$/m, '');
		for (const [, module] of code.matchAll(/\b(?:require|import)\s*\(\s*["'`]([^"'`]+)["'`]/g)) {
			if (!module.startsWith('./') && !module.startsWith('../') && !ALLOWED_MODULES.has(module)) {
				findings.push(`${where}: loads "${module}"`);
			}
		}
		for (const [global] of code.matchAll(/(?<![.\w$])(?:process|__dirname|__filename)\b/g)) {
			findings.push(`${where}: uses ${global}`);
		}
	}
	return findings;
}

interface ScanResult {
	passed: boolean;
	message?: string;
	details?: string;
}

/**
 * Rule 4: @n8n/scan-community-package's analyzer (what n8n runs before it verifies a package),
 * on a directory: the unpacked tarball, or the staged sources with the source patterns. It runs
 * in a process of its own (scan.mjs) with the environment n8n's tools get (toolEnvironment).
 */
export function scanPackage(packageDir: string, patterns: string[] = []): ScanResult {
	const result = spawnSync(
		process.execPath,
		[path.join(__dirname, 'scan.mjs'), packageDir, ...patterns],
		{ encoding: 'utf8', env: toolEnvironment() },
	);
	if (result.status !== 0) throw new Error(`The scanner failed: ${result.stderr}`);
	const line = result.stdout.trim().split('\n').pop() ?? '';
	return JSON.parse(line) as ScanResult;
}
