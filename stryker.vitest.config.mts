import { defineConfig } from 'vitest/config';

/** The unit tests Stryker runs against each mutant (see stryker.config.mjs). */
export default defineConfig({
	test: {
		// The unit tests of the mutated directories; none needs a broker, ESI or n8n.
		include: [
			'test/core/bus/**/*.test.ts',
			'test/core/events/**/*.test.ts',
			'test/core/history/**/*.test.ts',
		],
	},
});
