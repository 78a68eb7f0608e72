/**
 * The ESP webhooks' hot path (web/hot-path.ts webhookHotPath), before Hono on a real socket: it
 * answers a POST with a declared body length exactly as the Hono route does (status, JSON, headers),
 * counts exactly once, and leaves everything else to Hono (a chunked body, a length over the limit,
 * HEAD, another path).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dayKey, keys } from '../../lib/keys.js';
import { silentLogger } from '../../lib/log.js';
import { maxBodyBytes } from '../../web/body-limit.js';
import { webhookHotPath } from '../../web/hot-path.js';
import { createApp, securityHeaderValues, webContext } from '../../web/server.js';
import { mandrillRequest, sendgridHeaders, sendgridSigner, sgEvent } from '../helpers/esp-webhooks.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { makeConfig, tempDir } from '../web/fixtures.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const nowSec = NOW.getTime() / 1000;
const sg = sendgridSigner();
const MD_KEY = 'md-webhook-key-abcdef';
const MD_URL = 'https://mtarep.example.com/webhooks/mandrill';
const k = keys('mtarep:');
/** What the test server answers when the hot path does not take a request. */
const NOT_TAKEN = 599;

let t: TestRedis;
let server: http.Server;
let base: string;
let hono: ReturnType<typeof createApp>;

beforeAll(async () => {
  t = await testRedis();
  // Mailgun not configured: its route answers 404.
  const config = makeConfig(tempDir(), { esp: { webhooks: { counters_id: 'esp', sendgrid: { public_key: sg.publicKey }, mandrill: { webhook_key: MD_KEY, url: MD_URL } } } }, t.prefix);
  const deps = { config, redis: t.redis, log: silentLogger, now: () => NOW };
  hono = createApp(deps);
  const hot = webhookHotPath(webContext(deps), await securityHeaderValues());
  server = http.createServer((req, res) => {
    if (hot(req, res)) return;
    req.resume();
    res.writeHead(NOT_TAKEN);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await t.close();
});
beforeEach(async () => {
  await t.redis.flushdb();
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Headers only a socket answer has (Node adds them), or that differ per answer. */
const socketOnly = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);

function request(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string; chunked?: boolean }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body !== undefined && !opts.chunked) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = http.request(base + path, { method: opts.method ?? 'POST', headers });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        const h: Record<string, string> = {};
        for (const [n, v] of Object.entries(res.headers)) if (!socketOnly.has(n) && typeof v === 'string') h[n] = v;
        resolve({ status: res.statusCode ?? 0, headers: h, body: text });
      });
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

async function viaHono(path: string, opts: { headers?: Record<string, string>; body: string }): Promise<Answer> {
  const res = await hono.request(path, { method: 'POST', headers: opts.headers ?? {}, body: opts.body });
  const h: Record<string, string> = {};
  for (const [n, v] of res.headers) if (!socketOnly.has(n)) h[n] = v;
  return { status: res.status, headers: h, body: await res.text() };
}

const sent = async () => Number((await t.redis.hget(k.counter('esp', dayKey(new Date(1714564800 * 1000)), 'sent'), 'gmail.com')) ?? 0);

function sendgridBatch(from: number, n: number): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(Array.from({ length: n }, (_, i) => sgEvent(from + i, 'delivered', `u${from + i}@gmail.com`)));
  return { body, headers: sendgridHeaders(sg, body, nowSec) };
}

describe('the webhooks hot path', () => {
  it('answers as the Hono route does: counted, retried, refused, unconfigured, not the vendor shape', async () => {
    const good = sendgridBatch(0, 5);
    const notArray = '{"event":"delivered"}';
    const md = mandrillRequest(MD_KEY, MD_URL, [{ event: 'send', ts: 1714564800, _id: 'm1', msg: { _id: 'm1', email: 'x@gmail.com' } }]);
    const cases: { name: string; path: string; headers?: Record<string, string>; body: string; status: number }[] = [
      { name: 'a new batch', path: '/webhooks/sendgrid', ...good, status: 200 },
      { name: 'a tampered body', path: '/webhooks/sendgrid', headers: good.headers, body: good.body.replace('u1@', 'u9@'), status: 403 },
      { name: 'no signature', path: '/webhooks/sendgrid', headers: { 'content-type': 'application/json' }, body: good.body, status: 401 },
      { name: 'a signed body that is not an array', path: '/webhooks/sendgrid', headers: sendgridHeaders(sg, notArray, nowSec), body: notArray, status: 400 },
      { name: 'a stale timestamp', path: '/webhooks/sendgrid', headers: sendgridHeaders(sg, good.body, nowSec - 3600), body: good.body, status: 403 },
      { name: 'an unconfigured vendor', path: '/webhooks/mailgun', headers: { 'content-type': 'application/json' }, body: '{}', status: 404 },
      { name: 'a Mandrill batch', path: '/webhooks/mandrill', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-mandrill-signature': md.signature }, body: md.body, status: 200 },
    ];
    for (const c of cases) {
      await t.redis.flushdb();
      const hot = await request(c.path, { headers: c.headers ?? {}, body: c.body });
      const hotKeys = await t.redis.dbsize();
      await t.redis.flushdb();
      const expected = await viaHono(c.path, { headers: c.headers ?? {}, body: c.body });
      expect(hot.status, c.name).toBe(c.status);
      expect(hot, c.name).toEqual(expected);
      expect(hotKeys, c.name).toBe(await t.redis.dbsize());
    }
    // The answer's security headers and no-store are there (the comparison above covers the rest).
    await t.redis.flushdb();
    const a = await request('/webhooks/sendgrid', good);
    expect(a.headers['content-security-policy']).toContain("default-src 'self'");
    expect(a.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(a.body)).toEqual({ received: 5, counted: 5, duplicates: 0, settled: 0 });
    // The same batch again (an ESP retrying): acknowledged, nothing counted twice.
    expect(JSON.parse((await request('/webhooks/sendgrid', good)).body)).toEqual({ received: 5, counted: 0, duplicates: 5, settled: 0 });
    expect(await sent()).toBe(5);
  });

  it('batches arriving together are each counted exactly once', async () => {
    const batches = Array.from({ length: 20 }, (_, b) => sendgridBatch(b * 10, 10));
    const answers = await Promise.all([...batches, ...batches].map((b) => request('/webhooks/sendgrid', b)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.reduce((n, a) => n + (JSON.parse(a.body) as { counted: number }).counted, 0)).toBe(200);
    expect(await sent()).toBe(200);
  });

  it('leaves to Hono what it does not answer the same way: chunked, over the limit, HEAD, GET, another path, a query', async () => {
    const good = sendgridBatch(0, 2);
    expect((await request('/webhooks/sendgrid', { ...good, chunked: true })).status).toBe(NOT_TAKEN);
    const big = 'x'.repeat(maxBodyBytes + 1);
    expect((await request('/webhooks/sendgrid', { headers: good.headers, body: big })).status).toBe(NOT_TAKEN);
    expect((await request('/webhooks/sendgrid', { method: 'HEAD' })).status).toBe(NOT_TAKEN);
    expect((await request('/webhooks/sendgrid', { method: 'GET' })).status).toBe(NOT_TAKEN);
    expect((await request('/webhooks/sendgrid?x=1', good)).status).toBe(NOT_TAKEN);
    expect((await request('/webhooks/sendgrid/', good)).status).toBe(NOT_TAKEN);
    expect((await request('/webhooks/noop', good)).status).toBe(NOT_TAKEN);
    expect(await t.redis.dbsize()).toBe(0);
  });
});
