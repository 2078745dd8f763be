import { defineConfig } from 'vitest/config';

/** The unit tests Stryker runs against each mutant (see stryker.config.mjs). */
export default defineConfig({
	test: {
		// Instrumented code on a loaded machine: the seeded model tests (300 seeds) need more than
		// vitest's 5 s. Stryker's own timeout (stryker.config.mjs) still ends a mutant that loops.
		testTimeout: 60_000,
		// The unit tests of the mutated directories; none needs a broker, ESI or n8n.
		include: [
			'test/core/bus/**/*.test.ts',
			'test/core/events/**/*.test.ts',
			'test/core/history/**/*.test.ts',
		],
	},
});
