import { defineConfig } from 'vitest/config';

/** The unit tests Stryker runs against each mutant (see stryker.config.mjs). */
export default defineConfig({
	test: {
		include: [
			'test/core/events/filters.test.ts',
			'test/core/history/cursor.test.ts',
			'test/core/bus/ackPolicy.test.ts',
			'test/core/bus/retryDelays.test.ts',
		],
	},
});
