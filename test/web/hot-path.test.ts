// The overview's hot path before Hono (web/hot-path.ts) on a real socket against a real redis-server:
// a cached page whose version the watch knows costs no Redis command and goes out with the same bytes
// and headers as through Hono; anything it cannot answer for certain (a login it does not remember, a
// changed password, another method or query) is Hono's, unchanged. The server's Redis is this file's
// own: the watch turns keyspace notifications on.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { connectRedis, type Redis } from '../../lib/redis.js';
import net from 'node:net';
import { hotHeaders } from '../../web/hot-path.js';
import { startServer, type RunningServer } from '../../web/server.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../helpers/throwaway-redis.js';
import { basic, htpasswdLine, keys, makeConfig, NOW, sampleData, store, tempDir, writeHtpasswd } from './fixtures.js';
import { getRaw, redisGets, untilCachedWithoutRedis } from './raw-http.js';
import type { Config } from '../../lib/config/normalize.js';

let rs: ThrowawayRedis;
let redis: Redis;
let admin: Redis;
let config: Config;
let watched: RunningServer;
let unwatched: RunningServer;
const auth = basic('alice', 'pw-alice');
const k = keys('mtarep:');

beforeAll(async () => {
  rs = await startThrowawayRedis();
  redis = await connectRedis({ url: rs.url }, { reconnect: false });
  admin = await connectRedis({ url: rs.url }, { reconnect: false });
  config = { ...makeConfig(tempDir()), listen: { host: '127.0.0.1', port: 0 } };
  writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'apr1'), htpasswdLine('bob', 'pw-bob', 'apr1')]);
  await store(redis, k, sampleData());
  const deps = { config, redis, log: silentLogger, now: () => NOW, htpasswdStatIntervalMs: 0 };
  watched = await startServer({ ...deps, versionWatch: { checkIntervalMs: 60_000 } });
  unwatched = await startServer({ ...deps, versionWatch: false });
});
afterAll(async () => {
  await watched?.close();
  await unwatched?.close();
  redis?.disconnect();
  admin?.disconnect();
  await rs?.stop();
});

/** Headers that differ between any two answers (time, connection handling). */
const perAnswer = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);
const comparable = (h: http.IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).filter(([n]) => !perAnswer.has(n)).sort());

describe('the hot path', () => {
  it('answers a cached overview with no Redis command, the same bytes and headers as through Hono', async () => {
    await untilCachedWithoutRedis(watched.url, '/', auth, admin);
    const variants: Record<string, string>[] = [{}, { 'Accept-Encoding': 'gzip' }, { 'Accept-Encoding': 'br, gzip' }];
    for (const extra of variants) {
      const before = await redisGets(admin);
      const hot = await getRaw(watched.url, '/', { ...auth, ...extra });
      expect(await redisGets(admin)).toBe(before); // answered without asking Redis
      const viaHono = await getRaw(unwatched.url, '/', { ...auth, ...extra });
      expect(viaHono.status).toBe(200);
      expect(hot.status).toBe(200);
      expect(comparable(hot.headers)).toEqual(comparable(viaHono.headers));
      expect(hot.body.equals(viaHono.body)).toBe(true);
      expect(hot.headers['content-security-policy']).toContain("default-src 'self'");
      expect(hot.headers['x-frame-options']).toBe('DENY');
    }
    // 304 for the ETag it sent, the same way.
    const etag = (await getRaw(watched.url, '/', auth)).headers.etag!;
    const hot304 = await getRaw(watched.url, '/', { ...auth, 'If-None-Match': etag });
    const hono304 = await getRaw(unwatched.url, '/', { ...auth, 'If-None-Match': etag });
    expect(hot304.status).toBe(304);
    expect(hono304.status).toBe(304);
    expect(comparable(hot304.headers)).toEqual(comparable(hono304.headers));
  });

  it('a sort is its own page; an unusual query, HEAD and other routes go through Hono', async () => {
    await untilCachedWithoutRedis(watched.url, '/?sort=ip&dir=asc', auth, admin);
    const ip = await getRaw(watched.url, '/?sort=ip&dir=asc', auth);
    expect(ip.body.toString()).toContain('data-sort="ip" data-dir="asc"');
    // Percent-escapes are read by Hono, not here: the same page either way.
    const escaped = await getRaw(watched.url, '/?sort=%69p&dir=asc', auth);
    expect(escaped.body.equals(ip.body)).toBe(true);
    const head = await getRaw(watched.url, '/', auth, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect((await getRaw(watched.url, '/help', auth)).status).toBe(200);
  });

  it('never answers for a login it does not remember: a wrong password on the same connection, a changed password', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await untilCachedWithoutRedis(watched.url, '/', auth, admin);
      expect((await getRaw(watched.url, '/', auth, 'GET', agent)).status).toBe(200);
      // The same keep-alive connection, another header: checked by Hono, refused.
      const wrong = await getRaw(watched.url, '/', basic('alice', 'not-her-password'), 'GET', agent);
      expect(wrong.status).toBe(401);
      expect(wrong.headers['www-authenticate']).toMatch(/^Basic /);
      const none = await getRaw(watched.url, '/', {}, 'GET', agent);
      expect(none.status).toBe(401);
      // Bob logs in on that connection: his own page, not Alice's.
      const bob = await getRaw(watched.url, '/', basic('bob', 'pw-bob'), 'GET', agent);
      expect(bob.status).toBe(200);
      expect(bob.body.toString()).toContain('title="logged in as">bob<');
      // Alice's password changes: her old one stops working at once, on the connection that used it.
      expect((await getRaw(watched.url, '/', auth, 'GET', agent)).status).toBe(200);
      writeHtpasswd(config, [htpasswdLine('alice', 'pw-new', 'apr1'), htpasswdLine('bob', 'pw-bob', 'apr1')]);
      expect((await getRaw(watched.url, '/', auth, 'GET', agent)).status).toBe(401);
      expect((await getRaw(watched.url, '/', basic('alice', 'pw-new'), 'GET', agent)).status).toBe(200);
    } finally {
      agent.destroy();
      writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'apr1'), htpasswdLine('bob', 'pw-bob', 'apr1')]);
    }
  });

  it('a write elsewhere is seen: the new version, and until it is built the last page saying it may be a moment old', async () => {
    const first = await untilCachedWithoutRedis(watched.url, '/', auth, admin);
    await admin.incr(k.dataVersion);
    const version = await admin.get(k.dataVersion);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await getRaw(watched.url, '/', auth);
      const html = r.body.toString();
      expect(r.status).toBe(200);
      // Never the old page as if it were current.
      if (html.includes(`data-version="${version}"`)) {
        expect(html).not.toContain('may be a moment old');
        break;
      }
      expect(r.headers.etag).not.toBe(first.headers.etag);
      expect(html).toContain('may be a moment old');
      if (Date.now() > deadline) throw new Error('the new version was not shown within 30 s');
    }
  });
});

