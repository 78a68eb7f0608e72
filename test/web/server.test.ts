// One real-socket path through startServer: keep-alive HTTP, headers on the wire, clean close.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { startServer, type RunningServer } from '../../web/server.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, htpasswdLine, keys, makeConfig, sampleData, store, tempDir, writeHtpasswd } from './fixtures.js';

let t: TestRedis;
let server: RunningServer;

beforeAll(async () => {
  t = await testRedis();
  const config = makeConfig(tempDir(), {}, t.prefix);
  writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'apr1')]);
  await store(t.redis, keys(t.prefix), sampleData());
  // Port 0: the OS picks a free port when the server binds (startServer reports it in its url).
  server = await startServer({ config: { ...config, listen: { host: '127.0.0.1', port: 0 } }, redis: t.redis, log: silentLogger });
});
afterAll(async () => {
  await server.close();
  await t.close();
});

function get(path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(new URL(path, server.url), { headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

describe('startServer', () => {
  it('listens on the configured loopback port and serves the dashboard behind auth', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const anon = await get('/', {});
    expect(anon.status).toBe(401);
    expect(anon.headers['www-authenticate']).toContain('Basic');
    const res = await get('/', basic('alice', 'pw-alice'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=UTF-8');
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.body).toContain('<table id="overview"');
    const css = await get('/assets/app.css', basic('alice', 'pw-alice'));
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });
});
