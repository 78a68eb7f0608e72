/**
 * The webhook routes on a real socket, where the body is read straight from Node's request
 * (web/body-limit.ts readBody) when it declares its length, and through the web Request when it is
 * chunked: both count exactly, a body over the limit is refused either way.
 */
import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dayKey, keys } from '../../lib/keys.js';
import { silentLogger } from '../../lib/log.js';
import { maxBodyBytes } from '../../web/body-limit.js';
import { startServer, type RunningServer } from '../../web/server.js';
import { sendgridHeaders, sendgridSigner, sgEvent } from '../helpers/esp-webhooks.js';
import { freePort } from '../helpers/net.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { makeConfig, tempDir } from '../web/fixtures.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const nowSec = NOW.getTime() / 1000;
const sg = sendgridSigner();
const k = keys('mtarep:');
let t: TestRedis;
let server: RunningServer;

beforeAll(async () => {
  t = await testRedis();
  const port = await freePort();
  const config = makeConfig(tempDir(), { listen: `127.0.0.1:${port}`, esp: { webhooks: { counters_id: 'esp', sendgrid: { public_key: sg.publicKey } } } }, t.prefix);
  server = await startServer({ config, redis: t.redis, log: silentLogger, now: () => NOW });
});
afterAll(async () => {
  await server.close();
  await t.close();
});
beforeEach(async () => {
  await t.redis.flushdb();
});

const batch = (from: number, n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => sgEvent(from + i, 'delivered', `u${from + i}@gmail.com`, { response: '250 2.0.0 OK '.padEnd(200, 'x') })));

/** POST with the body written in `chunks` pieces; chunked transfer encoding unless `declare`. */
function post(body: string, headers: Record<string, string>, opts: { declare: boolean; chunks: number }): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string> = { ...headers };
    if (opts.declare) h['content-length'] = String(Buffer.byteLength(body));
    const req = http.request(new URL('/webhooks/sendgrid', server.url), { method: 'POST', headers: h });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: (res.headers['content-type'] ?? '').split(';')[0]!, body: text }));
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    const size = Math.ceil(body.length / opts.chunks);
    for (let i = 0; i < body.length; i += size) req.write(body.slice(i, i + size));
    req.end();
  });
}

const sent = async () => Number((await t.redis.hget(k.counter('esp', dayKey(new Date(1714564800 * 1000)), 'sent'), 'gmail.com')) ?? 0);

describe('webhooks on a real socket', () => {
  it('a declared-length body, in one piece or many, counts exactly once', async () => {
    const one = batch(0, 100);
    expect(await post(one, sendgridHeaders(sg, one, nowSec), { declare: true, chunks: 1 })).toEqual({ status: 200, type: 'application/json', body: JSON.stringify({ received: 100, counted: 100, duplicates: 0, settled: 0 }) });
    // About 300 KB, arriving in many reads.
    const big = batch(100, 1000);
    expect(Buffer.byteLength(big)).toBeGreaterThan(256 * 1024);
    const r = await post(big, sendgridHeaders(sg, big, nowSec), { declare: true, chunks: 40 });
    expect(JSON.parse(r.body)).toMatchObject({ received: 1000, counted: 1000 });
    expect(await sent()).toBe(1100);
    // The same bytes again: acknowledged, not counted.
    expect(JSON.parse((await post(big, sendgridHeaders(sg, big, nowSec), { declare: true, chunks: 3 })).body)).toMatchObject({ counted: 0, duplicates: 1000 });
    expect(await sent()).toBe(1100);
  });

  it('a chunked body (no declared length) counts exactly once too', async () => {
    const body = batch(0, 300);
    const r = await post(body, sendgridHeaders(sg, body, nowSec), { declare: false, chunks: 7 });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ received: 300, counted: 300 });
    expect(await sent()).toBe(300);
  });

  it('a signature that does not match the bytes read is refused, nothing written', async () => {
    const body = batch(0, 50);
    const headers = sendgridHeaders(sg, body, nowSec);
    const r = await post(body.replace('u1@', 'u9@'), headers, { declare: true, chunks: 2 });
    expect(r.status).toBe(403);
    expect(await t.redis.dbsize()).toBe(0);
  });

  it('a body over the limit is refused, declared or chunked', async () => {
    const body = 'x'.repeat(maxBodyBytes + 1);
    const headers = { 'content-type': 'application/json', 'x-twilio-email-event-webhook-signature': 'AA==', 'x-twilio-email-event-webhook-timestamp': String(nowSec) };
    // Both answered by the app's error handler, in JSON as every other webhook answer (an ESP is a machine).
    for (const declare of [true, false]) {
      const res = await post(body, headers, { declare, chunks: declare ? 1 : 20 });
      expect(res.status).toBe(413);
      expect(res.type).toBe('application/json');
      expect(JSON.parse(res.body)).toEqual({ error: 'payload too large', message: `The request body is larger than ${maxBodyBytes} bytes. Nothing was stored.` });
    }
    expect(await t.redis.dbsize()).toBe(0);
  });
});
