/** The collector's overlap lock against the real test Redis. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLock, LockHeldError } from '../../collector/lock.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';

let t: TestRedis;
beforeAll(async () => {
  t = await testRedis();
});
afterAll(async () => {
  await t.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('collector lock', () => {
  it('a second taker gets LockHeldError naming the holder; release frees it', async () => {
    const key = 'lock:a';
    const first = await acquireLock(t.redis, key, { ttlMs: 10_000, now: () => new Date('2024-05-01T10:00:00Z') });
    const err = await acquireLock(t.redis, key, { ttlMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as Error).message).toMatch(new RegExp(`pid ${process.pid} on .+, started 2024-05-01T10:00:00.000Z holds the collector lock; the lock expires in \\d+ s`));
    await first.release();
    expect(await t.redis.exists(key)).toBe(0);
    const again = await acquireLock(t.redis, key, { ttlMs: 10_000 });
    expect(again.held).toBe(true);
    await again.release();
  });

  it('release never deletes a lock another run took over', async () => {
    const key = 'lock:b';
    const mine = await acquireLock(t.redis, key, { ttlMs: 10_000 });
    // Simulate the lock having expired and another run taking it.
    await t.redis.set(key, 'someone-else');
    expect(await mine.extend()).toBe(false);
    expect(mine.held).toBe(false);
    await mine.release();
    expect(await t.redis.get(key)).toBe('someone-else');
    await t.redis.del(key);
  });

  it('a crashed run (never released, never extended) loses the lock when the TTL ends', async () => {
    const key = 'lock:c';
    await t.redis.set(key, JSON.stringify({ token: 'x', host: 'gone', pid: 1, since: '2024-01-01T00:00:00Z' }), 'PX', 60_000);
    await expect(acquireLock(t.redis, key, { ttlMs: 10_000 })).rejects.toThrow(/pid 1 on gone/);
    // Time passes for the dead run's lock: its TTL runs out (shortened here instead of waiting a minute).
    await t.redis.pexpire(key, 50);
    await expect.poll(() => t.redis.exists(key), { timeout: 10_000 }).toBe(0);
    const lock = await acquireLock(t.redis, key, { ttlMs: 10_000 });
    expect(lock.held).toBe(true);
    await lock.release();
  });

  it('a live run keeps extending its lock past the TTL', async () => {
    const key = 'lock:d';
    // Extended every 100 ms, it lives 5 s; 6 s pass. The slack (4.9 s) is what a busy machine may stall
    // the extender for without the lock being lost; a real run needs the same of its TTL.
    const lost: string[] = [];
    const lock = await acquireLock(t.redis, key, { ttlMs: 5_000, extendEveryMs: 100, onLost: (w) => lost.push(w) });
    await sleep(6_000);
    expect(await t.redis.pttl(key)).toBeGreaterThan(0);
    expect(lock.held).toBe(true);
    expect(lost).toEqual([]);
    await lock.release();
    expect(await t.redis.exists(key)).toBe(0);
  });

  it('reports a lost lock through onLost', async () => {
    const key = 'lock:e';
    const lost: string[] = [];
    const lock = await acquireLock(t.redis, key, { ttlMs: 5_000, extendEveryMs: 30, onLost: (w) => lost.push(w) });
    await t.redis.del(key);
    await expect.poll(() => lost, { timeout: 30_000 }).toEqual(['the collector lock expired or was taken by another run']);
    expect(lock.held).toBe(false);
    await lock.release();
  });
});
