// web/origin-check.tsx: the Origin check's refusal is the app's 403 page that says why; the check is as strict as hono's.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rblIssueId } from '../../lib/issues.js';
import { createApp } from '../../web/server.js';
import { captureLog, type CaptureLog } from '../helpers/capture-log.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, htpasswdLine, keys, makeConfig, NOW, sampleData, store, tempDir, writeHtpasswd } from './fixtures.js';

let t: TestRedis;
let config: ReturnType<typeof makeConfig>;
let log: CaptureLog;
const auth = basic('alice', 'pw-alice');
const k = keys('mtarep:');
const spamhaus = rblIssueId('zen.spamhaus.org', '192.0.2.10');

beforeAll(async () => {
  t = await testRedis();
  config = makeConfig(tempDir(), {}, t.prefix);
  writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'bcrypt')]);
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  await t.redis.flushdb();
  await store(t.redis, k, sampleData());
  log = captureLog();
});

function app() {
  return createApp({ config, redis: t.redis, log, now: () => NOW });
}

/** The user's form token, as the issue window embeds it. */
async function csrfOf(a: ReturnType<typeof app>): Promise<string> {
  const html = await (await a.request(`/issue/part?id=${encodeURIComponent(spamhaus)}`, { headers: auth })).text();
  return /name="csrf" value="([^"]+)"/.exec(html)![1]!;
}

/** POST /ack with a valid token and only the given origin headers. */
function ack(a: ReturnType<typeof app>, csrf: string, headers: Record<string, string>, path = '/ack') {
  return a.request(`http://localhost${path}`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ id: spamhaus, csrf, back: '/' }).toString(),
  });
}

describe('a POST the Origin check refuses', () => {
  it('without Origin (with or without Referer): the 403 page says the request did not say where it came from', async () => {
    const a = app();
    const csrf = await csrfOf(a);
    for (const headers of [{}, { Referer: 'http://localhost/' }] as Record<string, string>[]) {
      const res = await ack(a, csrf, headers);
      const html = await res.text();
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(html).toContain('403 · Request refused');
      expect(html).toContain('did not say which site it came from (it had no Origin header)');
      expect(html).toContain('a proxy in front of mtarep may strip it');
      expect(html).toContain('<a href="/">Back to the overview</a>');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    expect(await t.redis.hlen(k.acks)).toBe(0);
    expect(log.lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { level: 'warn', msg: 'request refused by the Origin check', method: 'POST', path: '/ack', user: 'alice', reason: 'no Origin header' },
      { level: 'warn', msg: 'request refused by the Origin check', method: 'POST', path: '/ack', user: 'alice', reason: 'no Origin header' },
    ]);
  });

  it('from another origin (or a cross-site Sec-Fetch-Site): the page says it came from another site', async () => {
    const a = app();
    const csrf = await csrfOf(a);
    for (const headers of [{ Origin: 'https://evil.example' }, { Origin: 'null' }, { Origin: 'http://localhost:8080' }, { 'Sec-Fetch-Site': 'cross-site' }, { 'Sec-Fetch-Site': 'same-site' }] as Record<string, string>[]) {
      const res = await ack(a, csrf, headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      const html = await res.text();
      expect(html, JSON.stringify(headers)).toContain('came from another site than this dashboard');
      expect(html, JSON.stringify(headers)).toContain('may change the Host header');
    }
    expect(await t.redis.hlen(k.acks)).toBe(0);
    expect(log.text()).toContain('"reason":"Origin https://evil.example"');
    expect(log.text()).toContain('"reason":"Sec-Fetch-Site cross-site"');
  });

  it('under /api/ the refusal is JSON, like the rest of the API', async () => {
    const a = app();
    const res = await ack(a, await csrfOf(a), {}, '/api/hosts');
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'cross-origin request refused', message: expect.stringContaining('no Origin header') as unknown });
  });

  it('is exactly as strict as before: only the same host or Sec-Fetch-Site same-origin pass', async () => {
    const a = app();
    const csrf = await csrfOf(a);
    expect((await ack(a, csrf, { Origin: 'http://localhost' })).status).toBe(303);
    await t.redis.hdel(k.acks, spamhaus);
    expect((await ack(a, csrf, { 'Sec-Fetch-Site': 'same-origin' })).status).toBe(303);
    await t.redis.hdel(k.acks, spamhaus);
    // Either signal passes alone (hono's rule); refused only when neither does.
    expect((await ack(a, csrf, { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'same-origin' })).status).toBe(303);
    await t.redis.hdel(k.acks, spamhaus);
    expect((await ack(a, csrf, { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect((await ack(a, csrf, { Origin: 'http://localhost.evil.example' })).status).toBe(403);
    expect(await t.redis.hlen(k.acks)).toBe(0);
  });
});
