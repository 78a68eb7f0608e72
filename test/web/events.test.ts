/**
 * The Events page, GET /api/events and the "send a test alert" buttons, through the Hono app with real
 * Redis; issue events written by the real store (lib/issue-store.ts), test alerts received by a real
 * SMTP server (smtp-server, parsed with mailparser) and a real webhook receiver that checks signatures.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readDeliveries } from '../../lib/alerts/outbox.js';
import type { OpenIssue } from '../../lib/events.js';
import { applySourceIssues } from '../../lib/issue-store.js';
import { rblIssueId } from '../../lib/issues.js';
import { silentLogger } from '../../lib/log.js';
import { createApp } from '../../web/server.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { basic, htpasswdLine, keys, makeConfig, NOW, tempDir, writeHtpasswd, XSS } from './fixtures.js';

const secret = 'events-webhook-secret-0123456789';
const smtpPassword = 'smtp-Pa55word-events';
const auth = basic('alice', 'pw-alice');
const k = keys('mtarep:');
let t: TestRedis;
let sink: SmtpSink;
let hook: WebhookReceiver;
let config: ReturnType<typeof makeConfig>;

beforeAll(async () => {
  [t, sink, hook] = await Promise.all([testRedis(), startSmtpSink({ auth: { user: 'mtarep', pass: smtpPassword } }), startWebhookReceiver(secret)]);
  const dir = tempDir();
  config = makeConfig(
    dir,
    {
      public_url: 'https://mtarep.example.com/',
      alerts: {
        email: { to: ['ops@example.com'], from: 'mtarep@mon.example.com', smtp: { host: '127.0.0.1', port: sink.port, tls: 'none', user: 'mtarep', password: smtpPassword, timeout_ms: 30_000 } },
        webhooks: [{ url: hook.url, secret, timeout_ms: 30_000 }],
      },
    },
    t.prefix,
  );
  writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'bcrypt')]);
});
afterAll(async () => {
  await Promise.all([t?.close(), sink?.close(), hook?.close()]);
});
beforeEach(async () => {
  await t.redis.flushdb();
  hook.answer(200);
});

const app = () => createApp({ config, redis: t.redis, log: silentLogger, now: () => NOW });
const at = (min: number) => new Date(NOW.getTime() - min * 60_000).toISOString();

const listing: OpenIssue = {
  id: rblIssueId('zen.spamhaus.org', '192.0.2.10'),
  kind: 'listing',
  severity: 'problem',
  source: 'reputation',
  host: 'mta1',
  ip: '192.0.2.10',
  zone: 'zen.spamhaus.org',
  state: 'listed: 127.0.0.2 SBL',
  detail: `Listed ${XSS}`,
  firstSeen: at(60),
  lastSeen: at(60),
};
const probe: OpenIssue = {
  id: 'probe:example.org',
  kind: 'probe_failing',
  severity: 'problem',
  source: 'probes',
  domain: 'example.org',
  state: '3 of 3 not returned',
  firstSeen: at(50),
  lastSeen: at(50),
};
const snds: OpenIssue = { id: 'snds:192.0.2.20:filter', kind: 'snds', severity: 'warning', source: 'reputation', host: 'mta2', ip: '192.0.2.20', state: 'red', firstSeen: at(40), lastSeen: at(40) };

async function runOf(source: string, runId: string, min: number, open: OpenIssue[]) {
  await applySourceIssues(t.redis, k, { source, runId, at: at(min), open, undetermined: [] }, { status: 'ok', maxLen: 10_000 });
}

/** listing opened, probe opened, snds opened + listing changed, listing resolved: 5 issue events, 4 runs. */
async function seed() {
  await runOf('reputation', 'r1', 60, [listing]);
  await runOf('probes', 'p1', 50, [probe]);
  await runOf('reputation', 'r2', 40, [{ ...listing, state: 'listed: 127.0.0.2 SBL, 127.0.0.4 XBL' }, snds]);
  await runOf('reputation', 'r3', 30, [snds]);
}

