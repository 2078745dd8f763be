import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where things are and what they run on, for RESULTS.md. */

export const N8N_ROOT =
	process.env.N8N_INSTALL ??
	path.join(os.homedir(), '.cache', 'n8n-nodes-esi-leap', 'n8n-2.41.1-node-24.21.0');

export function n8nModule(relative: string): string {
	return path.join(N8N_ROOT, 'node_modules', relative);
}

export function packageVersion(file: string): string {
	try {
		return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
	} catch {
		return 'not installed';
	}
}

export function rabbitmqVersion(): string {
	try {
		const status = execFileSync('rabbitmqctl', ['version'], { encoding: 'utf8', timeout: 15_000 });
		return status.trim();
	} catch {
		return 'unknown (rabbitmqctl not available)';
	}
}

export function machine(): Record<string, string> {
	const cpus = os.cpus();
	return {
		cpu: cpus[0]?.model ?? 'unknown',
		cores: String(cpus.length),
		memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
		os: `${os.type()} ${os.release()}`,
		node: process.version,
		n8n: packageVersion(n8nModule('n8n/package.json')),
		'n8n-workflow (n8n install)': packageVersion(n8nModule('n8n-workflow/package.json')),
		rabbitmq: rabbitmqVersion(),
		'load average at start': os
			.loadavg()
			.map((value) => value.toFixed(2))
			.join(' '),
	};
}

export function requireN8nInstall(): void {
	if (!existsSync(n8nModule('n8n-nodes-base/package.json'))) {
		throw new Error(
			`n8n is not installed at ${N8N_ROOT}. Install it with \`npm run test:e2e\` (its global setup ` +
				'installs n8n 2.41.1), or point N8N_INSTALL at an n8n install.',
		);
	}
}

export const MiB = 2 ** 20;

export function percentile(sorted: number[], fraction: number): number {
	if (sorted.length === 0) return Number.NaN;
	return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

/** A benchmark's result line: the runner reads the last `BENCH_RESULT {json}` line of stdout. */
export function report(result: unknown): void {
	process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}
