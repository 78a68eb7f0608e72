/**
 * A throwaway redis-server on a free loopback port (never 6379, never the user's database), for the
 * test run (global-setup.ts) and the benchmarks. No persistence; its folder is removed on stop, and
 * also when this process dies without stopping it (killed, Ctrl-C, a crash): a watchdog shell holds
 * the read end of a pipe from this process and, when the pipe closes, stops the server and removes
 * its folder, so an interrupted test run leaves no redis-server behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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
      const watchdog = watch(child.pid!, dir);
      return {
        base,
        url: `${base}/0`,
        port,
        stop: async () => {
          watchdog.kill('SIGKILL'); // stopped here: the watchdog must not act on a pid that may be reused
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

/**
 * A shell that waits for end of input on a pipe from this process, which comes when this process
 * exits however it exits, then stops the server and removes its folder. It runs in its own process
 * group (a Ctrl-C to the test run does not stop it before it has acted) and does not hold this
 * process open.
 */
function watch(pid: number, dir: string): ChildProcess {
  const w = spawn('sh', ['-c', 'cat >/dev/null; kill "$1" 2>/dev/null; rm -rf "$2"', 'mtarep-redis-watchdog', String(pid), dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  w.on('error', () => {}); // no sh: the server is still stopped by stop(), only not after a kill
  w.stdin!.on('error', () => {});
  w.unref();
  (w.stdin as unknown as { unref?: () => void }).unref?.();
  return w;
}