/** The timeline rows of a page, in order: [stream id, event class]. */
function rows(html: string): { id: string; type: string; text: string }[] {
  const out: { id: string; type: string; text: string }[] = [];
  for (const m of html.matchAll(/<tr class="sev-[a-z]+" data-id="([0-9-]+)">(.*?)<\/tr>/gs)) {
    out.push({ id: m[1]!, type: /class="ev ev-([a-z]+)"/.exec(m[2]!)![1]!, text: m[2]! });
  }
  return out;
}

async function csrfOf(a: ReturnType<typeof app>): Promise<string> {
  const html = await (await a.request('/events', { headers: auth })).text();
  return /name="csrf" value="([^"]+)"/.exec(html)![1]!;
}

function post(a: ReturnType<typeof app>, path: string, body: Record<string, string>) {
  return a.request(`http://localhost${path}`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://localhost' },
    body: new URLSearchParams(body).toString(),
  });
}

describe('Events page', () => {
  it('is behind basic auth and linked from the navigation', async () => {
    const a = app();
    expect((await a.request('/events')).status).toBe(401);
    expect((await a.request('/api/events')).status).toBe(401);
    const html = await (await a.request('/', { headers: auth })).text();
    expect(html).toContain('<a href="/events">Events</a>');
  });

  it('shows the timeline newest first, escaped, with the issue and who can act on it', async () => {
    await seed();
    const res = await app().request('/events', { headers: auth });
    expect(res.status).toBe(200);
    const html = await res.text();
    const r = rows(html);
    expect(r.map((x) => x.type)).toEqual(['resolved', 'changed', 'opened', 'opened', 'opened']);
    // Stream ids strictly decreasing.
    for (let i = 1; i < r.length; i++) expect(r[i - 1]!.id > r[i]!.id || r[i - 1]!.id.length > r[i]!.id.length).toBe(true);
    expect(r[0]!.text).toContain('delisted from zen.spamhaus.org');
    expect(r[0]!.text).toContain('<a href="/host/mta1">mta1</a>');
    expect(r[3]!.text).toContain('probes failing: 3 of 3 not returned');
    expect(r[3]!.text).toContain('<a href="/events?domain=example.org">example.org</a>');
    expect(html).not.toContain(XSS);
    expect(html).toContain('&lt;script&gt;');
    // Open issues (probe, snds) get an Acknowledge button on their newest row; the resolved listing none.
    expect(r[2]!.text).toContain('name="id" value="snds:192.0.2.20:filter"');
    expect(r[3]!.text).toContain('name="id" value="probe:example.org"');
    for (const i of [0, 1, 4]) expect(r[i]!.text).not.toContain('Acknowledge');
    // The channels, each with its own test button.
    expect(html).toContain('e-mail to ops@example.com');
    expect(html.match(/action="\/events\/test"/g)).toHaveLength(2);
    expect(html).not.toContain(secret);
  });

  it('filters by host, domain, kind and event type; bad input is a 400 naming the parameter', async () => {
    await seed();
    const a = app();
    const types = async (q: string) => rows(await (await a.request(`/events?${q}`, { headers: auth })).text()).map((x) => x.type);
    expect(await types('host=mta1')).toEqual(['resolved', 'changed', 'opened']);
    expect(await types('host=mta2')).toEqual(['opened']);
    expect(await types('domain=example.org')).toEqual(['opened']);
    expect(await types('kind=snds')).toEqual(['opened']);
    expect(await types('kind=snds,probe_failing')).toEqual(['opened', 'opened']);
    expect(await types('type=resolved')).toEqual(['resolved']);
    expect(await types('type=run')).toHaveLength(4);
    expect(await types('host=&domain=&kind=&type=')).toHaveLength(5); // an empty GET form field is no filter
    const html = await (await a.request('/events?host=mta1', { headers: auth })).text();
    expect(html).toContain('<option value="mta1" selected="">mta1</option>');
    for (const [q, name] of [
      ['host=%3Cscript%3E', 'host'],
      ['domain=a%20b', 'domain'],
      ['kind=Listing!', 'kind'],
      ['type=deleted', 'type'],
      ['before=yesterday', 'before'],
    ] as const) {
      const res = await a.request(`/events?${q}`, { headers: auth });
      expect(res.status, q).toBe(400);
      expect(await res.text()).toContain(`Query parameter ${name}:`);
    }
  });

  it('pages through a long stream with an "older" link: every item once', async () => {
    for (let i = 0; i < 60; i++) {
      const issue = { ...snds, id: `snds:192.0.2.${i}:filter`, ip: `192.0.2.${i}` };
      await runOf('reputation', `r${i}`, 100 - i, [issue]);
    }
    const a = app();
    const pages: { id: string }[][] = [];
    let href: string | null = '/events';
    while (href !== null && pages.length < 5) {
      const html = await (await a.request(href, { headers: auth })).text();
      pages.push(rows(html));
      if (pages.length > 1) expect(html).toContain('<a href="/events">← newest</a>');
      href = /<a href="([^"]+)">older →<\/a>/.exec(html)?.[1]?.replace(/&amp;/g, '&') ?? null;
      if (href !== null) expect(href).toMatch(/^\/events\?before=\d+-\d+$/);
    }
    // 60 opened + 59 resolved: pages of 50, 50 and 19, every event once, in stream order.
    expect(pages.map((p) => p.length)).toEqual([50, 50, 19]);
    const ids = pages.flat().map((x) => x.id);
    expect(new Set(ids).size).toBe(119);
    const all = (await (await a.request('/api/events?limit=1000', { headers: auth })).json()) as { items: { id: string }[] };
    expect(ids).toEqual(all.items.map((i) => i.id).reverse());
  });
});

