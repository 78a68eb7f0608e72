/**
 * Webhook batches arriving together stored in one script call (lib/esp/webhooks/ingest-queue.ts),
 * against a real Redis: each request gets its own exact result, a batch and its retry in one call
 * count once, a bad key fails only the batches touching it, and a Redis failure fails every request
 * of the call with nothing written. On a redis-server of its own: the tests count script calls in
 * INFO commandstats, which is server-wide (other test files run commands on the shared server).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dayKey, keys } from '../../lib/keys.js';
import { connectRedis } from '../../lib/redis.js';
import { parseSendgrid, type EspEvent } from '../../lib/esp/webhooks/events.js';
import { BadKeyError } from '../../lib/esp/webhooks/ingest.js';
import { IngestQueue } from '../../lib/esp/webhooks/ingest-queue.js';
import { latestEvents } from '../../lib/esp/webhooks/latest.js';
import { sgEvent } from '../helpers/esp-webhooks.js';
import { ownTestRedis, type TestRedis } from '../helpers/redis.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const TS = 1714564800;
const k = keys('mtarep:');
const opts = { countersId: 'esp', counterTtlSec: 86400 };

let t: TestRedis;
beforeAll(async () => {
  t = await ownTestRedis();
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  await t.redis.flushdb();
});

function sg(from: number, count: number, timestamp = TS): { raw: string; events: EspEvent[] } {
  const raw = JSON.stringify(Array.from({ length: count }, (_, i) => sgEvent(from + i, 'delivered', `u${from + i}@gmail.com`, {}, timestamp)));
  return { raw, events: parseSendgrid(JSON.parse(raw), NOW) };
}

const sent = async (ts = TS) => Number((await t.redis.hget(k.counter('esp', dayKey(new Date(ts * 1000)), 'sent'), 'gmail.com')) ?? 0);

async function evalCalls(): Promise<number> {
  const stats = await t.redis.info('commandstats');
  // Successful calls (the first EVALSHA of a fresh server fails with NOSCRIPT and is sent again as EVAL).
  return ['evalsha', 'eval'].reduce((n, c) => {
    const m = new RegExp(`cmdstat_${c}:calls=(\\d+),.*failed_calls=(\\d+)`).exec(stats);
    return n + (m ? Number(m[1]) - Number(m[2]) : 0);
  }, 0);
}

describe('IngestQueue', () => {
  it('batches arriving while a call runs are stored together, each answered with its own result', async () => {
    const q = new IngestQueue(t.redis, k, opts);
    await t.redis.config('RESETSTAT');
    const batches = Array.from({ length: 8 }, (_, b) => sg(b * 10, 10));
    const results = await Promise.all(batches.map((b) => q.ingest(b.events, { now: NOW, latest: { format: 'sendgrid', payload: b.raw } })));
    for (const r of results) expect(r).toEqual({ counted: Array(10).fill(true), settled: Array(10).fill(false) });
    // The first two are stored at once, each in its own call (two calls run at a time); the six
    // arriving meanwhile in one call.
    expect(q.calls).toBe(3);
    expect(await evalCalls()).toBe(3);
    expect(await sent()).toBe(80);
    // One latest-events entry per batch, newest first.
    expect(await t.redis.llen(k.espEvents)).toBe(8);
    const latest = await latestEvents(await t.redis.lrange(k.espEvents, 0, -1), 1000);
    expect(latest.map((e) => e.id)).toEqual(batches.flatMap((b) => b.events.map((e) => e.id)).reverse());
  });

  it('a batch the newer batches of its call push out of the latest events is not written there at all', async () => {
    const q = new IngestQueue(t.redis, k, opts);
    await t.redis.config('RESETSTAT');
    const batches = Array.from({ length: 8 }, (_, b) => sg(b * 100, 100));
    await Promise.all(batches.map((b) => q.ingest(b.events, { now: NOW, latest: { format: 'sendgrid', payload: b.raw } })));
    expect(q.calls).toBe(3);
    expect(await sent()).toBe(800);
    // The newest 500 events, as when the batches come one by one.
    const latest = await latestEvents(await t.redis.lrange(k.espEvents, 0, -1), 10_000);
    expect(latest).toHaveLength(500);
    expect(latest[0]!.id).toBe('sg-evt-799-delivered');
    expect(latest.at(-1)!.id).toBe('sg-evt-300-delivered');
    // The first two batches alone, then of the six stored together only the newest five: the oldest
    // would have been pushed out by them at once.
    const lpush = /cmdstat_lpush:calls=(\d+)/.exec(await t.redis.info('commandstats'))?.[1];
    expect(Number(lpush)).toBe(2 * (1 + 1 + 5));
  });

  it('a batch and its retry stored in the same call count once', async () => {
    // One call at a time: the batch arriving first is stored alone, the batch and its retry together.
    const q = new IngestQueue(t.redis, k, { ...opts, inFlight: 1 });
    const first = sg(0, 5);
    const other = sg(100, 5);
    const retry = { raw: JSON.stringify([...JSON.parse(first.raw), sgEvent(5, 'delivered', 'u5@gmail.com', {}, TS)]), events: [] as EspEvent[] };
    retry.events = parseSendgrid(JSON.parse(retry.raw), NOW);
    const [a, b, c] = await Promise.all([
      q.ingest(other.events, { now: NOW }),
      q.ingest(first.events, { now: NOW, latest: { format: 'sendgrid', payload: first.raw } }),
      q.ingest(retry.events, { now: NOW, latest: { format: 'sendgrid', payload: retry.raw } }),
    ]);
    expect(q.calls).toBe(2);
    expect(a!.counted).toEqual(Array(5).fill(true));
    expect(b!.counted).toEqual(Array(5).fill(true));
    expect(c!.counted).toEqual([false, false, false, false, false, true]);
    expect(await sent()).toBe(11);
    expect(await t.redis.hget(k.espEventCounts(dayKey(NOW)), 'sendgrid:delivered')).toBe('11');
    // The retry's entry shows only its new event.
    expect(latestEvents([(await t.redis.lindex(k.espEvents, 0))!], 100).map((e) => e.id)).toEqual(['sg-evt-5-delivered']);
  });

  it('a batch and its retry in two calls running at once count once', async () => {
    const q = new IngestQueue(t.redis, k, opts);
    const first = sg(0, 5);
    const retry = sg(0, 6);
    const pending = [q.ingest(first.events, { now: NOW }), q.ingest(retry.events, { now: NOW })];
    // Both calls were sent before either answered; Redis ran them in that order.
    expect(q.calls).toBe(2);
    const [a, b] = await Promise.all(pending);
    expect(q.calls).toBe(2);
    expect(a!.counted).toEqual(Array(5).fill(true));
    expect(b!.counted).toEqual([false, false, false, false, false, true]);
    expect(await sent()).toBe(6);
    expect(await t.redis.scard(k.espIds('sendgrid', dayKey(new Date(TS * 1000), 'UTC')))).toBe(6);
  });

  it('inFlight must be a positive integer', () => {
    expect(() => new IngestQueue(t.redis, k, { ...opts, inFlight: 0 })).toThrow(/inFlight must be a positive integer, not 0/);
    expect(() => new IngestQueue(t.redis, k, { ...opts, inFlight: 1.5 })).toThrow(/not 1.5/);
  });

  it('batches of different arrival days go in separate calls', async () => {
    const q = new IngestQueue(t.redis, k, opts);
    const later = new Date(NOW.getTime() + 86_400_000);
    const [a, b, c] = await Promise.all([q.ingest(sg(0, 3).events, { now: NOW }), q.ingest(sg(10, 3).events, { now: later }), q.ingest(sg(20, 3).events, { now: NOW })]);
    expect([a, b, c].map((r) => r!.counted.every(Boolean))).toEqual([true, true, true]);
    expect(q.calls).toBe(3);
    // The ids are kept by the events' own day, whatever the day they arrived on.
    expect(await t.redis.scard(k.espIds('sendgrid', dayKey(new Date(TS * 1000), 'UTC')))).toBe(9);
    expect(await t.redis.exists(k.espIds('sendgrid', dayKey(later, 'UTC')))).toBe(0);
  });

  it('a key of the wrong type fails only the batches touching it; nothing of theirs is written', async () => {
    const q = new IngestQueue(t.redis, k, opts);
    const otherDay = TS + 3 * 86400;
    await t.redis.set(k.counter('esp', dayKey(new Date(otherDay * 1000)), 'sent'), 'not a hash');
    const results = await Promise.allSettled([q.ingest(sg(0, 2).events, { now: NOW }), q.ingest(sg(10, 2).events, { now: NOW }), q.ingest(sg(20, 2, otherDay).events, { now: NOW }), q.ingest(sg(30, 2).events, { now: NOW })]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(BadKeyError);
    expect(await sent()).toBe(6);
    expect(await t.redis.scard(k.espIds('sendgrid', dayKey(new Date(TS * 1000), 'UTC')))).toBe(6);
    expect(await t.redis.exists(k.espIds('sendgrid', dayKey(new Date(otherDay * 1000), 'UTC')))).toBe(0);
  });

  it('Redis unreachable: every request of the call fails, and the queue keeps working afterwards', async () => {
    const dead = await connectRedis({ url: t.url }, { reconnect: false });
    dead.disconnect();
    const q = new IngestQueue(dead, k, opts);
    const results = await Promise.allSettled([q.ingest(sg(0, 2).events, { now: NOW }), q.ingest(sg(10, 2).events, { now: NOW })]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await t.redis.dbsize()).toBe(0);
    const live = new IngestQueue(t.redis, k, opts);
    await live.ingest(sg(0, 2).events, { now: NOW });
    expect(await sent()).toBe(2);
  });
});
