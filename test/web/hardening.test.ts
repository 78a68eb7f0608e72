// What the black-box probe found in the web layer (issue 13), on a real socket where the wire matters.
import http from 'node:http';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { connectRedis, failFastCopy, type Redis } from '../../lib/redis.js';
import { rblIssueId } from '../../lib/issues.js';
import { maxBodyBytes } from '../../web/body-limit.js';
import { composeApp, createApp, startServer, type RunningServer } from '../../web/server.js';
import type { WebEnv } from '../../web/env.js';
import { captureLog } from '../helpers/capture-log.js';
import { freePort } from '../helpers/net.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { startThrowawayRedis } from '../helpers/throwaway-redis.js';
import { basic, configOnFreePort, keys, makeConfig, NOW, sampleData, store } from './fixtures.js';

let t: TestRedis;
let server: RunningServer;
let config: ReturnType<typeof makeConfig>;
const auth = basic('alice', 'pw-alice');
const k = keys('mtarep:');

beforeAll(async () => {
  t = await testRedis();
  config = await configOnFreePort(t.prefix);
  await store(t.redis, k, sampleData());
  server = await startServer({ config, redis: t.redis, log: silentLogger, now: () => NOW });
});
afterAll(async () => {
  await server.close();
  await t.close();
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Request body bytes the client had written when the answer came. */
  sent: number;
}

/**
 * POST /ack with a body streamed in 64 KiB chunks (chunked, or with a declared Content-Length) until
 * the server answers or `total` bytes are written.
 */
function streamPost(total: number, opts: { declare?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...auth, Origin: server.url.slice(0, -1), 'Content-Type': 'application/x-www-form-urlencoded' };
    if (opts.declare !== undefined) headers['Content-Length'] = String(opts.declare);
    const req = http.request(new URL('/ack', server.url), { method: 'POST', headers });
    let sent = 0;
    let answered = false;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, sent });
      });
    });
    // The server may close the connection while the client still writes: that is its answer too,
    // once the response has arrived.
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    req.write('id=x&back=/&');
    pump();
  });
}

describe('request bodies are limited on every route', () => {
  it('a declared 250 MB body on POST /ack is refused with 413 before it is read', async () => {
    const res = await streamPost(64 * 1024, { declare: 250 * 1024 * 1024 });
    expect(res.status).toBe(413);
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.body).toContain('Nothing was stored');
  });

  it('a chunked body is cut off at the limit: the server answers 413 without reading 250 MB', async () => {
    const res = await streamPost(250 * 1024 * 1024);
    expect(res.status).toBe(413);
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    // What the client got written before the answer: the limit plus what socket buffers hold.
    expect(res.sent).toBeLessThan(maxBodyBytes + 32 * 1024 * 1024);
    expect(await t.redis.hlen(k.acks)).toBe(0);
  });

  it('a body under the limit still works', async () => {
    const a = createApp({ config, redis: t.redis, log: silentLogger, now: () => NOW });
    const id = rblIssueId('zen.spamhaus.org', '192.0.2.10');
    const part = await (await a.request(`/issue/part?id=${encodeURIComponent(id)}`, { headers: auth })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(part)![1]!;
    const res = await a.request('http://localhost/ack', {
      method: 'POST',
      headers: { ...auth, Origin: 'http://localhost', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ id, csrf, back: '/', pad: 'x'.repeat(100_000) }).toString(),
    });
    expect(res.status).toBe(303);
    await t.redis.hdel(k.acks, id);
  });
});

describe('every error response goes through the same headers and logger', () => {
  it('a header Node cannot write becomes the app\'s 500 page with the security headers, logged', async () => {
    const log = captureLog();
    const dashboard = new Hono<WebEnv>();
    dashboard.get('/bad', (c) => c.redirect('/x\u0001y', 303));
    const app = composeApp({ machine: new Hono<WebEnv>(), dashboard, log });
    const port = await freePort();
    const { serve } = await import('@hono/node-server');
    const srv = serve({ fetch: app.fetch, hostname: '127.0.0.1', port });
    try {
      const res = await new Promise<{ status: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
        http.get(`http://127.0.0.1:${port}/bad`, (r) => {
          r.resume();
          r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers }));
        }).on('error', reject);
      });
      expect(res.status).toBe(500);
      expect(res.headers.location).toBeUndefined();
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.headers['cache-control']).toBe('no-store');
      expect(log.text()).toContain('response header location holds a character HTTP cannot carry');
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});

describe('Redis down', () => {
  /** Wait (bounded) until the client knows its connection is gone. */
  async function untilDown(r: Redis): Promise<void> {
    for (let i = 0; i < 500 && r.status === 'ready'; i++) await new Promise((res) => setTimeout(res, 20));
    expect(r.status).not.toBe('ready');
  }

  // The next reconnection attempt is a minute away: a request that waited for it (ioredis's offline
  // queue, as before) would outlast the test's timeout. Failing fast, the 503 comes at once.
  it('the dashboard answers 503 at once instead of queueing for a reconnection', async () => {
    const srv = await startThrowawayRedis();
    const r = await connectRedis({ url: srv.url }, { failFast: true, reconnectDelayMs: 60_000 });
    r.on('error', () => {});
    const copySource = await connectRedis({ url: srv.url }, { reconnectDelayMs: 60_000 });
    copySource.on('error', () => {});
    const copy = await failFastCopy(copySource);
    try {
      await srv.stop();
      await untilDown(r);
      await untilDown(copy);
      for (const redis of [r, copy]) {
        const a = createApp({ config, redis, log: silentLogger, now: () => NOW });
        const res = await a.request('/', { headers: auth });
        expect(res.status).toBe(503);
        expect(await res.text()).toContain('cannot reach its Redis database');
        const api = await a.request('/api/hosts', { headers: auth });
        expect(api.status).toBe(503);
      }
    } finally {
      r.disconnect();
      copy.disconnect();
      copySource.disconnect();
    }
  }, 20_000);
});
