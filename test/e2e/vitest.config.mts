import path from 'node:path';
import { defineConfig } from 'vitest/config';

// End-to-end tests against a real n8n: `npm run test:e2e`. Kept out of `npm test` (see the root
// vitest.config.mts) because the first run installs n8n (~4.5 min) and each instance needs ~1 GB.
export default defineConfig({
	test: {
		root: path.resolve(__dirname, '..', '..'),
		include: ['test/e2e/**/*.e2e.test.ts'],
		globalSetup: ['test/e2e/global-setup.ts'],
		// One n8n at a time: the machines have 2 cores.
		fileParallelism: false,
		testTimeout: 180_000,
		// beforeAll starts n8n; globalSetup may install it (cold: ~5 min, bounded here at 15).
		hookTimeout: 900_000,
		teardownTimeout: 60_000,
	},
});
