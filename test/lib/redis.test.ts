// lib/redis.ts against the run's real Redis (64 databases): a database the server refuses is an error
// for the connection that asked for it, at connect and on any later (re)connection, and never a
// silent fall back to database 0. The refusal after connect is made real with an ACL that takes
// SELECT away and a CLIENT KILL that makes ioredis reconnect.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { connectRedis, duplicateRedis, failFastCopy, RedisUnavailableError, type Redis } from '../../lib/redis.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';

let t: TestRedis;
let admin0: Redis;
const user = `mtarep-test-select-${process.pid}`;
const password = 'Sel3ctPW-never-shown';
const marker = `mtarep-test-select-marker-${process.pid}`;

/** This file's database as `user`, whose password must never appear in a message. */
function urlAs(db: number): string {
  const u = new URL(`${inject('redisUrl')}/${db}`);
  u.username = user;
  u.password = password;
  return u.toString();
}

/** Waits for a RedisUnavailableError event on `redis` (the refusal, re-emitted). */
function refusal(redis: Redis): Promise<Error> {
  return new Promise((resolve) => {
    const on = (e: Error) => {
      if (e instanceof RedisUnavailableError) {
        redis.off('error', on);
        resolve(e);
      }
    };
    redis.on('error', on);
  });
}

beforeAll(async () => {
  t = await testRedis();
  admin0 = await connectRedis({ url: `${inject('redisUrl')}/0` }, { reconnect: false });
});
afterAll(async () => {
  await t.redis.call('ACL', 'DELUSER', user);
  await admin0.del(marker);
  admin0.disconnect();
  await t.close();
});
beforeEach(async () => {
  await t.redis.call('ACL', 'SETUSER', user, 'reset', 'on', `>${password}`, '~*', '&*', '+@all');
  await t.redis.flushdb();
  await admin0.del(marker);
});

describe('connectRedis and the database of redis_url', () => {
  it('a database past the server\'s count: RedisUnavailableError naming it, without the password', async () => {
    const err = await connectRedis({ url: urlAs(64) }, { reconnect: false }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect(err!.message).toMatch(/^Redis at redis:\/\/mtarep-test-select-\d+:\*\*\*@127\.0\.0\.1:\d+\/64 refused database 64 of redis_url .*DB index is out of range; nothing was written$/);
    expect(err!.message).not.toContain(password);
  });

  it('a database the server accepts: the connection uses it', async () => {
    const redis = await connectRedis({ url: urlAs(t.db) }, { reconnect: false });
    await redis.set(marker, 'x');
    expect(await t.redis.get(marker)).toBe('x');
    expect(await admin0.exists(marker)).toBe(0);
    redis.disconnect();
  });

  it('refused on a reconnection: the connection closes for good and the queued write goes nowhere', async () => {
    const redis = await connectRedis({ url: urlAs(t.db) }, { reconnectDelayMs: 10 });
    const refused = refusal(redis);
    const closed = new Promise((resolve) => redis.once('close', resolve));
    await t.redis.call('ACL', 'SETUSER', user, '-select');
    await t.redis.call('CLIENT', 'KILL', 'USER', user);
    await closed;
    // Queued while ioredis reconnects: sent right behind its SELECT unless the refusal stops it.
    const write = redis.set(marker, 'x').then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect((await write)?.message).toBe('Connection is closed.');
    expect((await refused).message).toMatch(new RegExp(`^Redis refused database ${t.db} of redis_url .*NOPERM.*; connection closed`));
    expect(redis.status).toBe('end');
    expect(await admin0.exists(marker)).toBe(0);
    expect(await t.redis.exists(marker)).toBe(0);
  });

  it('a duplicate (BullMQ\'s connection) refused at its first connection never writes to database 0', async () => {
    const redis = await connectRedis({ url: urlAs(t.db) }, { reconnect: false });
    await t.redis.call('ACL', 'SETUSER', user, '-select');
    const copy = duplicateRedis(redis, { lazyConnect: false, enableOfflineQueue: true });
    const refused = refusal(copy);
    const write = copy.set(marker, 'x').then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect((await write)?.message).toBe('Connection is closed.');
    expect((await refused).message).toMatch(/NOPERM/);
    expect(await admin0.exists(marker)).toBe(0);
    redis.disconnect();
  });

  it('failFastCopy rejects a refused database instead of handing out a connection on database 0', async () => {
    const redis = await connectRedis({ url: urlAs(t.db) }, { reconnect: false });
    await t.redis.call('ACL', 'SETUSER', user, '-select');
    await expect(failFastCopy(redis)).rejects.toThrow(new RegExp(`^Redis refused database ${t.db} of redis_url .*NOPERM`));
    redis.disconnect();
  });
});
