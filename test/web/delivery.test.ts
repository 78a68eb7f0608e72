/**
 * The Delivery pages with real Redis: the list (failing first, sort, counts over the window), a
 * domain's page (recent probes with the ESP provider when a record has one, the daily chart's data),
 * the maintenance switch (CSRF token and Origin, who and when recorded, the same store the CLI uses),
 * the overview's failing count, and a fixed number of Redis commands with thousands of domains.
 * Records are written through the real stores, as a probe round writes them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { connectRedis, type Redis } from '../../lib/redis.js';
import { domainStore } from '../../lib/probes/domains.js';
import { dayStats, judgeDomain } from '../../lib/probes/judge.js';
import type { ProbeRecord } from '../../lib/probes/model.js';
import { probeStore } from '../../lib/probes/store.js';
import { CsrfTokens } from '../../web/csrf.js';
import { limitsOfConfig } from '../../web/viewmodel/delivery.js';
import { secText } from '../../views/format.js';
import { createApp } from '../../web/server.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, htpasswdLine, keys, makeConfig, sampleData, store, tempDir, writeHtpasswd } from './fixtures.js';

const now = new Date('2026-05-02T12:00:00Z');
const t = now.getTime();
const H = 3_600_000;
let r: TestRedis;
const dir = tempDir();
const probes = { from: 'probes@mon.test', smtp: { host: '127.0.0.1' }, imap: { host: '127.0.0.1', user: 'p', password: 'imap-secret-x' } };
const config = makeConfig(dir, { probes });
const plain = makeConfig(dir);
const auth = basic('admin', 'pw-for-delivery-1');
const l = limitsOfConfig(config)!;

const rec = (token: string, domain: string, sentAgoH: number, extra: Partial<ProbeRecord> = {}): ProbeRecord => ({
  token,
  domain,
  address: `probe@${domain}`,
  sentAt: t - sentAgoH * H,
  submittedAt: t - sentAgoH * H + 500,
  smtp: '250 2.0.0 Ok: queued',
  ...extra,
});

/** acme: fine (on time x2, one pending); beta: a bounce and a lost probe (failing); gamma: late, via an ESP. */
const records: ProbeRecord[] = [
  rec('mtp-a1', 'acme.test', 30, { returnedAt: t - 30 * H + 12_000, folder: 'INBOX', junk: false }),
  rec('mtp-a2', 'acme.test', 2, { returnedAt: t - 2 * H + 8_000, folder: 'INBOX', junk: false }),
  rec('mtp-a3', 'acme.test', 0.01),
  rec('mtp-b1', 'beta.test', 5, { bounce: { at: t - 5 * H + 60_000, status: '5.1.1', diagnostic: '550 5.1.1 <probe@beta.test>: user unknown' } }),
  rec('mtp-b2', 'beta.test', 23.9, {}),
  rec('mtp-g1', 'gamma.test', 3, { returnedAt: t - 3 * H + 900_000, folder: 'INBOX', junk: false, provider: 'sendgrid' }),
];

async function seed(redis: Redis) {
  const ds = domainStore(redis, 'mtarep:');
  await ds.import([
    { line: 1, customer: 'acme', customerName: 'Acme Corp', address: 'probe@acme.test', domain: 'acme.test' },
    { line: 2, customer: 'beta', customerName: 'Beta <b>Ltd</b>', address: 'probe@beta.test', domain: 'beta.test' },
    { line: 3, customer: 'gamma', customerName: 'Gamma', address: 'probe@gamma.test', domain: 'gamma.test' },
  ]);
  const ps = probeStore(redis, 'mtarep:');
  await ps.save(records);
  const of = (d: string) => records.filter((x) => x.domain === d);
  const summaries = ['acme.test', 'beta.test', 'gamma.test'].map((d) => judgeDomain(d, of(d), t, t, l, false));
  await ps.writeSummaries(summaries);
  await ps.writeStats(new Map(['acme.test', 'beta.test', 'gamma.test'].map((d) => [d, dayStats(of(d), t, t, l)])), '2000-01-01');
  const failing = summaries.filter((s) => s.failing).map((s) => s.domain);
  await ps.setState({
    lastGoodReadAt: t,
    lastRound: { runId: 'x', startedAt: new Date(t - 60_000).toISOString(), finishedAt: new Date(t - 50_000).toISOString(), status: 'ok', sent: 3, sendFailed: 0, matched: 2, bounced: 0, scanned: 9, failing, alert: 'sent', errors: [] },
  });
}

