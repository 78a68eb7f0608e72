/**
 * A throwaway redis-server on a free loopback port (never 6379, never the user's database), for the
 * test run (global-setup.ts) and the benchmarks. No persistence; its folder is removed on stop.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectRedis } from '../../lib/redis.js';
import { findRedisServer } from '../../cli/redis-embedded.js';
import { freePort } from './net.js';

export interface ThrowawayRedis {
  /** `redis://127.0.0.1:<port>` without a database number. */
  base: string;
  /** `<base>/0`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startThrowawayRedis(opts: { databases?: number } = {}): Promise<ThrowawayRedis> {
  const bin = findRedisServer();
  if (!bin) throw new Error('redis-server is not installed: run `npm test` (it installs it) or `sudo apt-get install redis-server`');
  const port = await freePort();
  if (port === 6379) throw new Error('refusing port 6379 (the usual system Redis)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  if (opts.databases !== undefined) args.push('--databases', String(opts.databases));
  const child = spawn(bin, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      (await connectRedis({ url: `${base}/0` }, { reconnect: false, connectTimeoutMs: 300 })).disconnect();
      break;
    } catch (e) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        fs.rmSync(dir, { recursive: true, force: true });
        throw e;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    base,
    url: `${base}/0`,
    port,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
