import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Benchmarks are run with npm run bench:*, never as timed tests.
    exclude: ['node_modules/**', 'dist/**'],
  },
});