describe('GET /api/events', () => {
  it('since an ISO time or a stream id, filters and limit; oldest first when catching up', async () => {
    await seed();
    const a = app();
    const get = async (q: string) => {
      const res = await a.request(`/api/events${q}`, { headers: auth });
      return { status: res.status, body: (await res.json()) as { items: { id: string; type: string; issue?: OpenIssue }[]; next: string | null; more: boolean; error?: string; parameter?: string; message?: string } };
    };
    const all = await get('');
    expect(all.status).toBe(200);
    expect(all.body.items.map((i) => i.type)).toEqual(['opened', 'opened', 'opened', 'changed', 'resolved']);
    expect(all.body.items[0]!.issue!.id).toBe(listing.id);
    const afterFirst = await get(`?since=${all.body.items[0]!.id}`);
    expect(afterFirst.body.items.map((i) => i.id)).toEqual(all.body.items.slice(1).map((i) => i.id));
    const page = await get(`?since=${all.body.items[0]!.id}&limit=2`);
    expect(page.body.items).toHaveLength(2);
    expect(page.body.more).toBe(true);
    const rest = await get(`?since=${page.body.next}`);
    expect(rest.body.items.map((i) => i.id)).toEqual(all.body.items.slice(3).map((i) => i.id));
    expect(rest.body.more).toBe(false);
    expect((await get('?since=2000-01-01T00:00:00Z')).body.items).toHaveLength(5);
    expect((await get('?since=2999-01-01T00:00:00Z')).body.items).toHaveLength(0);
    expect((await get('?host=mta1&type=opened,resolved')).body.items.map((i) => i.type)).toEqual(['opened', 'resolved']);
    expect((await get('?domain=example.org')).body.items.map((i) => i.issue!.id)).toEqual([probe.id]);
    expect((await get('?type=run')).body.items).toHaveLength(4);

    for (const [q, name] of [
      ['?since=yesterday', 'since'],
      ['?since=1714564800000', 'since'],
      ['?limit=0', 'limit'],
      ['?limit=5000', 'limit'],
      ['?limit=ten', 'limit'],
      ['?type=nope', 'type'],
      ['?host=a%20b', 'host'],
    ] as const) {
      const r = await get(q);
      expect(r.status, q).toBe(400);
      expect(r.body).toMatchObject({ error: 'bad parameter', parameter: name });
      expect(r.body.message).toContain(name);
    }
  });
});

