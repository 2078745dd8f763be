/**
 * `npm run test:e2e:1x`: the regular-mode ESI Leap scenarios (esi-leap.e2e.test.ts), the request
 * bodies, both packages side by side (cloudSideBySide.e2e.test.ts) and the bus redeliveries
 * (busRedelivery.e2e.test.ts: the trigger's memory, and what 1.x's missing key means) against the
 * pinned n8n 1.x (N8N_1X in n8n-install.ts) on the Node running this script. Installs it into
 * the same cache as the 2.x one the first time, then hands the harness its paths and the
 * environment 1.x needs (E2E_N8N_BIN, E2E_NODE_BIN, E2E_N8N_ENV; see test/e2e/README.md).
 * Arguments replace the default test file (vitest arguments: other files, `-t <name>`).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ensureN8nInstalled, N8N_1X } from './n8n-install';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

async function main(): Promise<number> {
	const log = (line: string) => process.stderr.write(`[n8n ${N8N_1X.n8n} install] ${line}\n`);
	const paths = await ensureN8nInstalled(log, N8N_1X);
	const files = process.argv.slice(2);
	const started = Date.now();
	const result = spawnSync(
		path.join(REPO_ROOT, 'node_modules', '.bin', 'vitest'),
		[
			'run',
			'--config',
			'test/e2e/vitest.config.mts',
			...(files.length
				? files
				: [
						'test/e2e/esi-leap.e2e.test.ts',
						'test/e2e/n8nRequestBodies.e2e.test.ts',
						'test/e2e/cloudSideBySide.e2e.test.ts',
						'test/e2e/busRedelivery.e2e.test.ts',
					]),
		],
		{
			cwd: REPO_ROOT,
			stdio: 'inherit',
			env: {
				...process.env,
				E2E_N8N_BIN: paths.n8nBin,
				E2E_NODE_BIN: paths.nodeBin,
				E2E_N8N_ENV: JSON.stringify({
					...N8N_1X.env,
					...(process.env.E2E_N8N_ENV ? JSON.parse(process.env.E2E_N8N_ENV) : {}),
				}),
			},
		},
	);
	process.stderr.write(
		`[test:e2e:1x] n8n ${N8N_1X.n8n} on Node ${process.versions.node}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
	);
	return result.status ?? 1;
}

main().then(
	(code) => process.exit(code),
	(error: Error) => {
		process.stderr.write(`test:e2e:1x failed: ${error.message}\n`);
		process.exit(1);
	},
);
