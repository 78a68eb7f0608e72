/**
 * The overview built in a worker thread (web/render-worker.ts): its read, view model, HTML (about
 * 200 ms of CPU for 1,000 hosts, measured in bench:web) no longer hold up the requests this thread
 * serves meanwhile. The worker has its own Redis connection to the same server and database and runs
 * the same function as the request thread would (web/overview-render.tsx); the HTML comes back as
 * bytes (moved, not copied). One worker, one render at a time (the page cache already allows one per
 * page); a worker that dies is replaced at the next render. Failures come back as the same error types
 * (RedisUnavailableError, WrongTypeError) so the error pages do not change.
 */
import type { Worker } from 'node:worker_threads';
import type { Config } from '../lib/config/normalize.js';
import type { Logger } from '../lib/log.js';
import { RedisUnavailableError, type Redis } from '../lib/redis.js';
import { WrongTypeError } from '../lib/store/index.js';
import { startWorker } from '../lib/worker-thread.js';
import type { OverviewJob } from './overview-render.js';

/** What the worker needs to connect: the request thread's connection settings. */
export interface WorkerRedis {
  url?: string;
  path?: string;
}

export interface WorkerData {
  config: Config;
  redis: WorkerRedis;
}

export type WorkerRequest = { id: number; job: Omit<OverviewJob, 'now'> & { now: string } };
export type WorkerReply = { id: number; html: Uint8Array } | { id: number; error: { name: string; message: string; key?: string } };

/** The Redis URL (or socket) of a connection's settings, with its user, password and database. */
export function redisTargetOf(redis: Redis): WorkerRedis {
  const o = redis.options;
  const db = o.db ?? 0;
  if (o.path) return { path: o.path };
  const auth = o.password ? `${encodeURIComponent(o.username ?? '')}:${encodeURIComponent(o.password)}@` : '';
  return { url: `${o.tls ? 'rediss' : 'redis'}://${auth}${o.host?.includes(':') ? `[${o.host}]` : (o.host ?? '127.0.0.1')}:${o.port ?? 6379}/${db}` };
}

function errorOf(e: { name: string; message: string; key?: string }): Error {
  if (e.name === 'RedisUnavailableError') return new RedisUnavailableError(e.message);
  if (e.name === 'WrongTypeError') return new WrongTypeError(e.key ?? '', e.message);
  return new Error(e.message);
}

/** The worker stopped before this render's answer (its error is the reason). */
export class RenderThreadStopped extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RenderThreadStopped';
  }
}

export class RenderThread {
  private worker: Worker | null = null;
  /** False once a worker stopped before its first answer (it cannot start here): render in the request thread. */
  usable = true;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();
  private closed = false;

  constructor(
    private readonly data: WorkerData,
    private readonly log: Logger,
  ) {}

  private start(): Worker {
    const w = startWorker(import.meta.url, 'render-worker', { ...this.data });
    w.unref();
    let answered = false;
    w.on('message', (m: WorkerReply) => {
      answered = true;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ('html' in m) p.resolve(Buffer.from(m.html.buffer, m.html.byteOffset, m.html.byteLength));
      else p.reject(errorOf(m.error));
    });
    const gone = (why: string) => {
      if (this.worker !== w) return;
      this.worker = null;
      if (!answered) this.usable = false;
      if (!this.closed) {
        if (answered) this.log.warn('overview render thread stopped; a new one starts with the next render', { reason: why });
        else this.log.error('overview render thread cannot start: the overview is built in the request thread from now on', { reason: why });
      }
      for (const p of this.pending.values()) p.reject(new RenderThreadStopped(`the render thread stopped: ${why}`));
      this.pending.clear();
    };
    w.on('error', (e) => gone(e.message));
    w.on('exit', (code) => gone(`exit code ${code}`));
    return w;
  }

  /** The overview's HTML as bytes, built in the worker. */
  render(job: OverviewJob): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('the render thread is closed'));
    this.worker ??= this.start();
    const id = this.nextId++;
    const w = this.worker;
    // Kept alive only while a render is under way (an idle worker never holds the process open).
    w.ref();
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const msg: WorkerRequest = { id, job: { user: job.user, sort: job.sort, version: job.version, now: job.now.toISOString() } };
      w.postMessage(msg);
    }).finally(() => {
      if (this.pending.size === 0) w.unref();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
