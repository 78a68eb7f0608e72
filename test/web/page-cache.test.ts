// The overview as cached bytes on a real socket: gzip / brotli negotiation with Vary, ETag and 304,
// and the last good page (marked "may be a moment old") while a real redis-server is paused, so a
// slow Redis is never reported as Redis down. The paused server is this file's own (never the shared
// test server: a pause would slow every other test file).
import http from 'node:http';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { connectRedis, type Redis } from '../../lib/redis.js';
import { etagMatches, PageCache, pickEncoding } from '../../web/cache.js';
import { startServer, type RunningServer } from '../../web/server.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../helpers/throwaway-redis.js';
import { basic, htpasswdLine, keys, makeConfig, sampleData, store, tempDir, writeHtpasswd } from './fixtures.js';

let rs: ThrowawayRedis;
let redis: Redis;
let admin: Redis;
let server: RunningServer;
/** The same app without the version watch: every request reads the version (the fallback). */
let unwatched: RunningServer;
const auth = basic('alice', 'pw-alice');
const k = keys('mtarep:');
const note = 'The data on this page may be a moment old';

beforeAll(async () => {
  rs = await startThrowawayRedis();
  redis = await connectRedis({ url: rs.url }, { reconnect: false });
  admin = await connectRedis({ url: rs.url }, { reconnect: false });
  const config = makeConfig(tempDir());
  writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'apr1')]);
  await store(redis, k, sampleData());
  server = await startServer({
    config: { ...config, listen: { host: '127.0.0.1', port: 0 } },
    redis,
    log: silentLogger,
    // A request alone waits 300 ms for a slow read before it gets the last good page.
    pageCache: { loneWaitMs: 300, brotli: true },
  });
  unwatched = await startServer({
    config: { ...config, listen: { host: '127.0.0.1', port: 0 } },
    redis,
    log: silentLogger,
    pageCache: { loneWaitMs: 300 },
    versionWatch: false,
  });
});
afterAll(async () => {
  await server?.close();
  await unwatched?.close();
  redis?.disconnect();
  admin?.disconnect();
  await rs?.stop();
});

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function get(path: string, headers: Record<string, string>, base = server.url): Promise<Raw> {
  return new Promise((resolve, reject) => {
    http
      .get(new URL(path, base), { headers: { ...auth, ...headers } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      })
      .on('error', reject);
  });
}

/** The compressed copies are made off the event loop after a render: ask until one is sent (bounded). */
async function until(path: string, headers: Record<string, string>, ok: (r: Raw) => boolean, base = server.url): Promise<Raw> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await get(path, headers, base);
    if (ok(r)) return r;
    if (Date.now() > deadline) throw new Error(`no such answer from ${path} within 30 s (last: ${r.status} ${JSON.stringify(r.headers)})`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

const getUnwatched = (path: string, headers: Record<string, string>) => get(path, headers, unwatched.url);
const untilUnwatched = (path: string, headers: Record<string, string>, ok: (r: Raw) => boolean) => until(path, headers, ok, unwatched.url);

describe('overview bytes: encodings, ETag, 304', () => {
  it('sends gzip or brotli to clients that accept it, the same page as is to others, with Vary', async () => {
    const plain = await get('/', {});
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toMatch(/Accept-Encoding/);
    expect(plain.headers['cache-control']).toBe('private, no-cache');
    expect(plain.headers['content-security-policy']).toContain("default-src 'self'");
    expect(plain.body.toString()).toContain('<table id="overview"');

    const gz = await until('/', { 'Accept-Encoding': 'gzip, deflate' }, (r) => r.headers['content-encoding'] === 'gzip');
    expect(gz.headers.vary).toMatch(/Accept-Encoding/);
    expect(zlib.gunzipSync(gz.body).equals(plain.body)).toBe(true);
    expect(gz.body.length).toBeLessThan(plain.body.length / 2);

    const br = await until('/', { 'Accept-Encoding': 'gzip, br' }, (r) => r.headers['content-encoding'] === 'br');
    expect(zlib.brotliDecompressSync(br.body).equals(plain.body)).toBe(true);
    // Brotli refused by q=0: gzip.
    expect((await get('/', { 'Accept-Encoding': 'br;q=0, gzip' })).headers['content-encoding']).toBe('gzip');
    // Nothing acceptable: as is.
    const none = await get('/', { 'Accept-Encoding': 'identity, gzip;q=0' });
    expect(none.headers['content-encoding']).toBeUndefined();
    expect(none.body.equals(plain.body)).toBe(true);
  });

  it('answers 304 to the ETag it sent (any encoding) until the data changes', async () => {
    const first = await get('/?sort=ip&dir=asc', {});
    const etag = first.headers.etag!;
    expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
    const again = await get('/?sort=ip&dir=asc', { 'If-None-Match': etag, 'Accept-Encoding': 'gzip' });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.etag).toBe(etag);
    expect(again.headers.vary).toMatch(/Accept-Encoding/);
    // Another sort is another page.
    expect((await get('/?sort=ip&dir=desc', { 'If-None-Match': etag })).status).toBe(200);
    // The collector stores something: the old ETag no longer matches, the new page is sent.
    await redis.incr(k.dataVersion);
    // The server learns the new version from Redis's change notice a moment later (asked at once, on a
    // loaded machine, it may still answer for the version it knows): asked until it does, within 30 s.
    const changed = await until('/?sort=ip&dir=asc', { 'If-None-Match': etag }, (r) => r.status !== 304);
    expect(changed.status).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
  });
});

