import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../lib/log.js';
import { silentLogger } from '../../lib/log.js';
import { createApp } from '../../web/server.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, htpasswdLine, makeConfig, NOW, tempDir, writeHtpasswd } from './fixtures.js';

let t: TestRedis;
beforeAll(async () => {
  t = await testRedis();
});
afterAll(async () => {
  await t.close();
});

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log: Logger & { lines: string[] } = {
    lines,
    debug: () => {},
    info: () => {},
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
    child: () => log,
  };
  return log;
}

const routes = ['/', '/help', '/version', '/graphs', '/host/mta1', '/issue?id=x', '/assets/app.css', '/assets/app.js', '/assets/highcharts.js', '/api/hosts', '/api/mta1.example.com', '/no-such-page'];

describe('basic auth', () => {
  it('every route (pages, assets, API, unknown paths) asks for a login first', async () => {
    const config = makeConfig(tempDir(), {}, t.prefix);
    writeHtpasswd(config, [htpasswdLine('alice', 'secret-pw', 'bcrypt')]);
    const app = createApp({ config, redis: t.redis, log: silentLogger, now: () => NOW });
    for (const path of routes) {
      for (const headers of [{}, basic('alice', 'wrong'), basic('bob', 'secret-pw'), { Authorization: 'Bearer x' }]) {
        const res = await app.request(path, { headers });
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toContain('Basic realm="mtarep"');
        expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      }
      const post = await app.request('/ack', { method: 'POST', body: new URLSearchParams({ id: 'x' }) });
      expect(post.status).toBe(401);
    }
    const ok = await app.request('/assets/highcharts.js', { headers: basic('alice', 'secret-pw') });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('Highcharts');
  });

  it.each(['bcrypt', 'apr1', 'sha'] as const)('accepts %s entries as htpasswd writes them', async (kind) => {
    const config = makeConfig(tempDir(), {}, t.prefix);
    writeHtpasswd(config, ['# comment', '', htpasswdLine('carol', 'pa:ss wörd', kind)]);
    const app = createApp({ config, redis: t.redis, log: silentLogger, now: () => NOW });
    expect((await app.request('/help', { headers: basic('carol', 'pa:ss wörd') })).status).toBe(200);
    expect((await app.request('/help', { headers: basic('carol', 'pa:ss word') })).status).toBe(401);
  });

  it('warns once at start about {SHA} entries', async () => {
    const config = makeConfig(tempDir(), {}, t.prefix);
    writeHtpasswd(config, [htpasswdLine('old', 'pw', 'sha'), htpasswdLine('new', 'pw', 'bcrypt')]);
    const log = recordingLog();
    const app = createApp({ config, redis: t.redis, log, now: () => NOW, htpasswdStatIntervalMs: 0 });
    await app.request('/help', { headers: basic('old', 'pw') });
    await app.request('/help', { headers: basic('old', 'pw') });
    expect(log.lines.filter((l) => l.includes('{SHA}'))).toHaveLength(1);
  });

  it('re-reads the file when it changes and never remembers a failed login', async () => {
    const config = makeConfig(tempDir(), {}, t.prefix);
    writeHtpasswd(config, [htpasswdLine('dave', 'first-pw', 'bcrypt')]);
    const app = createApp({ config, redis: t.redis, log: silentLogger, now: () => NOW, htpasswdStatIntervalMs: 0 });
    expect((await app.request('/help', { headers: basic('dave', 'first-pw') })).status).toBe(200);
    expect((await app.request('/help', { headers: basic('dave', 'second-pw') })).status).toBe(401);
    // Password changed (size changes with the new hash line; mtime too).
    writeHtpasswd(config, ['# rotated', htpasswdLine('dave', 'second-pw', 'apr1')]);
    expect((await app.request('/help', { headers: basic('dave', 'second-pw') })).status).toBe(200);
    expect((await app.request('/help', { headers: basic('dave', 'first-pw') })).status).toBe(401);
    // User removed: the remembered success must not survive.
    writeHtpasswd(config, ['# nobody here']);
    expect((await app.request('/help', { headers: basic('dave', 'second-pw') })).status).toBe(401);
    // File gone: nobody gets in.
    fs.rmSync(config.httpAuthFile);
    expect((await app.request('/help', { headers: basic('dave', 'second-pw') })).status).toBe(401);
  });

  it('shows the logged-in user of each request', async () => {
    const config = makeConfig(tempDir(), {}, t.prefix);
    writeHtpasswd(config, [htpasswdLine('erin', 'pw1', 'bcrypt'), htpasswdLine('frank', 'pw2', 'apr1')]);
    const app = createApp({ config, redis: t.redis, log: silentLogger, now: () => NOW });
    const [a, b] = await Promise.all([
      Promise.resolve(app.request('/help', { headers: basic('erin', 'pw1') })).then((r) => r.text()),
      Promise.resolve(app.request('/help', { headers: basic('frank', 'pw2') })).then((r) => r.text()),
    ]);
    expect(a).toContain('<span class="user" title="logged in as">erin</span>');
    expect(b).toContain('<span class="user" title="logged in as">frank</span>');
  });
});