beforeAll(async () => {
  r = await testRedis();
  writeHtpasswd(config, [htpasswdLine('admin', 'pw-for-delivery-1', 'bcrypt')]);
});
beforeEach(async () => {
  await r.redis.flushdb();
  await seed(r.redis);
});
afterAll(async () => {
  await r.close();
});

const app = (c = config, redis: Redis = r.redis) => createApp({ config: c, redis, log: silentLogger, now: () => now });
const get = async (path: string, a = app()) => {
  const res = await a.request(`http://localhost${path}`, { headers: auth });
  return { status: res.status, html: await res.text() };
};
const rowsOf = (html: string) => [...html.matchAll(/<tr class="sev-(\w+)">.*?<a href="\/delivery\/([^"]+)">/gs)].map((m) => [m[2], m[1]]);

describe('Delivery page', () => {
  it('round trips read at a glance and exact to the second', () => {
    expect([8, 95.4, 119.6, 430, 900, 3725].map(secText)).toEqual(['8.0 s', '95 s', '2 min', '7 min 10 s', '15 min', '62 min 5 s']);
    expect(secText(null)).toBe('');
  });

  it('one row per domain, failing first, with the last probe, the counts over the window and on-time %', async () => {
    expect((await app().request('/delivery')).status).toBe(401);
    const { status, html } = await get('/delivery');
    expect(status).toBe(200);
    expect(rowsOf(html)).toEqual([
      ['beta.test', 'error'],
      ['gamma.test', 'error'],
      ['acme.test', 'ok'],
    ]);
    const acme = /<tr class="sev-ok">.*?<\/tr>/.exec(html)![0];
    // customer, domain, address, maintenance, last probe pending, counts on_time..send_failed, on-time %
    expect(acme).toContain('title="Acme Corp">acme</td>');
    expect(acme).toContain('<td class="mono">probe@acme.test</td>');
    expect(acme).toContain('<span class="muted">off</span>');
    expect(acme).toMatch(/<td class="c-none" data-v="pending"[^>]*>pending<\/td>/);
    // The last probe is still out: the round trip shown is the newest one measured (mtp-a2, 8 s), said so.
    expect(acme).toMatch(/<td class="num muted" data-v="8" title="the newest probe that came back \(on time\), sent [^"]+">8\.0 s<\/td>/);
    // A last probe that came back shows its own round trip, with no note.
    const gamma = /<tr class="sev-error">(?:(?!<\/tr>).)*?gamma\.test.*?<\/tr>/s.exec(html)![0];
    expect(gamma).toContain('<td class="num" data-v="900">15 min</td>');
    expect([...acme.matchAll(/<td class="num[^"]*">(\d+)<\/td>/g)].map((m) => Number(m[1]))).toEqual([1, 0, 0, 0, 0, 0, 0]); // mtp-a1 is older than the window
    expect(acme).toContain('data-v="100">100 %</td>');
    const beta = /<tr class="sev-error">(?:(?!<\/tr>).)*?beta\.test.*?<\/tr>/s.exec(html)![0];
    expect(beta).toContain('>failing</span>');
    expect([...beta.matchAll(/<td class="num[^"]*">(\d+)<\/td>/g)].map((m) => Number(m[1]))).toEqual([0, 0, 1, 0, 1, 0, 0]);
    expect(beta).toContain('data-v="0">0 %</td>');
    // A friendly name with markup is text.
    expect(html).toContain('title="Beta &lt;b&gt;Ltd&lt;/b&gt;"');
    expect(html).toMatch(/<b>3<\/b> domains/);
    expect(html).toMatch(/<b>2<\/b> failing/);
    expect(html).toContain('href="/delivery" class="active"');
  });

  it('sorts by any column without JavaScript (?sort=&dir=), ties by customer and domain; unknown keys fall back to failing first', async () => {
    expect(rowsOf((await get('/delivery?sort=domain&dir=desc')).html).map((x) => x[0])).toEqual(['gamma.test', 'beta.test', 'acme.test']);
    expect(rowsOf((await get('/delivery?sort=on_time&dir=desc')).html).map((x) => x[0])).toEqual(['acme.test', 'beta.test', 'gamma.test']);
    expect(rowsOf((await get('/delivery?sort=pct&dir=asc')).html).map((x) => x[0])).toEqual(['beta.test', 'gamma.test', 'acme.test']);
    const { html } = await get('/delivery?sort=nope');
    expect(rowsOf(html).map((x) => x[0])).toEqual(['beta.test', 'gamma.test', 'acme.test']);
    expect(html).toContain('id="filter"');
    expect(html).toContain('href="/delivery?sort=customer&amp;dir=asc"');
  });

  it('the help page explains the probe states with the configured limits, and says when probes are off', async () => {
    const { html } = await get('/help');
    // probes config defaults: max_return_s 300, max_sec_until_fail 86400, window 86400.
    expect(html).toContain('<b>on time</b> when it came back within 5 min');
    expect(html).toContain('out longer than 24 h');
    expect(html).toContain('the probes of the last 24 h');
    expect(html).not.toContain('Off until a <code>probes:</code> section');
    const off = await get('/help', app(plain));
    expect(off.html).toContain('Off until a <code>probes:</code> section is configured.');
    expect(off.html).toContain('came back within <code>max_return_s</code>');
  });

  it('says when probes are not configured', async () => {
    const { html } = await get('/delivery', app(plain));
    expect(html).toContain('Round-trip probes are not configured');
  });
});

describe('domain page', () => {
  it('recent probes newest first with state, times, round trip, folder and reason; the provider column only when a probe has one', async () => {
    const beta = (await get('/delivery/beta.test')).html;
    const rows = [...beta.matchAll(/<tr><td class="c-(\w+)">([^<]+)<\/td>/g)].map((m) => m[2]);
    expect(rows).toEqual(['bounced', 'overdue']);
    expect(beta).toContain('5.1.1 550 5.1.1 &lt;probe@beta.test&gt;: user unknown');
    expect(beta).not.toContain('<th>Provider</th>');
    expect(beta).toContain('Failing because');
    const gamma = (await get('/delivery/gamma.test')).html;
    expect(gamma).toContain('<th>Provider</th>');
    expect(gamma).toMatch(/<td class="c-warn">late<\/td><td>2026-05-02 09:00 UTC<\/td><td>2026-05-02 09:15 UTC<\/td><td class="num">15 min<\/td><td>INBOX<\/td><td>sendgrid<\/td>/);
    expect((await get('/delivery/nope.test')).status).toBe(404);
  });

  it('the daily chart: every day of the span with min / average / max delivery time and the counts, from the stats', async () => {
    const { html } = await get('/delivery/acme.test?days=7');
    expect(html).toContain('src="/assets/highcharts.js"');
    const days = JSON.parse(/data-days="([^"]+)"/.exec(html)![1]!.replace(/&quot;/g, '"')) as unknown[][];
    expect(days).toHaveLength(7);
    expect(days[0]![0]).toBe('2026-04-26');
    expect(days[5]).toEqual(['2026-05-01', 12, 12, 12, 1, 0, 0]);
    expect(days[6]).toEqual(['2026-05-02', 8, 8, 8, 1, 0, 0]);
    expect(days[1]).toEqual(['2026-04-27', null, null, null, 0, 0, 0]);
    // the highcharts file is served locally
    const hc = await app().request('http://localhost/assets/highcharts.js', { headers: auth });
    expect(hc.status).toBe(200);
  });
});

describe('maintenance switch', () => {
  const post = (a: ReturnType<typeof app>, domain: string, body: Record<string, string>, headers: Record<string, string> = { Origin: 'http://localhost' }) =>
    a.request(`http://localhost/delivery/${domain}/maintenance`, {
      method: 'POST',
      headers: { ...auth, ...headers, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body).toString(),
    });
  const csrfOf = async (a: ReturnType<typeof app>) => /name="csrf" value="([^"]+)"/.exec((await get('/delivery/beta.test', a)).html)![1]!;

  it('needs the form token and the same origin; nothing changes otherwise', async () => {
    const a = app();
    const csrf = await csrfOf(a);
    expect((await post(a, 'beta.test', { state: 'on' })).status).toBe(403);
    expect((await post(a, 'beta.test', { state: 'on', csrf: new CsrfTokens().tokenFor('admin') })).status).toBe(403);
    expect((await post(a, 'beta.test', { state: 'on', csrf }, { Origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(a, 'beta.test', { state: 'maybe', csrf })).status).toBe(400);
    expect((await post(a, 'nope.test', { state: 'on', csrf })).status).toBe(404);
    expect((await domainStore(r.redis, 'mtarep:').get('beta.test'))!.maintenance).toBe(false);
  });

  it('records who and when, shows it, takes the domain out of failing (overview count too) and back', async () => {
    await store(r.redis, keys('mtarep:'), sampleData());
    const a = app();
    const before = await get('/', a);
    expect(before.html).toMatch(/<a href="\/delivery" class="t-bad"[^>]*><b>2<\/b> failing domains<\/a>/);
    const csrf = await csrfOf(a);
    const res = await post(a, 'beta.test', { state: 'on', csrf });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/delivery/beta.test');
    const d = (await domainStore(r.redis, 'mtarep:').get('beta.test'))!;
    expect(d).toMatchObject({ maintenance: true, maintenanceBy: 'admin', maintenanceAt: now.toISOString() });
    const page = (await get('/delivery/beta.test', a)).html;
    expect(page).toContain('maintenance on');
    expect(page).toContain('on since 2026-05-02 12:00 UTC by admin');
    expect(page).toContain('End maintenance');
    const list = (await get('/delivery', a)).html;
    expect(rowsOf(list)).toContainEqual(['beta.test', 'maint']);
    expect(list).toMatch(/<b>1<\/b> failing/);
    // The overview is cached per data version: the switch moved it.
    expect((await get('/', a)).html).toMatch(/<b>1<\/b> failing domain<\/a>/);
    expect((await post(a, 'beta.test', { state: 'off', csrf })).status).toBe(303);
    expect((await domainStore(r.redis, 'mtarep:').get('beta.test'))!.maintenance).toBe(false);
    expect((await get('/', a)).html).toMatch(/<b>2<\/b> failing domains<\/a>/);
  });

  it('the overview shows no probe figure when probes are not configured', async () => {
    const k = keys('mtarep:');
    await store(r.redis, k, sampleData());
    expect((await get('/', app(plain))).html).not.toContain('failing domain');
    expect((await get('/', app())).html).toContain('failing domains</a>');
  });
});

describe('thousands of domains', () => {
  it('the Delivery page is a fixed number of Redis commands and shows every domain', async () => {
    const n = 3000;
    const ds = domainStore(r.redis, 'mtarep:');
    await ds.import(Array.from({ length: n }, (_, i) => ({ line: i + 1, customer: `c${i % 50}`, customerName: `C ${i % 50}`, address: `t@d${i}.test`, domain: `d${i}.test` })));
    const ps = probeStore(r.redis, 'mtarep:');
    const recs = Array.from({ length: n }, (_, i) => rec(`mtp-x${i}`, `d${i}.test`, 1, i % 10 === 0 ? {} : { returnedAt: t - H + 5000, folder: 'INBOX', junk: false }));
    await ps.save(recs);
    await ps.writeSummaries(recs.map((x) => judgeDomain(x.domain, [x], t, t, l, false)));
    // A connection of its own whose commands are counted (every command, pipelined or not, goes through sendCommand).
    const counted = await connectRedis({ url: r.url }, { reconnect: false });
    let commands = 0;
    const send = counted.sendCommand.bind(counted);
    counted.sendCommand = ((...args: Parameters<typeof send>) => {
      commands++;
      return send(...args);
    }) as typeof send;
    try {
      const a = app(config, counted);
      const res = await a.request('http://localhost/delivery', { headers: auth });
      const html = await res.text();
      expect(res.status).toBe(200);
      expect(html.match(/<tr class="sev-/g)).toHaveLength(n + 3);
      expect(new RegExp(`<b>${n / 10}</b> failing`).test(html)).toBe(true);
      expect(commands).toBeGreaterThanOrEqual(3); // the counting sees the reads (version, domains, summaries, state)
      expect(commands).toBeLessThanOrEqual(5);
    } finally {
      counted.disconnect();
    }
  });
});
