// Failed-login work per client address (issue 13: 40 parallel bad logins slowed a logged-in user's
// request from 1 ms to 3.1 s, each unknown user costing a full bcrypt). Real sockets from two loopback
// addresses; the limiter's clock is the test's, so "after the window" needs no waiting.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { clientKey, LoginLimiter } from '../../web/login-limiter.js';
import { startServer, type RunningServer } from '../../web/server.js';
import { freePort } from '../helpers/net.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, htpasswdLine, keys, makeConfig, NOW, sampleData, store, tempDir, writeHtpasswd } from './fixtures.js';

let t: TestRedis;
let server: RunningServer;
let clock = 1_000_000;
const burst = 5;
const refillMs = 10_000;

beforeAll(async () => {
  t = await testRedis();
  const port = await freePort();
  const config = makeConfig(tempDir(), { listen: `127.0.0.1:${port}` }, t.prefix);
  writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'bcrypt'), htpasswdLine('bob', 'pw-bob-right', 'bcrypt'), htpasswdLine('carol', 'pw-carol', 'bcrypt')]);
  await store(t.redis, keys(t.prefix), sampleData());
  server = await startServer({ config, redis: t.redis, log: silentLogger, now: () => NOW, loginLimits: { burst, refillMs, maxInFlight: 2, now: () => clock } });
});
afterAll(async () => {
  await server.close();
  await t.close();
});

/** GET /api/version as `user` from a local address (127.0.0.1 or another loopback address). */
function get(from: string, user: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(new URL('/api/version', server.url), { headers: basic(user, password), localAddress: from, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

describe('failed-login work is limited per client address', () => {
  it('an attack from one address is cut short; a right password from another works meanwhile, and from the attacker\'s address after the window', async () => {
    const attacker = '127.0.0.2';
    const other = '127.0.0.3';
    // carol logs in before the attack from the attacker's address: remembered, she is never held up.
    expect(await get(attacker, 'carol', 'pw-carol')).toBe(200);

    const attack = Promise.all(Array.from({ length: 40 }, (_, i) => get(attacker, `nobody${i}`, `guess${i}`)));
    const during = await Promise.all([get(other, 'alice', 'pw-alice'), get(attacker, 'carol', 'pw-carol')]);
    const statuses = await attack;
    expect(during).toEqual([200, 200]);
    // At most `burst` guesses got a password check (401); the rest were refused unchecked (429).
    const checked = statuses.filter((s) => s === 401).length;
    expect(checked).toBeLessThanOrEqual(burst);
    expect(statuses.filter((s) => s === 429).length).toBe(40 - checked);

    // The attacker's address has used its budget: even a right password from there waits...
    expect(await get(attacker, 'bob', 'pw-bob-right')).toBe(429);
    // ...until the window has passed.
    clock += burst * refillMs;
    expect(await get(attacker, 'bob', 'pw-bob-right')).toBe(200);
    // The other address never lost anything.
    expect(await get(other, 'alice', 'pw-alice')).toBe(200);
  }, 60_000);
});

describe('LoginLimiter', () => {
  it('refills one failure per refillMs; successes cost nothing; concurrency per address', () => {
    let now = 0;
    const l = new LoginLimiter({ burst: 2, refillMs: 1000, maxInFlight: 1, now: () => now });
    const a = l.begin('192.0.2.1');
    expect('done' in a).toBe(true);
    expect(l.begin('192.0.2.1')).toEqual({ retryAfterSec: 1 }); // one at a time
    expect('done' in l.begin('192.0.2.2')).toBe(true); // another address is not affected
    (a as { done: (ok: boolean) => void }).done(false);
    const b = l.begin('192.0.2.1') as { done: (ok: boolean) => void };
    b.done(false);
    expect(l.begin('192.0.2.1')).toEqual({ retryAfterSec: 1 });
    now += 1000;
    const c = l.begin('192.0.2.1') as { done: (ok: boolean) => void };
    c.done(true); // a success keeps the budget
    expect('done' in l.begin('192.0.2.1')).toBe(true);
  });

  it('keys IPv4-mapped addresses as IPv4 and IPv6 by /64', () => {
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:DB8:1:2:bbbb::9')).toBe('2001:db8:1:2::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });
});
