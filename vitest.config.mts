import type { Plugin } from 'vite';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * n8n-workflow's published ESM build carries source maps that point at its src/ folder, which
 * the package does not ship, and Vite warns once per file (123 lines in `npm test`). Vitest
 * installs its own logger, so the filter wraps the resolved one; only that warning is dropped.
 */
export const MISSING_DEPENDENCY_SOURCES =
	/Sourcemap for ".*[\\/]node_modules[\\/].*" points to missing source files/;

function quietDependencySourcemaps(): Plugin {
	return {
		name: 'quiet-dependency-sourcemaps',
		configResolved(config) {
			const warnOnce = config.logger.warnOnce.bind(config.logger);
			config.logger.warnOnce = (message, options) => {
				if (!MISSING_DEPENDENCY_SOURCES.test(message)) warnOnce(message, options);
			};
		},
	};
}

export default defineConfig({
	plugins: [quietDependencySourcemaps()],
	test: {
		include: ['test/**/*.test.ts'],
		// real-n8n tests run separately: npm run test:e2e (test/e2e/vitest.config.mts); the demo's
		// own unit tests (test/e2e/demo/*.test.ts) run here
		exclude: [...configDefaults.exclude, 'test/e2e/**/*.e2e.test.ts'],
		// Integration tests share one RabbitMQ broker and bind ephemeral ports; two workers
		// match the 2-core machines this runs on.
		maxWorkers: 2,
		testTimeout: 30_000,
		hookTimeout: 30_000,
	},
});