describe('send a test alert', () => {
  it('POST only, CSRF-checked; the result is shown after the redirect and recorded as a notification', async () => {
    const a = app();
    const token = await csrfOf(a);
    const before = sink.mails.length;
    // GET never sends; a POST without the token or with an unknown channel neither.
    expect((await a.request('/events/test?channel=email', { headers: auth })).status).toBe(404);
    expect((await post(a, '/events/test', { channel: 'email' })).status).toBe(403);
    expect((await post(a, '/events/test', { channel: 'email', csrf: 'nope' })).status).toBe(403);
    const unknown = await post(a, '/events/test', { channel: 'webhook:00000000', csrf: token });
    expect(unknown.status).toBe(400);
    expect(sink.mails.length).toBe(before);

    const res = await post(a, '/events/test', { channel: 'email', csrf: token });
    expect(res.status).toBe(303);
    const loc = res.headers.get('location')!;
    expect(loc).toMatch(/^\/events\?test=test-[a-z0-9]+$/);
    expect(sink.mails.length).toBe(before + 1);
    expect(sink.mails.at(-1)!.subject).toBe('mtarep test alert');
    const html = await (await a.request(loc, { headers: auth })).text();
    expect(html).toContain('Test alert delivered');
    expect(html).toMatch(/delivered<\/span> · e-mail to ops@example\.com: <span class="mono">250 /);
    expect(html).not.toContain(smtpPassword);
    // The test is on the timeline as a notification (by whom), and in the API.
    expect(rows(html)[0]!.type).toBe('notified');
    expect(rows(html)[0]!.text).toContain('test alert (sent by alice)');
    const api = (await (await a.request('/api/events?type=notified', { headers: auth })).json()) as { items: { status: string; test: boolean; by: string }[] };
    expect(api.items).toEqual([expect.objectContaining({ status: 'sent', test: true, by: 'alice' })]);
  }, 30_000);

  it('a webhook that fails: the error with its reason, never the secret; a test failure is not an alert failure', async () => {
    const a = app();
    const token = await csrfOf(a);
    const hookId = config.alerts.webhooks[0]!.id;
    hook.answer(500);
    const n = hook.requests.length;
    const res = await post(a, '/events/test', { channel: hookId, csrf: token });
    expect(res.status).toBe(303);
    expect(hook.requests.length).toBe(n + 1); // one attempt, signed
    expect(hook.requests.at(-1)!.verified).toBe(true);
    const html = await (await a.request(res.headers.get('location')!, { headers: auth })).text();
    expect(html).toContain('Test alert not delivered');
    expect(html).toMatch(/error<\/span> · webhook http:\/\/127\.0\.0\.1:\d+\/…: <span class="mono">HTTP 500 \(after 1 attempt\)<\/span>/);
    expect(html).not.toContain(secret);
    expect(html).not.toContain('/hooks/mtarep');
    const log = await readDeliveries(t.redis, k, 10);
    expect(log.records.map((r) => [r.status, r.test])).toEqual([['failed', true]]);
    // The overview's failure line counts alerts, not tests.
    const overview = await (await a.request('/', { headers: auth })).text();
    expect(overview).not.toContain('alert-notice');

    hook.answer(200);
    const ok = await post(a, '/events/test', { channel: hookId, csrf: token });
    const okHtml = await (await a.request(ok.headers.get('location')!, { headers: auth })).text();
    expect(okHtml).toContain('Test alert delivered');
    expect(okHtml).toContain('HTTP 200');
    expect((hook.accepted.at(-1)!.json as { type: string }).type).toBe('test');
  }, 30_000);
});
