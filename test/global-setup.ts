/**
 * Starts a throwaway redis-server on a free loopback port for the whole test run (never the user's
 * database), with 64 databases so each test file gets its own (see helpers/redis.ts). Stopped at the end.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { findRedisServer } from '../lib/redis-embedded.js';
import { freePort } from './helpers/net.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const bin = findRedisServer();
  if (!bin) throw new Error('redis-server is not installed: run `npm test` (it installs it) or `sudo apt-get install redis-server`');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-test-redis-'));
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--databases', '64'], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + 10_000;
  const { connectRedis } = await import('../lib/redis.js');
  for (;;) {
    try {
      const r = await connectRedis({ url: `redis://127.0.0.1:${port}/0` }, { reconnect: false, connectTimeoutMs: 300 });
      r.disconnect();
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  project.provide('redisUrl', `redis://127.0.0.1:${port}`);
  return async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