/** One raw HTTP/1.1 request with these header lines (repeats allowed), on its own connection. */
function rawRequest(base: string, lines: string[]): Promise<{ head: string; body: Buffer }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), hostname, () => s.write(`GET / HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`));
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('error', reject);
    s.on('end', () => {
      const all = Buffer.concat(parts);
      const end = all.indexOf('\r\n\r\n');
      resolve({ head: all.subarray(0, end).toString('latin1'), body: all.subarray(end + 4) });
    });
  });
}

describe('the request headers the hot path reads', () => {
  it('reads them as node and Hono do: any case, repeated Accept-Encoding and If-None-Match joined; two Authorization headers are Hono\'s', () => {
    expect(hotHeaders(['Host', 'x', 'authorization', 'Basic a', 'ACCEPT-ENCODING', 'gzip', 'If-None-Match', 'W/"1"'])).toEqual({ authorization: 'Basic a', acceptEncoding: 'gzip', ifNoneMatch: 'W/"1"' });
    expect(hotHeaders(['Authorization', 'Basic a', 'Authorization', 'Basic b'])).toBeNull();
    expect(hotHeaders(['Accept-Encoding', 'identity', 'accept-encoding', 'br;q=0, gzip'])!.acceptEncoding).toBe('identity, br;q=0, gzip');
    expect(hotHeaders(['If-None-Match', '"a"', 'If-None-Match', 'W/"b"'])!.ifNoneMatch).toBe('"a", W/"b"');
    expect(hotHeaders(['Content-Length', '0'])).toEqual({ authorization: undefined, acceptEncoding: undefined, ifNoneMatch: undefined });
    // A body: Hono's.
    expect(hotHeaders(['Content-Length', '5'])).toBeNull();
    expect(hotHeaders(['transfer-encoding', 'chunked'])).toBeNull();
  });

  it('on a socket, repeated headers get the answer Hono gives (two Authorization headers: 401)', async () => {
    await untilCachedWithoutRedis(watched.url, '/', auth, admin);
    const etag = (await getRaw(watched.url, '/', auth)).headers.etag!;
    const cases = [
      [`Authorization: ${auth['Authorization']}`, 'Accept-Encoding: identity', 'Accept-Encoding: gzip'],
      [`Authorization: ${auth['Authorization']}`, 'If-None-Match: "other"', `If-None-Match: ${etag}`],
      [`Authorization: ${auth['Authorization']}`, `Authorization: ${basic('alice', 'wrong')['Authorization']}`],
    ];
    // Header names compared without case (HTTP's rule; Hono writes them in lower case).
    const comparableHead = (h: string) =>
      h
        .split('\r\n')
        .map((l) => l.replace(/^[^:]+:/, (n) => n.toLowerCase()))
        .filter((l) => !/^(date|connection|keep-alive|transfer-encoding):/.test(l))
        .sort();
    for (const [i, lines] of cases.entries()) {
      const before = await redisGets(admin);
      const hot = await rawRequest(watched.url, lines);
      if (i < 2) expect(await redisGets(admin)).toBe(before); // answered on the hot path
      const viaHono = await rawRequest(unwatched.url, lines);
      expect(comparableHead(hot.head)).toEqual(comparableHead(viaHono.head));
      expect(hot.body.equals(viaHono.body)).toBe(true);
    }
    expect((await rawRequest(watched.url, cases[2]!)).head).toMatch(/^HTTP\/1.1 401 /);
  });
});
