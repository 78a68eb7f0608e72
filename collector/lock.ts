/**
 * The collector's overlap lock in Redis (security.md): `SET key value NX PX ttl`, extended with a
 * compare-and-pexpire script while the run is alive, released with compare-and-delete so only its
 * owner can remove it. The value names the holder (host, pid, start time) so a second run can say who
 * holds it; a crashed run's lock simply expires after its TTL.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import { describeError, type Redis } from '../lib/redis.js';

export class LockHeldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockHeldError';
  }
}

/*
 * KEYS[1] lock key; ARGV[1] the owner's full value; ARGV[2] new TTL in ms.
 * Returns 1 when the TTL was extended, 0 when the lock is gone or owned by another run.
 */
const extendScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;

/*
 * KEYS[1] lock key; ARGV[1] the owner's full value.
 * Returns 1 when the lock was deleted, 0 when it is gone or owned by another run.
 */
const releaseScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

export interface LockHolder {
  token: string;
  host: string;
  pid: number;
  since: string;
}

export interface Lock {
  readonly token: string;
  /** False once an extension found the lock gone or taken (the run stalled past its TTL). */
  readonly held: boolean;
  /** Extend now; false when the lock is no longer ours. */
  extend(): Promise<boolean>;
  /** Stop extending and delete the lock if it is still ours. Never throws. */
  release(): Promise<void>;
}

export interface LockOptions {
  ttlMs: number;
  /** How often to extend; default a third of the TTL. */
  extendEveryMs?: number;
  now?: () => Date;
  /** What the lock guards, for messages. Default "the collector lock". */
  what?: string;
  /** Called when an automatic extension fails or finds the lock lost. */
  onLost?: (why: string) => void;
}

function describeHolder(value: string | null, pttl: number, what: string): string {
  let who = 'another collector run';
  if (value) {
    try {
      const h = JSON.parse(value) as Partial<LockHolder>;
      if (h.host && h.pid && h.since) who = `the collector run of pid ${h.pid} on ${h.host}, started ${h.since}`;
    } catch {
      /* a foreign value: say nothing more about it */
    }
  }
  const expiry = pttl > 0 ? `; the lock expires in ${Math.ceil(pttl / 1000)} s unless that run keeps it` : '';
  return `${who} holds ${what}${expiry}. This run exits without collecting.`;
}

/** Take the lock or throw LockHeldError naming the holder. Extends itself until released. */
export async function acquireLock(redis: Redis, key: string, opts: LockOptions): Promise<Lock> {
  const now = opts.now ?? (() => new Date());
  const holder: LockHolder = { token: crypto.randomUUID(), host: os.hostname(), pid: process.pid, since: now().toISOString() };
  const value = JSON.stringify(holder);
  const ok = await redis.set(key, value, 'PX', opts.ttlMs, 'NX');
  if (ok === null) {
    const [current, pttl] = await Promise.all([redis.get(key), redis.pttl(key)]);
    throw new LockHeldError(describeHolder(current, pttl, opts.what ?? 'the collector lock'));
  }
  let held = true;
  const extend = async (): Promise<boolean> => {
    if (!held) return false;
    const r = await redis.eval(extendScript, 1, key, value, String(opts.ttlMs));
    if (r !== 1) held = false;
    return held;
  };
  const timer = setInterval(() => {
    extend().then(
      (ok2) => {
        if (ok2) return;
        // Lost for good: say it once and stop trying.
        clearInterval(timer);
        opts.onLost?.('the collector lock expired or was taken by another run');
      },
      (e: unknown) => opts.onLost?.(`cannot extend the collector lock: ${describeError(e)}`),
    );
  }, opts.extendEveryMs ?? Math.max(1, Math.floor(opts.ttlMs / 3)));
  // The timer alone must not keep a finished CLI process alive.
  timer.unref();
  return {
    token: holder.token,
    get held() {
      return held;
    },
    extend,
    async release() {
      clearInterval(timer);
      if (!held) return;
      held = false;
      try {
        await redis.eval(releaseScript, 1, key, value);
      } catch {
        /* it expires by itself */
      }
    },
  };
}
