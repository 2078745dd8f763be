// Mutation testing (npm run test:mutation; slow, not part of npm test or CI). The scope is the
// functional core of the message bus, the events and the event history (nodes/core/bus, events,
// history), each mutant run against the unit tests of those directories
// (stryker.vitest.config.mts): widen `mutate` and the test list together. To run one file:
// `npx stryker run --mutate nodes/core/history/cursor.ts`. Results: docs/mutation.md.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
	testRunner: 'vitest',
	vitest: { configFile: 'stryker.vitest.config.mts' },
	mutate: [
		'nodes/core/bus/**/*.ts',
		// The amqplib adapter is exercised only against a real RabbitMQ (test/integration), far
		// too slow to run per mutant.
		'!nodes/core/bus/amqp.ts',
		'nodes/core/events/**/*.ts',
		'nodes/core/history/**/*.ts',
	],
	coverageAnalysis: 'perTest',
	reporters: ['clear-text', 'progress', 'json'],
	jsonReporter: { fileName: 'reports/mutation/mutation.json' },
	// Two shared cores.
	concurrency: 1,
	timeoutMS: 10000,
	ignorePatterns: ['dist', 'bench', 'test/e2e', '.n8n-e2e', '.demo', 'reports', '.stryker-tmp*'],
	tempDirName: '.stryker-tmp',
	cleanTempDir: true,
};
