// The graph counters reader against a real Redis: identifiers from the set and from SCAN, a key of
// another type skipped, any other per-command error an error (never a silently low count).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../../lib/keys.js';
import { connectRedis, RedisUnavailableError } from '../../lib/redis.js';
import { CounterReader } from '../../web/counters.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';

let t: TestRedis;
const k = keys('mtarep:');
const user = `mtarep-test-nohmget-${process.pid}`;

beforeAll(async () => {
  t = await testRedis();
});
afterAll(async () => {
  await t.redis.call('ACL', 'DELUSER', user);
  await t.close();
});
beforeEach(async () => {
  await t.redis.flushdb();
  await t.redis.hincrby(k.counter('acme', '20240501', 'sent'), 'gmail.com', 40);
  await t.redis.hincrby(k.counter('shipper', '20240501', 'sent'), 'gmail.com', 2);
  await t.redis.sadd(k.counterIds, 'acme');
});

describe('CounterReader', () => {
  it('sums every identifier and skips a key of another type', async () => {
    await t.redis.set(k.counter('junk', '20240501', 'bounced'), 'not a hash');
    const day = await new CounterReader(t.redis, k).day('20240501', ['gmail.com']);
    expect(day.sent).toEqual({ 'gmail.com': 42 });
    expect(day.bounced).toEqual({ 'gmail.com': 0 });
  });

  it('any other per-command error is an error, not a zero', async () => {
    await t.redis.call('ACL', 'SETUSER', user, 'reset', 'on', '>pw', '~*', '+@all', '-hmget');
    const u = new URL(t.url);
    u.username = user;
    u.password = 'pw';
    const limited = await connectRedis({ url: u.toString() }, { reconnect: false });
    try {
      await expect(new CounterReader(limited, k).day('20240501', ['gmail.com'])).rejects.toBeInstanceOf(RedisUnavailableError);
    } finally {
      limited.disconnect();
    }
  });
});
