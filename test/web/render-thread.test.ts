// The overview built in a worker thread (web/render-thread.ts) against the real test redis-server:
// the same bytes as built in the request's thread, and a Redis that cannot be reached comes back as
// the same error type (so the same 503 page).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { RedisUnavailableError } from '../../lib/redis.js';
import { RenderThread, RenderThreadStopped } from '../../web/render-thread.js';
import { captureLog } from '../helpers/capture-log.js';
import { createApp, startServer, type RunningServer } from '../../web/server.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, htpasswdLine, keys, makeConfig, NOW, sampleData, store, tempDir, writeHtpasswd } from './fixtures.js';
import { getRaw } from './raw-http.js';
import type { Config } from '../../lib/config/normalize.js';

let t: TestRedis;
let config: Config;
let server: RunningServer;
const auth = basic('alice', 'pw-alice');

beforeAll(async () => {
  t = await testRedis();
  config = { ...makeConfig(tempDir(), {}, t.prefix), listen: { host: '127.0.0.1', port: 0 } };
  writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'apr1')]);
  await store(t.redis, keys(t.prefix), sampleData());
  server = await startServer({ config, redis: t.redis, log: silentLogger, now: () => NOW, renderThread: true });
});
afterAll(async () => {
  await server?.close();
  await t?.close();
});

describe('the render thread', () => {
  it('builds the same overview as the request thread, for each sort', async () => {
    const app = createApp({ config, redis: t.redis, log: silentLogger, now: () => NOW });
    for (const q of ['/', '/?sort=ip&dir=asc', '/?sort=host&dir=desc']) {
      const inThread = await (await app.request(q, { headers: auth })).text();
      const viaWorker = await getRaw(server.url, q, auth);
      expect(viaWorker.status).toBe(200);
      expect(viaWorker.body.toString()).toBe(inThread);
      expect(inThread).toContain('<table id="overview"');
    }
  });

  it('a Redis it cannot reach is RedisUnavailableError, naming it; the next render tries again', async () => {
    // A port nobody listens on: bound, closed, then refused.
    const port = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => r(p));
      });
    });
    const thread = new RenderThread({ config, redis: { url: `redis://127.0.0.1:${port}/0` } }, silentLogger);
    try {
      const job = { user: 'alice', sort: { sort: 'severity', dir: 'desc' } as const, version: '1', now: NOW };
      for (let i = 0; i < 2; i++) {
        const e = await thread.render(job).then(() => null, (x: unknown) => x);
        expect(e).toBeInstanceOf(RedisUnavailableError);
        expect((e as Error).message).toContain(`127.0.0.1:${port}`);
      }
    } finally {
      await thread.close();
    }
  });

  it('a worker that cannot start is said once in the log, and the thread is marked unusable (the route builds the page itself)', async () => {
    const log = captureLog();
    // A config the worker cannot even load with (no redis section): it stops before any answer.
    const thread = new RenderThread({ config: {} as Config, redis: { url: 'redis://127.0.0.1:1/0' } }, log);
    try {
      const e = await thread.render({ user: 'alice', sort: { sort: 'severity', dir: 'desc' }, version: '1', now: NOW }).then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(RenderThreadStopped);
      expect(thread.usable).toBe(false);
      expect(log.text()).toContain('render thread cannot start');
    } finally {
      await thread.close();
    }
  });
});
