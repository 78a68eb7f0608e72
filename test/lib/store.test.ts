/** The record store against the real test Redis: atomic writes, history, removals, acks, summaries, and reads that name what they cannot read. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readAcks, readBlocks, readHistory, readIps, readPreviousHosts, readSnapshot, readVersion, removeAcks, storeSummary, unreadableVersion, writeResults, WrongTypeError } from '../../lib/store/index.js';
import { keys } from '../../lib/keys.js';
import { connectRedis, type Redis } from '../../lib/redis.js';
import type { HostRecord, IpRecord, RunSummary } from '../../lib/model.js';
import { ipRecord } from '../helpers/ip-record.js';
import { ownTestRedis, testRedis, type TestRedis } from '../helpers/redis.js';

let t: TestRedis;
const k = keys('mtarep:');
beforeAll(async () => {
  t = await testRedis();
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  await t.redis.flushdb();
});

const day = 86_400_000;
const host = (name: string, ips: string[], at = '2024-05-01T10:00:00.000Z'): HostRecord => ({
  name,
  fqdn: `${name}.example.com`,
  ips,
  resolve: { status: 'ok', at },
  checkedAt: at,
  runId: 'r',
});

describe('writeResults', () => {
  it('stores records, host records and the host index; every transaction bumps the data version', async () => {
    const at = '2024-05-01T10:00:00.000Z';
    await writeResults(t.redis, k, {
      records: [ipRecord('192.0.2.1', at), ipRecord('2001:db8::1', at)],
      hosts: [host('mx1', ['192.0.2.1', '2001:db8::1'])],
      removedHosts: [],
      removedIps: [],
      t: Date.parse(at),
      historyDays: 90,
    });
    expect(JSON.parse((await t.redis.get(k.ip('2001:db8::1')))!)).toEqual(ipRecord('2001:db8::1', at));
    expect(JSON.parse((await t.redis.get(k.host('mx1')))!).ips).toEqual(['192.0.2.1', '2001:db8::1']);
    expect(await t.redis.smembers(k.hostIndex)).toEqual(['mx1']);
    expect(Number(await t.redis.get(k.dataVersion))).toBe(2);
    const prev = await readPreviousHosts(t.redis, k, ['mx1', 'mx2']);
    expect([...prev.hosts.keys()]).toEqual(['mx1']);
    expect((await readIps(t.redis, k, ['192.0.2.1', '192.0.2.9'])).size).toBe(1);
  });

  it('adds one history point per run and trims points older than the retention', async () => {
    const now = Date.parse('2024-05-10T00:00:00Z');
    for (const ago of [5, 3, 1, 0]) {
      const at = new Date(now - ago * day).toISOString();
      await writeResults(t.redis, k, { records: [ipRecord('192.0.2.1', at)], hosts: [], removedHosts: [], removedIps: [], t: now - ago * day, historyDays: 2 });
    }
    const points = (await t.redis.zrange(k.history('192.0.2.1'), 0, -1)).map((p) => JSON.parse(p) as { t: number; score: number });
    expect(points.map((p) => (now - p.t) / day)).toEqual([1, 0]);
    expect(points[0]).toEqual({ t: now - day, score: 90, listings: 0, traps: null, color: null });
    expect(await t.redis.pttl(k.history('192.0.2.1'))).toBeGreaterThan(day);
  });

  it('deletes IPs and hosts that are gone, with their history and blocks', async () => {
    const at = '2024-05-01T10:00:00.000Z';
    await t.redis.set(k.blocks('old'), '{}');
    await writeResults(t.redis, k, {
      records: [ipRecord('192.0.2.1', at), ipRecord('192.0.2.2', at)],
      hosts: [host('mx1', ['192.0.2.1']), host('old', ['192.0.2.2'])],
      removedHosts: [],
      removedIps: [],
      t: 1,
      historyDays: 90,
    });
    await writeResults(t.redis, k, { records: [ipRecord('192.0.2.1', at)], hosts: [host('mx1', ['192.0.2.1'])], removedHosts: ['old'], removedIps: ['192.0.2.2'], t: 2, historyDays: 90 });
    expect(await t.redis.exists(k.ip('192.0.2.2'), k.history('192.0.2.2'), k.host('old'), k.blocks('old'))).toBe(0);
    expect(await t.redis.exists(k.ip('192.0.2.1'), k.history('192.0.2.1'), k.host('mx1'))).toBe(3);
    expect(await t.redis.smembers(k.hostIndex)).toEqual(['mx1']);
  });

  it('writes batches a few at a time and sends no more after one is refused', async () => {
    const at = '2024-05-01T10:00:00.000Z';
    const ips = Array.from({ length: 3000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
    await t.redis.set(k.history(ips[10]!), 'not a sorted set');
    const e = await writeResults(t.redis, k, { records: ips.map((ip) => ipRecord(ip, at)), hosts: [], removedHosts: [], removedIps: [], t: 1, historyDays: 90 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WrongTypeError);
    expect((e as WrongTypeError).key).toBe(k.history(ips[10]!));
    expect(String(e)).toMatch(/writing IP records: key \S+ holds the wrong Redis type \(expected a sorted set\)/);
    // Checked before writing: nothing of the refused batch (the first 500) was written.
    expect(await t.redis.exists(...ips.slice(0, 500).map((ip) => k.ip(ip)))).toBe(0);
    // Batches of 500, at most 4 in flight: the first refused, so the 5th and 6th were never sent.
    expect(await t.redis.exists(...ips.slice(2500).map((ip) => k.ip(ip)))).toBe(0);
    await t.redis.del(k.history(ips[10]!));
    await writeResults(t.redis, k, { records: ips.map((ip) => ipRecord(ip, at)), hosts: [], removedHosts: [], removedIps: [], t: 1, historyDays: 90 });
    expect(await t.redis.exists(...ips.map((ip) => k.ip(ip)))).toBe(3000);
  });

  it('a data version INCR cannot take (not an integer, the top of the range, another type) fails the IP records naming it, with nothing written', async () => {
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['not an integer', () => t.redis.set(k.dataVersion, 'seven'), /does not hold an integer/],
      // Looks like an integer; INCR overflows it.
      ['the top of the range', () => t.redis.set(k.dataVersion, '9223372036854775807'), /does not hold an integer/],
      ['another type', () => t.redis.rpush(k.dataVersion, '1'), /holds the wrong Redis type \(expected a string\)/],
    ];
    for (const [what, make, message] of cases) {
      await make();
      try {
        const e = await writeResults(t.redis, k, { records: [ipRecord('192.0.2.9', '2024-05-01T10:00:00.000Z')], hosts: [], removedHosts: [], removedIps: [], t: 1, historyDays: 90 }).catch((x: unknown) => x);
        expect((e as WrongTypeError).key, what).toBe(k.dataVersion);
        expect(String(e), what).toMatch(message);
        expect(await t.redis.exists(k.ip('192.0.2.9'), k.history('192.0.2.9')), what).toBe(0);
      } finally {
        await t.redis.del(k.dataVersion);
      }
    }
  });

  it('a refusal that is not the data version\'s fault (Redis out of memory) is said as Redis said it, not blamed on the key', async () => {
    // A server of its own: maxmemory is server-wide.
    const own = await ownTestRedis();
    try {
      await own.redis.config('SET', 'maxmemory-policy', 'noeviction');
      await own.redis.config('SET', 'maxmemory', '1');
      const e = await writeResults(own.redis, k, { records: [ipRecord('192.0.2.9', '2024-05-01T10:00:00.000Z')], hosts: [], removedHosts: [], removedIps: [], t: 1, historyDays: 90 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(Error);
      expect(e).not.toBeInstanceOf(WrongTypeError);
      expect(String(e)).toMatch(/OOM/);
      await own.redis.config('SET', 'maxmemory', '0');
      expect(await own.redis.exists(k.ip('192.0.2.9'), k.history('192.0.2.9'), k.dataVersion)).toBe(0);
    } finally {
      await own.close();
    }
  });

  it('a reader never sees a mix of two runs while 3,000 records are replaced', async () => {
    const ips = Array.from({ length: 3000 }, (_, i) => `2001:db8::${i.toString(16)}`);
    const write = (at: string) =>
      writeResults(t.redis, k, { records: ips.map((ip) => ipRecord(ip, at)), hosts: [], removedHosts: [], removedIps: [], t: Date.parse(at), historyDays: 90 });
    await write('2024-05-01T10:00:00.000Z');
    const reader: Redis = await connectRedis({ url: t.url }, { reconnect: false });
    let reads = 0;
    let done = false;
    const readLoop = (async () => {
      while (!done) {
        const vals = await reader.mget(...ips.slice(0, 500).map((ip) => k.ip(ip)));
        for (const v of vals) {
          const rec = JSON.parse(v!) as IpRecord;
          // Every part of one record comes from one run.
          expect(rec.runId).toBe(`run-${rec.checkedAt}`);
          expect(rec.senderscore.at).toBe(rec.checkedAt);
          reads++;
        }
      }
    })();
    await write('2024-05-01T10:15:00.000Z');
    done = true;
    await readLoop;
    reader.disconnect();
    expect(reads).toBeGreaterThan(0);
    expect(JSON.parse((await t.redis.get(k.ip(ips[2999]!)))!).checkedAt).toBe('2024-05-01T10:15:00.000Z');
  });
});

describe('acks and summaries', () => {
  it('removeAcks deletes only the given fields', async () => {
    await t.redis.hset(k.acks, 'rbl:a.test:192.0.2.1', 'alice 2024-05-01 10:00:00', 'block:gmail:mx1', 'bob 2024-05-01 11:00:00');
    await removeAcks(t.redis, k, ['rbl:a.test:192.0.2.1']);
    expect(await t.redis.hgetall(k.acks)).toEqual({ 'block:gmail:mx1': 'bob 2024-05-01 11:00:00' });
    await removeAcks(t.redis, k, []);
    expect(await t.redis.hlen(k.acks)).toBe(1);
  });

  it('storeSummary sets the last run and keeps the newest `runs` summaries', async () => {
    const s = (id: string): RunSummary => ({
      id,
      startedAt: 'a',
      finishedAt: 'b',
      durationMs: 1,
      hosts: 1,
      ips: 1,
      status: 'ok',
      checks: {},
      unhealthyZones: [],
      errors: [],
    });
    for (const id of ['1', '2', '3', '4']) await storeSummary(t.redis, k, s(id), 3);
    expect(JSON.parse((await t.redis.get(k.lastRun))!).id).toBe('4');
    expect((await t.redis.lrange(k.runs, 0, -1)).map((x) => JSON.parse(x).id)).toEqual(['4', '3', '2']);
  });
});

describe('reading what cannot be read', () => {
  const at = '2024-05-01T10:00:00.000Z';

  it('a record that is not JSON or has the wrong shape is named by key and left out; the others read', async () => {
    await t.redis.set(k.ip('192.0.2.1'), JSON.stringify(ipRecord('192.0.2.1', at)));
    await t.redis.set(k.ip('192.0.2.2'), '{"ip": "192.0.2.2", trunc');
    await t.redis.set(k.ip('192.0.2.3'), JSON.stringify({ ...ipRecord('192.0.2.3', at), senderscore: { status: 'fine', at } }));
    await t.redis.set(k.host('mx1'), JSON.stringify(host('mx1', ['192.0.2.1'])));
    await t.redis.set(k.host('mx2'), JSON.stringify({ name: 'mx2', ips: 'nope' }));
    await t.redis.set(k.blocks('mx1'), '[]');
    const problems: string[] = [];
    const ips = await readIps(t.redis, k, ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'], problems);
    expect([...ips.keys()]).toEqual(['192.0.2.1']);
    expect(ips.get('192.0.2.1')).toEqual(ipRecord('192.0.2.1', at));
    const prev = await readPreviousHosts(t.redis, k, ['mx1', 'mx2'], problems);
    expect([...prev.hosts.keys()]).toEqual(['mx1']);
    expect((await readBlocks(t.redis, k, ['mx1'], problems)).size).toBe(0);
    expect(problems).toEqual([
      expect.stringMatching(/^mtarep:ip:192\.0\.2\.2: unreadable record \(not JSON: /),
      expect.stringMatching(/^mtarep:ip:192\.0\.2\.3: unreadable record \(wrong shape: senderscore\.status: /),
      expect.stringMatching(/^mtarep:host:mx2: unreadable record \(wrong shape: (fqdn|ips): /),
      expect.stringMatching(/^mtarep:blocks:mx1: unreadable record \(wrong shape: /),
    ]);
  });

  it('the snapshot names keys of the wrong type (acks, data version, last run) and reads the rest', async () => {
    await t.redis.set(k.ip('192.0.2.1'), JSON.stringify(ipRecord('192.0.2.1', at)));
    await t.redis.set(k.host('mx1'), JSON.stringify(host('mx1', ['192.0.2.1'])));
    await t.redis.set(k.acks, 'not a hash');
    await t.redis.hset(k.dataVersion, 'v', '1');
    await t.redis.rpush(k.lastRun, 'x');
    const snap = await readSnapshot(t.redis, k, ['mx1'], (_n, rec) => rec?.ips ?? []);
    expect(snap.ips.get('192.0.2.1')).toEqual(ipRecord('192.0.2.1', at));
    expect(snap.hosts.get('mx1')?.ips).toEqual(['192.0.2.1']);
    expect(snap.acks.size).toBe(0);
    expect(snap.lastRun).toBeNull();
    expect(snap.version).toBe(unreadableVersion);
    expect(snap.problems).toEqual([
      expect.stringMatching(/^mtarep:data-version: holds the wrong Redis type \(expected a string\)/),
      expect.stringMatching(/^mtarep:run:last: holds the wrong Redis type/),
      expect.stringMatching(/^mtarep:acks: holds the wrong Redis type \(expected a hash\)/),
    ]);
    expect(await readVersion(t.redis, k)).toBe(unreadableVersion);
    const problems: string[] = [];
    expect((await readAcks(t.redis, k, problems)).size).toBe(0);
    expect(problems).toEqual([expect.stringMatching(/^mtarep:acks: holds the wrong Redis type/)]);
  });

  it('a write refused for a key of the wrong type names the key', async () => {
    await t.redis.set(k.acks, 'not a hash');
    const err = await removeAcks(t.redis, k, ['rbl:a.test:192.0.2.1']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WrongTypeError);
    expect((err as WrongTypeError).key).toBe(k.acks);
    expect((err as Error).message).toMatch(/^removing acknowledgements: key mtarep:acks holds the wrong Redis type/);
    await t.redis.del(k.acks, k.dataVersion);
    await t.redis.hset(k.dataVersion, 'v', '1');
    const w = await writeResults(t.redis, k, { records: [], hosts: [host('mx1', [])], removedHosts: [], removedIps: [], t: 1, historyDays: 1 }).catch((e: unknown) => e);
    expect((w as WrongTypeError).key).toBe(k.dataVersion);
  });

  it('history: corrupt points are skipped (a chart gap), good ones kept', async () => {
    await t.redis.zadd(k.history('192.0.2.1'), 1, JSON.stringify({ t: 1, score: 90, listings: 0, traps: null, color: null }), 2, 'garbage', 3, '{"t":3}');
    const h = await readHistory(t.redis, k, ['192.0.2.1', '192.0.2.9'], 0);
    expect(h.get('192.0.2.1')).toEqual([{ t: 1, score: 90, listings: 0, traps: null, color: null }]);
    expect(h.get('192.0.2.9')).toEqual([]);
  });
});

describe('records of the previous version', () => {
  it('an IpRecord with DNSBL as a bare zone array is migrated on read, not lost', async () => {
    const at = '2024-05-01T10:00:00.000Z';
    const zones = [{ zone: 'a.test', kind: 'block', state: 'listed', critical: true, codes: ['127.0.0.2'], labels: ['SBL'], at }];
    const old = { ...ipRecord('192.0.2.1', at), dnsbl: zones };
    await t.redis.set(k.ip('192.0.2.1'), JSON.stringify(old));
    const problems: string[] = [];
    const rec = (await readIps(t.redis, k, ['192.0.2.1'], problems)).get('192.0.2.1');
    expect(problems).toEqual([]);
    expect(rec?.dnsbl).toEqual({ status: 'ok', at, value: { zones } });
    expect(rec?.senderscore).toEqual(old.senderscore);
  });
});
