import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
	test: {
		include: ['test/**/*.test.ts'],
		// real-n8n tests run separately: npm run test:e2e (test/e2e/vitest.config.ts)
		exclude: [...configDefaults.exclude, 'test/e2e/**'],
		// Integration tests share one RabbitMQ broker and bind ephemeral ports; two workers
		// match the 2-core machines this runs on.
		maxWorkers: 2,
		testTimeout: 30_000,
		hookTimeout: 30_000,
	},
});
