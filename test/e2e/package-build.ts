/**
 * Builds and packs this package the way it is published (`npm run build`, `npm pack`), for the
 * e2e global setup and the demo. npm runs with no npm_* variables: under `npm run` they carry the
 * project's ignore-scripts and ~/.npmrc's nodedir, which must not leak into these builds.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export function npm(args: string[], cwd: string): string {
	const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
	// The output is kept for the error message: with CI=true `n8n-node build` (@clack/prompts)
	// prints one line per step instead of redrawing a spinner into it.
	env.CI = 'true';
	const result = spawnSync('npm', args, { cwd, env, encoding: 'utf8' });
	if (result.status !== 0)
		throw new Error(`npm ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
	return result.stdout;
}

export function timed<T>(label: string, fn: () => T, log: (line: string) => void): T {
	const started = Date.now();
	const result = fn();
	log(`${label}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
	return result;
}

/** Optionally builds, then packs into `destination`; returns the tarball's path. */
export function buildAndPack(
	repoRoot: string,
	destination: string,
	{ build = true, log = () => undefined }: { build?: boolean; log?: (line: string) => void } = {},
): string {
	if (build) timed('npm run build', () => npm(['run', 'build'], repoRoot), log);
	const packed = timed(
		'npm pack',
		() =>
			JSON.parse(npm(['pack', '--json', '--pack-destination', destination], repoRoot)) as Array<{
				filename: string;
			}>,
		log,
	);
	return path.join(destination, path.basename(packed[0].filename));
}
