/**
 * The embedded Redis: when no Redis is configured, mtarep runs `redis-server` as a child process with
 * its data under `<data_dir>/redis` (AOF on) and a private unix socket. Every mtarep process (a cron
 * `collect` beside a running `start`) finds the same server through that socket; the process that
 * started it stops it. Redis cannot be bundled by npm, so a missing binary is an error that says what
 * to install.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { connectRedis, type Redis } from '../lib/redis.js';

export class RedisNotInstalledError extends Error {
  constructor() {
    super(
      'redis-server is not installed and no redis_url is configured. Install it with ' +
        '`sudo apt-get install redis-server` (Debian/Ubuntu), `sudo dnf install redis` (Fedora/RHEL) or ' +
        '`brew install redis` (macOS), or set redis_url in mtarep.yml to use an existing Redis.',
    );
    this.name = 'RedisNotInstalledError';
  }
}

const SEARCH = ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin', '/opt/homebrew/bin'];

/** Path of redis-server from $PATH or the usual places, or null. */
export function findRedisServer(env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), ...SEARCH];
  for (const d of dirs) {
    const p = path.join(d, 'redis-server');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

export interface EmbeddedRedis {
  /** Unix socket to connect to. */
  socket: string;
  /** True when this process started the server (and so stops it). */
  owner: boolean;
  /** Stop the server if this process started it; data is saved first. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** Finds the redis-server binary; default: $PATH and the usual folders. */
  locate?: () => string | null;
  /** Called with each line the server prints (for the log). */
  onLine?: (line: string) => void;
  startTimeoutMs?: number;
}

/** Unix socket paths are limited to about 107 bytes. */
const MAX_SOCKET_PATH = 100;

/**
 * Use the embedded server under `dataDir`, starting it when none answers on its socket.
 */
export async function ensureEmbeddedRedis(opts: EmbeddedOptions): Promise<EmbeddedRedis> {
  const dir = path.resolve(opts.dataDir, 'redis');
  const socket = path.join(dir, 'redis.sock');
  if (socket.length > MAX_SOCKET_PATH) {
    throw new Error(`data_dir is too deep for a unix socket (${socket.length} bytes at ${socket}); choose a shorter data_dir`);
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });

  if (fs.existsSync(socket) && (await answers(socket))) {
    return { socket, owner: false, stop: async () => {} };
  }
  const binary = (opts.locate ?? findRedisServer)();
  if (binary === null) throw new RedisNotInstalledError();
  try {
    fs.unlinkSync(socket); // a stale socket from a server that died
  } catch {
    /* none */
  }

  const args = [
    '--port', '0',
    '--bind', '127.0.0.1',
    '--unixsocket', socket,
    '--unixsocketperm', '700',
    '--dir', dir,
    '--appendonly', 'yes',
    '--appendfilename', 'mtarep.aof',
    '--dbfilename', 'mtarep.rdb',
    '--save', '3600 1 300 100 60 10000',
    '--daemonize', 'no',
    '--pidfile', path.join(dir, 'redis.pid'),
    '--logfile', '',
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const onData = (buf: Buffer) => {
    for (const line of buf.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      output.push(line);
      if (output.length > 50) output.shift();
      opts.onLine?.(line);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);

  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  let ready = false;
  while (Date.now() < deadline) {
    const done = await Promise.race([exited.then(() => true), sleep(50).then(() => false)]);
    if (done) break;
    if (fs.existsSync(socket) && (await answers(socket))) {
      ready = true;
      break;
    }
  }
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`redis-server did not start: ${output.slice(-5).join(' | ') || 'no output'}`);
  }
  return { socket, owner: true, stop: () => stopChild(child, exited) };
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM'); // redis-server saves and exits on SIGTERM
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

async function answers(socket: string): Promise<boolean> {
  let r: Redis | undefined;
  try {
    r = await connectRedis({ path: socket }, { connectTimeoutMs: 500, reconnect: false });
    return true;
  } catch {
    return false;
  } finally {
    r?.disconnect();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
