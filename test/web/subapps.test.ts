// The web app is two sub-apps: a route is outside basic auth only when it is registered on the
// machine sub-app; every dashboard route (pages, assets, API, forms, unknown paths) asks for a login.
import crypto from 'node:crypto';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { HtpasswdStore } from '../../web/auth.js';
import { dashboardApp } from '../../web/dashboard.js';
import type { WebEnv } from '../../web/env.js';
import { machineApp } from '../../web/machine.js';
import { composeApp, createApp, webContext } from '../../web/server.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, htpasswdLine, makeConfig, NOW, tempDir, writeHtpasswd } from './fixtures.js';

const p256 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

let t: TestRedis;
beforeAll(async () => {
  t = await testRedis();
});
afterAll(async () => {
  await t.close();
});

function parts() {
  const config = makeConfig(tempDir(), {}, t.prefix);
  writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'apr1')]);
  const w = webContext({ config, redis: t.redis, log: silentLogger, now: () => NOW });
  const htpasswd = new HtpasswdStore(config.httpAuthFile, silentLogger);
  return { config, w, htpasswd, machine: machineApp({ w, htpasswd }), dashboard: dashboardApp(w, htpasswd) };
}

/** A concrete path for a route pattern (`/host/:name` -> `/host/x`). */
const concrete = (p: string) => p.replace(/:[A-Za-z]+/g, 'x').replace(/\*/g, 'x');

describe('web sub-apps', () => {
  it('a route registered on the machine sub-app answers without basic auth, with the shared headers', async () => {
    const { machine, dashboard } = parts();
    machine.post('/webhooks/test', async (c) => c.json({ got: await c.req.text() }, 202));
    machine.get('/test-status', (c) => c.text('up 1\n'));
    const app = composeApp({ machine, dashboard, log: silentLogger });

    const hook = await app.request('/webhooks/test', { method: 'POST', body: 'event', headers: { Origin: 'https://esp.example' } });
    expect(hook.status).toBe(202); // no login, and no dashboard CSRF origin check either
    expect(await hook.json()).toEqual({ got: 'event' });
    expect(hook.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(hook.headers.get('cache-control')).toBe('no-store');
    expect((await app.request('/test-status')).status).toBe(200);

    // What the machine sub-app does not answer is the dashboard's: login first.
    for (const [method, path] of [['GET', '/webhooks/test'], ['POST', '/webhooks/other'], ['GET', '/test-status/x'], ['GET', '/metrics/x'], ['GET', '/']] as const) {
      const res = await app.request(path, { method });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Basic realm="mtarep"');
    }
  });

  it('every dashboard route asks for a login, in the app createApp builds', async () => {
    const { config, dashboard } = parts();
    const app = createApp({ config, redis: t.redis, log: silentLogger, now: () => NOW });
    const routes = dashboard.routes.filter((r) => r.method !== 'ALL');
    expect(routes.length).toBeGreaterThanOrEqual(9);
    for (const r of routes) {
      const path = concrete(r.path);
      for (const headers of [{}, basic('alice', 'wrong'), { Authorization: 'Bearer x' }]) {
        const res = await app.request(path, { method: r.method, headers });
        expect(res.status, `${r.method} ${r.path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      }
    }
    // and with the login they are the dashboard's (not a 401, not the machine sub-app's bare 404)
    const ok = await app.request('/help', { headers: basic('alice', 'pw-alice') });
    expect(ok.status).toBe(200);
    const missing = await app.request('/no-such-page', { headers: basic('alice', 'pw-alice') });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('There is no page at this address.');
    // HEAD (uptime monitors, curl -I) is answered like GET, without a body: the dashboard's, not a 404.
    for (const path of ['/', '/help']) {
      const head = await app.request(path, { method: 'HEAD', headers: basic('alice', 'pw-alice') });
      expect(head.status, `HEAD ${path}`).toBe(200);
      expect(head.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await head.text()).toBe('');
    }
    expect((await app.request('/', { method: 'HEAD' })).status).toBe(401);
  });

  it('the machine sub-app createApp builds answers only routes that authenticate their caller', async () => {
    // Every route it has must refuse an anonymous caller: the ESP webhooks (configured here) want their
    // vendor's signature (401 without it) and take only POST (and HEAD, which carries nothing): 405.
    const config = makeConfig(tempDir(), { esp: { webhooks: { sendgrid: { public_key: p256 }, mailgun: { signing_key: 'mg-key-1234' }, mandrill: { webhook_key: 'md-key-1234', url: 'https://m.example/webhooks/mandrill' } } } }, t.prefix);
    const w = webContext({ config, redis: t.redis, log: silentLogger, now: () => NOW });
    const machine = machineApp({ w, htpasswd: new HtpasswdStore(config.httpAuthFile, silentLogger) });
    const app = new Hono<WebEnv>().route('/', machine);
    const routes = machine.routes.filter((x) => x.method !== 'ALL');
    expect(routes.length).toBeGreaterThan(0);
    for (const r of routes) {
      const res = await app.request(concrete(r.path), { method: r.method, ...(r.method === 'POST' ? { body: '[]' } : {}) });
      expect(r.method === 'POST' ? [401, 403] : [401, 403, 405], `${r.method} ${r.path}`).toContain(res.status);
    }
  });
});
