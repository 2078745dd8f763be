// Mutation testing (npm run test:mutation; slow, not part of npm test or CI). The scope is the
// functional core's decision code first: payload filters, the event-history cursor and the
// ack policy, each with the unit tests that own it (stryker.vitest.config.mts). Widen `mutate`
// and the test list together. Results: docs/mutation.md.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
	testRunner: 'vitest',
	vitest: { configFile: 'stryker.vitest.config.mts' },
	mutate: [
		'nodes/core/events/filters.ts',
		'nodes/core/history/cursor.ts',
		'nodes/core/bus/ackPolicy.ts',
	],
	coverageAnalysis: 'perTest',
	reporters: ['clear-text', 'progress', 'json'],
	jsonReporter: { fileName: 'reports/mutation/mutation.json' },
	// Two shared cores.
	concurrency: 1,
	timeoutMS: 10000,
	ignorePatterns: ['dist', 'bench', 'test/e2e', '.n8n-e2e', '.demo', 'reports'],
	tempDirName: '.stryker-tmp',
	cleanTempDir: true,
};