describe('a slow Redis', () => {
  it('with the version watch live, the current page at once: its version is known without asking', async () => {
    const before = await until('/', {}, (r) => r.status === 200 && !r.body.toString().includes(note));
    await admin.call('CLIENT', 'PAUSE', '4000', 'ALL');
    // The admin client's PING is answered only when the pause is over: the page must come before it.
    let resumed = false;
    const pong = admin.ping().then(() => (resumed = true));
    const during = await get('/', {});
    expect(resumed, 'the page waited for Redis').toBe(false);
    expect(during.status).toBe(200);
    expect(during.body.equals(before.body)).toBe(true);
    expect(during.body.toString()).not.toContain(note);
    await pong;
  });

  it('without the watch: the last good page, saying it may be a moment old, never "Redis unavailable"; then the fresh one', async () => {
    const get = (path: string, headers: Record<string, string>) => getUnwatched(path, headers);
    const until = (path: string, headers: Record<string, string>, ok: (r: Raw) => boolean) => untilUnwatched(path, headers, ok);
    const before = await get('/', {});
    expect(before.status).toBe(200);
    expect(before.body.toString()).not.toContain(note);
    // Every client of this redis-server waits 3 s for its next command (the dashboard's included).
    await admin.call('CLIENT', 'PAUSE', '3000', 'ALL');
    let resumed = false;
    const pong = admin.ping().then(() => (resumed = true));
    const during = await get('/', {});
    expect(resumed, 'the page waited for Redis').toBe(false); // answered while Redis was still paused
    expect(during.status).toBe(200);
    const html = during.body.toString();
    expect(html).toContain(note);
    expect(html).not.toContain('Redis unavailable');
    expect(html).toContain('<table id="overview"');
    expect(during.headers.etag).not.toBe(before.headers.etag);
    await pong;
    // The pause ends: the page is current again, without the note.
    const after = await until('/', {}, (r) => r.status === 200 && !r.body.toString().includes(note));
    expect(after.body.toString()).toContain('<table id="overview"');
  });

  it('a page never rendered waits for the slow read: there is no older page to show', async () => {
    await admin.call('CLIENT', 'PAUSE', '100', 'ALL'); // a short pause: the read is slow, not failed
    const r = await getUnwatched('/?sort=host&dir=desc', {});
    expect(r.status).toBe(200);
    expect(r.body.toString()).not.toContain(note); // nothing older to show: it waited for the read
  });
});

