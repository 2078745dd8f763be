import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

// The message-bus trigger mode needs amqplib (a TCP client), so the full package cannot be
// n8n-Cloud verified: we use the "without cloud support" rules and relax only the rule
// that amqplib forces, only on package.json. The cloud package (cloud/) is linted with n8n's
// cloud rules unmodified (cloud/eslint.config.mjs), on its staged sources (cloud/build.ts).
export default [
	// Stryker's sandbox copies of the tree and its reports are not sources.
	{ ignores: ['.stryker-tmp/**', 'reports/**'] },
	// The cloud package's staged tree (cloud/build.ts), linted there with the cloud rules.
	{ ignores: ['build/**'] },
	...configWithoutCloudSupport,
	{
		files: ['package.json'],
		rules: { '@n8n/community-nodes/no-runtime-dependencies': 'off' },
	},
	{
		// The end-to-end harness and the benchmarks start real n8n processes, the cloud build and
		// its checks run n8n's tools; they never ship.
		files: ['test/e2e/**/*.ts', 'bench/**/*.ts', 'cloud/build.ts', 'test/cloud/**/*.ts'],
		rules: { '@n8n/community-nodes/no-dangerous-functions': 'off' },
	},
	{
		// The cloud package's own node uses the credential of credentials/; that package is linted
		// as it ships, staged with its own package.json, by cloud/build.ts (n8n's cloud rules).
		files: ['cloud/nodes/**/*.ts'],
		rules: { '@n8n/community-nodes/no-credential-reuse': 'off' },
	},
];
