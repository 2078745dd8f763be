import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

// The message-bus trigger mode needs amqplib (a TCP client), so this package cannot be
// n8n-Cloud verified: we use the "without cloud support" rules and relax only the rule
// that amqplib forces, only on package.json.
export default [
	// Stryker's sandbox copies of the tree and its reports are not sources.
	{ ignores: ['.stryker-tmp/**', 'reports/**'] },
	...configWithoutCloudSupport,
	{
		files: ['package.json'],
		rules: { '@n8n/community-nodes/no-runtime-dependencies': 'off' },
	},
	{
		// The end-to-end harness and the benchmarks start real n8n processes; they never ship.
		files: ['test/e2e/**/*.ts', 'bench/**/*.ts'],
		rules: { '@n8n/community-nodes/no-dangerous-functions': 'off' },
	},
];
