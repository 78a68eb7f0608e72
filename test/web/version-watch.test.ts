// The data version's change notices (web/version-watch.ts) against a real redis-server of this file's
// own (it changes server settings and kills connections): when the notices stop (turned off, the
// subscriber dropped) or were never allowed (an ACL without CONFIG), the dashboard reads the version
// per request again and never shows an old page as current.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../lib/config/normalize.js';
import { connectRedis, type Redis } from '../../lib/redis.js';
import { missingNotifyFlags } from '../../web/version-watch.js';
import { startServer, type RunningServer } from '../../web/server.js';
import { captureLog } from '../helpers/capture-log.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../helpers/throwaway-redis.js';
import { basic, htpasswdLine, keys, makeConfig, NOW, sampleData, store, tempDir, writeHtpasswd } from './fixtures.js';
import { getRaw, redisGets, untilCachedWithoutRedis } from './raw-http.js';

let rs: ThrowawayRedis;
let admin: Redis;
let config: Config;
const auth = basic('alice', 'pw-alice');
const k = keys('mtarep:');
const opened: { close(): Promise<void> | void }[] = [];

beforeAll(async () => {
  rs = await startThrowawayRedis();
  admin = await connectRedis({ url: rs.url }, { reconnect: false });
  config = { ...makeConfig(tempDir()), listen: { host: '127.0.0.1', port: 0 } };
  writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'apr1')]);
  await store(admin, k, sampleData());
});
afterAll(async () => {
  for (const o of opened.reverse()) await o.close();
  admin?.disconnect();
  await rs?.stop();
});

async function server(url: string, watch: { checkIntervalMs?: number; graceMs?: number; retryMs?: number }) {
  const redis = await connectRedis({ url }, { reconnectDelayMs: 50 });
  opened.push({ close: () => redis.disconnect() });
  const log = captureLog();
  const s: RunningServer = await startServer({ config, redis, log, now: () => NOW, versionWatch: watch });
  opened.push(s);
  return { s, log };
}

/** Requests until the page shows `version` (bounded); every answer before is marked or of the new data. */
async function untilVersion(base: string, version: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const html = (await getRaw(base, '/', auth)).body.toString();
    if (html.includes(`data-version="${version}"`) && !html.includes('may be a moment old')) return;
    if (Date.now() > deadline) throw new Error(`version ${version} not shown within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the version watch', () => {
  it('turns keyspace notifications on, adding to the flags already set', async () => {
    expect(missingNotifyFlags('')).toBe('K$');
    expect(missingNotifyFlags('Ex')).toBe('ExK$');
    expect(missingNotifyFlags('KA')).toBeNull();
    expect(missingNotifyFlags('K$')).toBeNull();
    await admin.call('CONFIG', 'SET', 'notify-keyspace-events', 'Ex');
    const { s, log } = await server(rs.url, { checkIntervalMs: 60_000 });
    await untilCachedWithoutRedis(s.url, '/', auth, admin);
    const flags = ((await admin.call('CONFIG', 'GET', 'notify-keyspace-events')) as string[])[1]!;
    for (const f of 'ExK$') expect(flags).toContain(f);
    expect(log.text()).toContain('keyspace notifications turned on');
  });

  it('notices turned off by someone: the check finds the change, says so, and reads per request', async () => {
    const { s, log } = await server(rs.url, { checkIntervalMs: 100, graceMs: 50, retryMs: 600_000 });
    await untilCachedWithoutRedis(s.url, '/', auth, admin);
    await admin.call('CONFIG', 'SET', 'notify-keyspace-events', '');
    await admin.incr(k.dataVersion);
    await untilVersion(s.url, (await admin.get(k.dataVersion))!);
    const deadline = Date.now() + 30_000;
    while (!log.text().includes('notices not working') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(log.text()).toContain('notices not working');
    // Per request again: 5 requests, at least 5 GETs.
    const before = await redisGets(admin);
    for (let i = 0; i < 5; i++) expect((await getRaw(s.url, '/', auth)).status).toBe(200);
    expect((await redisGets(admin)) - before).toBeGreaterThanOrEqual(5);
    await admin.call('CONFIG', 'SET', 'notify-keyspace-events', 'K$');
  });

  it('the subscriber connection dropped: writes meanwhile are seen, and once it is back requests cost no GET again', async () => {
    const { s } = await server(rs.url, { checkIntervalMs: 60_000 });
    await untilCachedWithoutRedis(s.url, '/', auth, admin);
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await admin.incr(k.dataVersion);
    await untilVersion(s.url, (await admin.get(k.dataVersion))!);
    await untilCachedWithoutRedis(s.url, '/', auth, admin);
    // Subscribed again: a new write is seen too.
    await admin.incr(k.dataVersion);
    await untilVersion(s.url, (await admin.get(k.dataVersion))!);
  });

  it('Redis refuses CONFIG (an ACL): no watch, a GET per request, said once in the log', async () => {
    await admin.call('ACL', 'SETUSER', 'web', 'on', '>web-pw', '~*', '&*', '+@all', '-config');
    await admin.call('CONFIG', 'SET', 'notify-keyspace-events', '');
    const { s, log } = await server(`redis://web:web-pw@127.0.0.1:${rs.port}/0`, { checkIntervalMs: 100 });
    expect((await getRaw(s.url, '/', auth)).status).toBe(200);
    const deadline = Date.now() + 30_000;
    while (!log.text().includes('refused CONFIG') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(log.text()).toContain('refused CONFIG');
    const before = await redisGets(admin);
    for (let i = 0; i < 5; i++) expect((await getRaw(s.url, '/', auth)).status).toBe(200);
    expect((await redisGets(admin)) - before).toBeGreaterThanOrEqual(5);
    await admin.incr(k.dataVersion);
    const html = (await getRaw(s.url, '/', auth)).body.toString();
    expect(html).toContain(`data-version="${await admin.get(k.dataVersion)}"`);
  });
});
