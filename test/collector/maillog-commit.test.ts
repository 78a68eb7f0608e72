/**
 * The maillog commit script against a real Redis: all or nothing. A Lua script is not a transaction
 * (a failing command leaves the writes before it in place), so every key and counter field is checked
 * before the first write; a bad one refuses the whole commit, and a re-run then counts exactly once.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { commitRead, type CommitInput } from '../../collector/maillog/commit.js';
import { keys as makeKeys, type CounterType } from '../../lib/keys.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';

let t: TestRedis;
const k = makeKeys('mtarep:');
beforeAll(async () => {
  t = await testRedis();
});
afterAll(async () => {
  await t?.close();
});
beforeEach(async () => {
  await t.redis.flushdb();
});

function input(over: Partial<CommitInput> = {}): CommitInput {
  const counters = new Map<string, Map<CounterType, Map<string, number>>>([
    [
      '20261103',
      new Map<CounterType, Map<string, number>>([
        ['sent', new Map([['gmail.com', 3]])],
        ['bounced', new Map([['yahoo.com', 2]])],
      ]),
    ],
  ]);
  return {
    host: 'mta1',
    countersId: 'mta1',
    expected: { inode: '', offset: '', path: '' },
    next: { path: '/var/log/maillog', inode: '42', offset: 1000 },
    record: { host: 'mta1', status: 'ok', at: '2026-11-03T12:00:00.000Z', blocksAt: '2026-11-03T12:00:00.000Z', blocks: [] },
    queue: { set: [['QID000001', JSON.stringify({ r: ['a@gmail.com'], t: 1 })]], del: [] },
    counters,
    ttlSec: 86_400,
    ...over,
  };
}

/** Everything the commit may write. */
async function snapshot() {
  return {
    pos: await t.redis.hgetall(k.maillogPosition('mta1')),
    queue: await t.redis.hgetall(k.maillogQueue('mta1')),
    blocks: await t.redis.get(k.blocks('mta1')),
    version: await t.redis.get(k.dataVersion),
    ids: await t.redis.smembers(k.counterIds),
    sent: await t.redis.hgetall('mta1:20261103:sent'),
  };
}

describe('commitRead is all or nothing', () => {
  it('commits counters, queue, position, record and version together', async () => {
    await commitRead(t.redis, k, input());
    expect(await snapshot()).toEqual({
      pos: { inode: '42', offset: '1000', path: '/var/log/maillog', updated: '2026-11-03T12:00:00.000Z' },
      queue: { QID000001: JSON.stringify({ r: ['a@gmail.com'], t: 1 }) },
      blocks: JSON.stringify(input().record),
      version: '1',
      ids: ['mta1'],
      sent: { 'gmail.com': '3' },
    });
    expect(await t.redis.hgetall('mta1:20261103:bounced')).toEqual({ 'yahoo.com': '2' });
  });

  it('a counter key of another type (an external writer) refuses the whole commit, naming the key', async () => {
    await t.redis.set('mta1:20261103:bounced', 'not a hash');
    const before = await snapshot();
    await expect(commitRead(t.redis, k, input())).rejects.toThrow(/mta1:20261103:bounced/);
    expect(await snapshot()).toEqual(before);
    // Fixed by hand, the same read commits once.
    await t.redis.del('mta1:20261103:bounced');
    await commitRead(t.redis, k, input());
    expect((await snapshot()).sent).toEqual({ 'gmail.com': '3' });
  });

  it('a counter field that is not an integer refuses the whole commit', async () => {
    await t.redis.hset('mta1:20261103:bounced', 'yahoo.com', 'lots');
    const before = await snapshot();
    await expect(commitRead(t.redis, k, input())).rejects.toThrow(/mta1:20261103:bounced.*yahoo\.com/);
    expect(await snapshot()).toEqual(before);
  });

  it('a data version that is not a number refuses the whole commit', async () => {
    await t.redis.set(k.dataVersion, 'x');
    const before = await snapshot();
    await expect(commitRead(t.redis, k, input())).rejects.toThrow(new RegExp(k.dataVersion));
    expect(await snapshot()).toEqual(before);
  });
});