describe('PageCache.peek: what the hot path may send without a read', () => {
  it('the current page; while it is rebuilt the last one (marked when the data changed); else nothing', async () => {
    const cache = new PageCache({ marker: '<!--m-->', note: '<p>old</p>' }, { staleWaitMs: 10, loneWaitMs: 10 });
    const client = {};
    expect(cache.peek('k', '1', client)).toBeUndefined(); // never rendered
    await cache.page('k', async () => '1', async (v) => `<html><!--m-->v${v}</html>`);
    const fresh = cache.peek('k', '1', client)!;
    expect(fresh.stale).toBe(false);
    expect(fresh.bytes.identity.toString()).toBe('<html><!--m-->v1</html>');
    // Version 2 and nobody rebuilding: the route must read and render.
    expect(cache.peek('k', '2', client)).toBeUndefined();
    // A rebuild under way (held open here): the last page, marked as maybe a moment old.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const served = await cache.page('k', async () => '2', async (v) => (await held, `<html><!--m-->v${v}</html>`));
    expect(served.stale).toBe(true);
    const during = cache.peek('k', '2', client)!;
    expect(during.stale).toBe(true);
    expect(during.bytes.identity.toString()).toBe('<html><p>old</p>v1</html>');
    // A change notice not yet read (version unknown): only the marked page while it is rebuilt.
    expect(cache.peek('k', undefined, client)!.stale).toBe(true);
    release();
    const deadline = Date.now() + 30_000;
    while (cache.peek('k', '2', client)?.stale !== false && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(cache.peek('k', '2', client)!.bytes.identity.toString()).toBe('<html><!--m-->v2</html>');
    expect(cache.peek('k', undefined, client)).toBeUndefined(); // nothing being rebuilt: the route reads
  });
});

describe('PageCache: a page older than maxAgeMs is made again at the same data version', () => {
  it('so relative times and the "failed in the last 24 h" line move on without a data change', async () => {
    let clock = 1_000_000;
    const cache = new PageCache({ marker: '', note: '' }, { maxAgeMs: 30_000, now: () => clock });
    const client = {};
    let renders = 0;
    const render = async () => `<html>render ${++renders} at ${clock}</html>`;
    const version = async () => '7';
    expect((await cache.page('k', version, render)).bytes.identity.toString()).toBe('<html>render 1 at 1000000</html>');
    clock += 30_000; // exactly the max age: still the same page
    expect((await cache.page('k', version, render)).bytes.identity.toString()).toBe('<html>render 1 at 1000000</html>');
    expect(cache.peek('k', '7', client)?.stale).toBe(false);
    clock += 1; // one millisecond past it: the hot path does not serve it, the route renders again
    expect(cache.peek('k', '7', client)).toBeUndefined();
    const again = await cache.page('k', version, render);
    expect(again.stale).toBe(false);
    expect(again.bytes.identity.toString()).toBe('<html>render 2 at 1030001</html>');
    expect(renders).toBe(2);
  });
});

describe('PageCache: the size bound drops the page used longest ago', () => {
  it('a page the hot path keeps asking for (peek) stays; the one nobody asked for goes', async () => {
    // Three pages of 10,000 bytes (each held as is and marked, with gzip copies): room for two.
    const page = (name: string) => async () => `<html>${name}${'x'.repeat(10_000)}</html>`;
    const cache = new PageCache({ marker: '', note: '' }, { maxBytes: 50_000 });
    const client = {};
    const version = async () => '1';
    await cache.page('a', version, page('a'));
    await cache.page('b', version, page('b'));
    // 'a' asked for again and again (the second time it is already the newest), then 'c' arrives.
    expect(cache.peek('a', '1', client)).toBeDefined();
    expect(cache.peek('a', '1', client)).toBeDefined();
    await cache.page('c', version, page('c'));
    expect(cache.peek('b', '1', client)).toBeUndefined();
    expect(cache.peek('a', '1', client)).toBeDefined();
    expect(cache.peek('c', '1', client)).toBeDefined();
    // 'c' was asked for after 'a': a fourth page drops 'a'.
    await cache.page('d', version, page('d'));
    expect(cache.peek('a', '1', client)).toBeUndefined();
    expect(cache.peek('c', '1', client)).toBeDefined();
    expect(cache.peek('d', '1', client)).toBeDefined();
  });
});

describe('negotiation helpers', () => {
  it('picks brotli, then gzip, honouring q=0 and *', () => {
    const both = { br: 1, gzip: 1 };
    expect(pickEncoding(undefined, both)).toBe('identity');
    expect(pickEncoding('gzip, deflate, br', both)).toBe('br');
    expect(pickEncoding('gzip', both)).toBe('gzip');
    expect(pickEncoding('br;q=0, gzip;q=0.5', both)).toBe('gzip');
    expect(pickEncoding('*', both)).toBe('br');
    expect(pickEncoding('*;q=0', both)).toBe('identity');
    expect(pickEncoding('gzip, br', { gzip: 1 })).toBe('gzip'); // brotli copy not made yet
    expect(pickEncoding('gzip, br', {})).toBe('identity');
  });

  it('compares ETags weakly, in lists and with *', () => {
    expect(etagMatches('W/"abc"', 'W/"abc"')).toBe(true);
    expect(etagMatches('"abc"', 'W/"abc"')).toBe(true);
    expect(etagMatches('"x", W/"abc"', 'W/"abc"')).toBe(true);
    expect(etagMatches('*', 'W/"abc"')).toBe(true);
    expect(etagMatches('"abcd"', 'W/"abc"')).toBe(false);
    expect(etagMatches(undefined, 'W/"abc"')).toBe(false);
  });
});
