// web/form.tsx: what a form route answers for a body it cannot read (the black-box probe's 500s).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rblIssueId } from '../../lib/issues.js';
import { silentLogger } from '../../lib/log.js';
import { createApp, startServer, type RunningServer } from '../../web/server.js';
import { captureLog, type CaptureLog } from '../helpers/capture-log.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, configOnFreePort, keys, makeConfig, NOW, sampleData, store } from './fixtures.js';
import { postRaw } from './raw-http.js';

let t: TestRedis;
let server: RunningServer;
let log: CaptureLog;
let config: ReturnType<typeof makeConfig>;
const auth = basic('alice', 'pw-alice');
const k = keys('mtarep:');
const spamhaus = rblIssueId('zen.spamhaus.org', '192.0.2.10');

/** Every route that reads a form body (each calls checkedForm). */
const formRoutes = ['/ack', '/esp/send', '/events/test', '/delivery/example.com/maintenance'];

beforeAll(async () => {
  t = await testRedis();
  config = await configOnFreePort(t.prefix);
  await store(t.redis, k, sampleData());
  log = captureLog();
  server = await startServer({ config, redis: t.redis, log, now: () => NOW, renderThread: false, versionWatch: false });
});
afterAll(async () => {
  await server.close();
  await t.close();
});

/** Every key in this file's database, to show a refused form stored nothing. */
async function allKeys(): Promise<string[]> {
  return (await t.redis.keys('*')).sort();
}

describe('a form body that cannot be read', () => {
  it('a malformed multipart body on every form route: the 400 page with the security headers, nothing done, one warning', async () => {
    const origin = server.url.slice(0, -1);
    const before = await allKeys();
    for (const path of formRoutes) {
      const from = log.lines.length;
      const res = await postRaw(server.url, path, { ...auth, Origin: origin, 'Content-Type': 'multipart/form-data; boundary=zzz' }, '--zzz\r\nbroken');
      const html = res.body.toString('utf8');
      expect(res.status, path).toBe(400);
      expect(res.headers['content-type'], path).toMatch(/^text\/html/);
      expect(html, path).toContain('Form could not be read');
      expect(html, path).toContain('the body is not valid multipart/form-data. Nothing was done.');
      expect(res.headers['content-security-policy'], path).toContain("default-src 'self'");
      expect(res.headers['x-frame-options'], path).toBe('DENY');
      expect(res.headers['cache-control'], path).toBe('no-store');
      const lines = log.lines.slice(from).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines, path).toEqual([{ level: 'warn', msg: 'form refused: the body could not be read', path, user: 'alice', reason: 'malformed multipart/form-data' }]);
    }
    expect(await allKeys()).toEqual(before);
    expect(log.text()).not.toContain('"level":"error"');
    expect(log.text()).not.toContain('stack');
  });

  it('each body a browser form would not send gets its own answer: never a 500, never acted on', async () => {
    const a = createApp({ config, redis: t.redis, log: silentLogger, now: () => NOW });
    const part = await (await a.request(`/issue/part?id=${encodeURIComponent(spamhaus)}`, { headers: auth })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(part)![1]!;
    const post = (type: string | null, body: string) =>
      a.request('http://localhost/ack', { method: 'POST', headers: { ...auth, Origin: 'http://localhost', ...(type === null ? {} : { 'Content-Type': type }) }, body });
    const cases: [string | null, string, number, string][] = [
      ['multipart/form-data; boundary=zzz', '--zzz\r\nbroken', 400, 'the body is not valid multipart/form-data'],
      ['multipart/form-data', `csrf=${csrf}&id=${spamhaus}`, 400, 'the body is not valid multipart/form-data'], // no boundary
      ['text/plain', `csrf=${csrf}&id=${spamhaus}`, 415, 'not sent as a form'],
      ['application/json', JSON.stringify({ csrf, id: spamhaus }), 415, 'not sent as a form'],
      [null, `csrf=${csrf}&id=${spamhaus}`, 415, 'not sent as a form'],
      ['application/x-www-form-urlencoded', '', 400, 'no form fields'],
      ['multipart/form-data; boundary=zzz', '', 400, 'no form fields'],
      // Invalid percent-encoding is kept as it is, as browsers and URLSearchParams read it: the token
      // then decides, or the route (no issue is named "%zz").
      ['application/x-www-form-urlencoded', `csrf=%zz${csrf}&id=${encodeURIComponent(spamhaus)}`, 403, 'Form expired'],
      ['application/x-www-form-urlencoded', `csrf=${csrf}&id=%zz%E0%A4%`, 409, 'No such issue'],
    ];
    for (const [type, body, status, text] of cases) {
      const res = await post(type, body);
      expect(res.status, `${type} ${JSON.stringify(body)}`).toBe(status);
      expect(await res.text(), `${type} ${JSON.stringify(body)}`).toContain(text);
    }
    expect(await t.redis.hlen(k.acks)).toBe(0);
    // The same token in a well-formed body of either form type is taken.
    const fd = new FormData();
    fd.set('csrf', csrf);
    fd.set('id', spamhaus);
    expect((await a.request('http://localhost/ack', { method: 'POST', headers: { ...auth, Origin: 'http://localhost' }, body: fd })).status).toBe(303);
    expect(await t.redis.hlen(k.acks)).toBe(1);
    await t.redis.hdel(k.acks, spamhaus);
  });
});
