import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Bounds that catch a hung test, not judgements of speed (speed is measured in npm run bench:*):
    // on a 2-core machine kept busy by other work, a test that spawns a few CLI processes through
    // tsx took more than 30 s (load average ~24).
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Benchmarks are run with npm run bench:*, never as timed tests.
    exclude: ['node_modules/**', 'dist/**'],
  },
});
