import { defineConfig } from 'vitest/config';

// End-to-end tests against a real n8n: `npm run test:e2e`. Kept out of `npm test` (see the root
// vitest.config.mts) because the first run installs n8n (see test/e2e/README.md, "Measured")
// and each instance needs ~1 GB. An .mts file: Vite loads a .ts config written in ESM syntax as
// CommonJS and prints a configLoader warning on every run.
export default defineConfig({
	test: {
		// root: the working directory, the repository's for `npm run` (no import.meta or
		// __dirname here: the one fails the CommonJS type-check, the other Vite's native loader).
		include: ['test/e2e/**/*.e2e.test.ts'],
		globalSetup: ['test/e2e/global-setup.ts'],
		// One n8n at a time: the machines have 2 cores.
		fileParallelism: false,
		testTimeout: 180_000,
		// beforeAll starts n8n; globalSetup may install it (cold: about 6 min, bounded here at 15).
		hookTimeout: 900_000,
		teardownTimeout: 60_000,
	},
});
