/**
 * The ESP page, GET /api/esp and the test-mail form, through the real app (basic auth, CSRF) against
 * the vendor APIs on loopback and a real Redis: provider states after a failover, the provider in
 * use, webhook event counts per day, latest events (escaped), and the form's POST-only, token-checked send.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EspGateway } from '../../lib/esp/gateway.js';
import { sendsKept } from '../../lib/esp/store.js';
import { keys } from '../../lib/keys.js';
import { silentLogger } from '../../lib/log.js';
import { createApp } from '../../web/server.js';
import { startEspApi, type EspApiServer } from '../helpers/esp-api.js';
import { sendgridHeaders, sendgridSigner, sgEvent } from '../helpers/esp-webhooks.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, htpasswdLine, makeConfig, tempDir, writeHtpasswd, XSS } from '../web/fixtures.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const auth = basic('alice', 'pw-alice');
const sg = sendgridSigner();
let t: TestRedis;
let api: EspApiServer;

beforeAll(async () => {
  t = await testRedis();
  api = await startEspApi();
});
afterAll(async () => {
  await Promise.all([t.close(), api.close()]);
});
beforeEach(async () => {
  await t.redis.flushdb();
  api.mode.sendgrid = api.mode.mailgun = 'ok';
});

function configOf(withEsp: boolean) {
  const config = makeConfig(
    tempDir(),
    withEsp
      ? {
          esp: {
            from: 'probes@mon.example.com',
            timeout_ms: 30000,
            providers: [
              { name: 'sendgrid', api_key: api.keys.sendgrid, api_url: api.apiUrl.sendgrid },
              { name: 'mailgun', api_key: api.keys.mailgun, domain: api.mailgunDomain, api_url: api.apiUrl.mailgun },
            ],
            webhooks: { sendgrid: { public_key: sg.publicKey } },
          },
        }
      : {},
    t.prefix,
  );
  writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'bcrypt')]);
  return config;
}

function app(withEsp = true) {
  return createApp({ config: configOf(withEsp), redis: t.redis, log: silentLogger, now: () => NOW });
}

async function csrf(a: ReturnType<typeof app>): Promise<string> {
  const html = await (await a.request('/esp', { headers: auth })).text();
  return /name="csrf" value="([^"]+)"/.exec(html)![1]!;
}

function postSend(a: ReturnType<typeof app>, body: Record<string, string>, origin = 'http://localhost') {
  return a.request('http://localhost/esp/send', {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/x-www-form-urlencoded', Origin: origin },
    body: new URLSearchParams(body).toString(),
  });
}

describe('ESP page', () => {
  it('is behind the login', async () => {
    const a = app();
    expect((await a.request('/esp')).status).toBe(401);
    expect((await a.request('/api/esp')).status).toBe(401);
    expect((await a.request('/esp/send', { method: 'POST' })).status).toBe(401);
  });

  it('without an esp section says so', async () => {
    const res = await app(false).request('/esp', { headers: auth });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('No <code>esp:</code> section');
  });

  it('a send the first provider took at once is no failover: the page says first in order, not that the others failed', async () => {
    const a = app();
    const res = await postSend(a, { csrf: await csrf(a), to: 'someone@example.net', subject: 'first try' });
    expect(res.status).toBe(303);
    expect(api.accepted.at(-1)).toMatchObject({ vendor: 'sendgrid', to: 'someone@example.net' });
    const html = await (await a.request(res.headers.get('location')!, { headers: auth })).text();
    expect(html).toContain('Sent to someone@example.net by sendgrid');
    expect(html).toContain('sendgrid: first in the configured order (no failover in effect)');
    expect(html).not.toContain('the providers before it did not');
    const json = (await (await a.request('/api/esp', { headers: auth })).json()) as { inUse: { name: string; reason: string; ttlSec?: number } };
    expect(json.inUse).toEqual({ name: 'sendgrid', reason: 'first-in-order' });
  });

  it('the form sends (POST + token), then the page shows the attempts, each provider state and the one in use', async () => {
    const a = app();
    api.mode.sendgrid = '500';
    const token = await csrf(a);
    const res = await postSend(a, { csrf: token, to: 'someone@example.net', subject: 'from the form' });
    expect(res.status).toBe(303);
    const loc = res.headers.get('location')!;
    expect(loc).toMatch(/^\/esp\?send=[0-9a-f-]{36}$/);
    expect(api.accepted.at(-1)).toMatchObject({ vendor: 'mailgun', to: 'someone@example.net', subject: 'from the form' });
    const html = await (await a.request(loc, { headers: auth })).text();
    expect(html).toContain('Sent to someone@example.net by mailgun');
    expect(html).toMatch(/sendgrid: unavailable in \d+ ms, <span class="mono">500 Internal server error<\/span>/);
    // The cache's time left (first_working_cache_s 3600, just set), rounded as people say it.
    expect(html).toContain('mailgun: it worked when the providers before it did not; tried first for another 60 min');
    expect(html).toMatch(/<tr class="sev-warning">.*?sendgrid.*?failing/s);
    expect(html).toMatch(/<tr class="sev-ok">.*?mailgun<span class="badge">in use<\/span>/s);

    const json = (await (await a.request('/api/esp', { headers: auth })).json()) as {
      inUse: { name: string; reason: string; ttlSec: number };
      providers: { name: string; lastOutcome: string; lastFailureAnswer?: string }[];
      sends: { to: string; provider: string }[];
    };
    expect(json.inUse).toMatchObject({ name: 'mailgun', reason: 'first-working' });
    expect(json.providers.map((p) => [p.name, p.lastOutcome])).toEqual([
      ['sendgrid', 'unavailable'],
      ['mailgun', 'sent'],
    ]);
    expect(json.sends[0]).toMatchObject({ to: 'someone@example.net', provider: 'mailgun' });
    expect(JSON.stringify(json)).not.toContain(api.keys.mailgun);
  });

  it('lists probes sent through the gateway apart: a probe round of many domains never pushes the test mails out', async () => {
    const a = app();
    expect((await postSend(a, { csrf: await csrf(a), to: 'someone@example.net', subject: 'from the form' })).status).toBe(303);
    // More probes than either list keeps, sent as the probe round sends them (kind: probe).
    const gw = new EspGateway({ esp: configOf(true).esp, redis: t.redis, k: keys(t.prefix), now: () => NOW });
    const probes = sendsKept + 10;
    for (let i = 0; i < probes; i++) {
      const res = await gw.send({ kind: 'probe', to: `probe@d${i}.test`, subject: `[mtarep probe] t${i}`, text: 'probe', headers: { 'X-Mtarep-Probe': `t${i}` } });
      expect(res.outcome).toBe('sent');
    }
    expect(await t.redis.llen(keys(t.prefix).espProbeSends)).toBe(sendsKept);
    const json = (await (await a.request('/api/esp', { headers: auth })).json()) as { sends: { kind: string; to: string }[]; probeSends: { kind: string; to: string }[] };
    expect(json.sends.map((s) => [s.kind, s.to])).toEqual([['test', 'someone@example.net']]);
    expect(json.probeSends).toHaveLength(20);
    expect(json.probeSends.map((s) => s.to)).toEqual(Array.from({ length: 20 }, (_, i) => `probe@d${probes - 1 - i}.test`));
    expect(json.probeSends.every((s) => s.kind === 'probe')).toBe(true);
    const html = await (await a.request('/esp', { headers: auth })).text();
    const tests = html.slice(html.indexOf('<h2>Latest test mails and reports</h2>'), html.indexOf('<h2>Latest probes sent through the gateway</h2>'));
    const probeList = html.slice(html.indexOf('<h2>Latest probes sent through the gateway</h2>'));
    expect(tests).toMatch(/<td>test<\/td><td>someone@example\.net<\/td><td>from the form<\/td><td>sent by sendgrid<\/td>/);
    expect(tests).not.toContain('probe@');
    expect(probeList).toContain(`<td>probe@d${probes - 1}.test</td>`);
    expect(probeList).not.toContain('someone@example.net');
  });

  it('the form refuses a GET, a missing or wrong token, a foreign origin and a bad address, sending nothing', async () => {
    const a = app();
    const before = api.hits.sendgrid + api.hits.mailgun;
    const token = await csrf(a);
    expect((await a.request('/esp/send?to=someone@example.net', { headers: auth })).status).toBe(404);
    expect((await postSend(a, { to: 'someone@example.net' })).status).toBe(403);
    expect((await postSend(a, { csrf: 'nope', to: 'someone@example.net' })).status).toBe(403);
    expect((await postSend(a, { csrf: token, to: 'someone@example.net' }, 'https://evil.example')).status).toBe(403);
    expect((await postSend(a, { csrf: token, to: 'not an address' })).status).toBe(400);
    expect(api.hits.sendgrid + api.hits.mailgun).toBe(before);
    expect(await t.redis.llen('mtarep:esp:sends')).toBe(0);
  });

  it('shows webhook event counts per day and the latest events, escaped', async () => {
    const a = app();
    const ts = NOW.getTime() / 1000;
    const events = [
      sgEvent(1, 'delivered', 'a@gmail.com', {}, ts),
      sgEvent(2, 'bounce', 'b@gmail.com', { status: '5.1.1', reason: XSS }, ts),
      sgEvent(3, 'bounce', 'c@gmail.com', { status: '5.1.1' }, ts - 86400),
    ];
    const body = JSON.stringify(events);
    expect((await a.request('/webhooks/sendgrid', { method: 'POST', body, headers: sendgridHeaders(sg, body, ts) })).status).toBe(200);
    const html = await (await a.request('/esp', { headers: auth })).text();
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert');
    expect(html).toMatch(/<th class="num">bounced<\/th><th class="num">delivered<\/th>/);
    expect(html).toMatch(/<td>2024-05-01<\/td><td class="num">1<\/td><td class="num">1<\/td><td class="num">2<\/td>/);
    expect(html).toMatch(/<td>2024-04-30<\/td><td class="num">1<\/td><td class="num">0<\/td><td class="num">1<\/td>/);
    const json = (await (await a.request('/api/esp', { headers: auth })).json()) as { days: { day: string; byType: Record<string, number> }[]; events: unknown[] };
    expect(json.days[0]).toMatchObject({ day: '20240501', byType: { delivered: 1, bounced: 1 } });
    expect(json.events).toHaveLength(3);
  });
});
