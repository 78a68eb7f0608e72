import { availableParallelism } from 'node:os';
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
    // Test files in parallel, at least two at a time: vitest's own default on 2 cores is one worker
    // (cores - 1), which left a core idle while a file waited on its peers (Dovecot, sshd, CLI
    // processes). Each worker draws ports from its own block (test/helpers/net.ts), and the suite is
    // shown green repeatedly with every core kept busy by other processes (npm run test:repeat).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Benchmarks are run with npm run bench:*, never as timed tests.
    exclude: ['node_modules/**', 'dist/**'],
  },
});
