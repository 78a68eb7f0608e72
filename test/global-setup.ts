/**
 * For the whole test run: a throwaway redis-server on a free loopback port (never the user's database),
 * with 64 databases so each test file gets its own (see helpers/redis.ts), and the CLI transpiled once
 * for the tests that spawn `mtarep` processes (see helpers/cli-build.ts). Both removed at the end.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildCli } from './helpers/cli-build.js';
import { startThrowawayRedis } from './helpers/throwaway-redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    cliMain: string;
  }
}

export default async function setup(project: TestProject) {
  const root = path.resolve(__dirname, '..');
  const cli = await buildCli(root, `run-${process.pid}`);
  const redis = await startThrowawayRedis({ databases: 64 });
  project.provide('redisUrl', redis.base);
  project.provide('cliMain', cli.main);
  return async () => {
    await redis.stop();
    fs.rmSync(cli.dir, { recursive: true, force: true });
  };
}
