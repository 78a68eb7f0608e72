/**
 * Starts a throwaway redis-server on a free loopback port for the whole test run (never the user's
 * database), with 64 databases so each test file gets its own (see helpers/redis.ts). Stopped at the end.
 */
import type { TestProject } from 'vitest/node';
import { startThrowawayRedis } from './helpers/throwaway-redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const redis = await startThrowawayRedis({ databases: 64 });
  project.provide('redisUrl', redis.base);
  return () => redis.stop();
}
