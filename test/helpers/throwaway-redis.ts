/**
 * A throwaway redis-server on a free loopback port (never 6379, never the user's database), for the
 * test run (global-setup.ts) and the benchmarks. No persistence; its folder is removed on stop, and
 * also when this process dies without stopping it (helpers/watchdog.ts), so an interrupted test run
 * leaves no redis-server behind.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectRedis } from '../../lib/redis.js';
import { findRedisServer } from '../../cli/redis-embedded.js';
import { freePort } from './net.js';
import { stopWhenWeExit } from './watchdog.js';

export interface ThrowawayRedis {
  /** `redis://127.0.0.1:<port>` without a database number. */
  base: string;
  /** `<base>/0`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Start redis-server on a port the OS just reported free. Another process may take that port before
 * redis-server binds it: then redis-server exits and a new port is tried; and a server that answers on
 * the port is used only when it is ours (its process id), never someone else's.
 */
export async function startThrowawayRedis(opts: { databases?: number } = {}): Promise<ThrowawayRedis> {
  const bin = findRedisServer();
  if (!bin) throw new Error('redis-server is not installed: run `npm test` (it installs it) or `sudo apt-get install redis-server`');
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    if (port === 6379) continue; // the usual system Redis: never
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-redis-'));
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
    if (opts.databases !== undefined) args.push('--databases', String(opts.databases));
    const child = spawn(bin, args, { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const base = `redis://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    let ready = false;
    while (child.exitCode === null && Date.now() < deadline) {
      try {
        const r = await connectRedis({ url: `${base}/0` }, { reconnect: false, connectTimeoutMs: 1000 });
        const pid = /process_id:(\d+)/.exec(await r.info('server'))?.[1];
        r.disconnect();
        if (pid === String(child.pid)) {
          ready = true;
          break;
        }
        lastError = new Error(`port ${port} is answered by another redis-server (pid ${pid})`);
      } catch (e) {
        lastError = e;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (ready) {
      const watchdog = stopWhenWeExit(child.pid, dir);
      return {
        base,
        url: `${base}/0`,
        port,
        stop: async () => {
          watchdog.cancel();
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
    if (Date.now() >= deadline) break; // it started but never answered: not a port race
  }
  throw new Error(`could not start a throwaway redis-server: ${(lastError as Error | undefined)?.message ?? 'unknown error'}`);
}
