/**
 * Alerts as the dashboard shows them, with the real alert engine (collector/alerts.ts), a real SMTP
 * server and a real webhook receiver: a webhook that answers 500 puts a line on the overview and the
 * item on the Events page until it goes; one that answers 400 is a failure shown for 24 h; an issue
 * of any kind (here a failing probe domain) acknowledged on the dashboard is no longer reminded, the
 * others still are. Issue events come from the real store (lib/issue-store.ts); a controllable clock
 * replaces waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlerts } from '../../collector/alerts.js';
import type { OpenIssue } from '../../lib/events.js';
import { applySourceIssues } from '../../lib/issue-store.js';
import { silentLogger } from '../../lib/log.js';
import { createApp } from '../../web/server.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { basic, htpasswdLine, keys, makeConfig, sampleData, store, tempDir, useClock, writeHtpasswd } from './fixtures.js';

const secret = 'events-alerts-secret-0123456789';
const auth = basic('alice', 'pw-alice');
const k = keys('mtarep:');
let t: TestRedis;
let sink: SmtpSink;
let hook: WebhookReceiver;
let config: ReturnType<typeof makeConfig>;
let clock = Date.parse('2026-11-03T10:00:00Z');
const now = () => new Date(clock);

beforeAll(async () => {
  [t, sink, hook] = await Promise.all([testRedis(), startSmtpSink(), startWebhookReceiver(secret)]);
  config = makeConfig(
    tempDir(),
    {
      public_url: 'https://mtarep.example.com/',
      alerts: {
        email: { to: ['ops@example.com'], from: 'mtarep@mon.example.com', smtp: { host: '127.0.0.1', port: sink.port, tls: 'none', timeout_ms: 30_000 } },
        webhooks: [{ url: hook.url, secret, timeout_ms: 30_000 }],
        confirm_runs: 1,
        digest_s: 0,
        remind_s: 600,
      },
    },
    t.prefix,
  );
  writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'bcrypt')]);
  useClock(now());
  await store(t.redis, k, sampleData());
});
afterAll(async () => {
  useClock(new Date('2024-05-01T12:00:00Z'));
  await Promise.all([t?.close(), sink?.close(), hook?.close()]);
});

const app = () => createApp({ config, redis: t.redis, log: silentLogger, now });
const alerts = () => runAlerts({ config, redis: t.redis, log: silentLogger, now, sendOptions: { webhook: { attempts: 1 } } });
const failing = (domain: string): OpenIssue => ({
  id: `probe:${domain}`,
  kind: 'probe_failing',
  severity: 'problem',
  source: 'probes',
  domain,
  state: '3 of 3 not returned',
  firstSeen: now().toISOString(),
  lastSeen: now().toISOString(),
});
async function probesRun(runId: string, open: OpenIssue[]) {
  await applySourceIssues(t.redis, k, { source: 'probes', runId, at: now().toISOString(), open, undetermined: [] }, { status: 'ok', maxLen: 10_000 });
}
const page = async (a: ReturnType<typeof app>, path: string) => (await a.request(path, { headers: auth })).text();

describe('alerts on the dashboard', () => {
  it('undelivered and failed notifications are shown; an acknowledged probe issue is not reminded, the other one is', async () => {
    const a = app();
    // Install: the first run is a silent baseline.
    await probesRun('p1', []);
    await alerts();
    expect(sink.mails).toHaveLength(0);
    expect(await page(a, '/')).not.toContain('alert-notice');

    // Two probe domains fail; the mail goes, the webhook answers 500: retried, shown.
    hook.answer(500);
    clock += 60_000;
    await probesRun('p2', [failing('p.example'), failing('q.example')]);
    const r1 = await alerts();
    expect(r1!.delivery).toEqual({ sent: 1, retrying: 1, failed: 0, expired: 0 });
    expect(sink.mails).toHaveLength(1);
    let overview = await page(a, '/');
    expect(overview).toMatch(/<p class="alert-notice problems" role="status">1 alert notification not delivered yet \(retrying\): see <a href="\/events#undelivered">Events<\/a>/);
    let events = await page(a, '/events');
    expect(events).toContain('<section id="undelivered">');
    expect(events).toMatch(/<td>p\.example: probes failing: 3 of 3 not returned[^<]*<\/td><td>webhook http:\/\/127\.0\.0\.1:\d+\/…<\/td><td class="num">1<\/td><td class="mono">HTTP 500 \(after 1 attempt\)<\/td>/);
    expect(events).toContain('notified: retrying');
    expect(events).toContain('notified: sent');

    // The receiver is back: delivered once at the next attempt; the line goes (the cached page too).
    hook.answer(200);
    clock += 60_000;
    const r2 = await alerts();
    expect(r2!.delivery.sent).toBe(1);
    expect(hook.accepted).toHaveLength(1);
    overview = await page(a, '/');
    expect(overview).not.toContain('alert-notice');
    expect(await page(a, '/events')).not.toContain('id="undelivered"');

    // Acknowledge one probe domain on the Events page (any issue kind can be acknowledged).
    const html = await page(a, '/events');
    const token = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    expect(html).toContain('name="id" value="probe:p.example"');
    const ack = await a.request('http://localhost/ack', {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://localhost' },
      body: new URLSearchParams({ csrf: token, id: 'probe:p.example', back: '/events?domain=p.example' }).toString(),
    });
    expect(ack.status).toBe(303);
    expect(ack.headers.get('location')).toBe('/events?domain=p.example');
    expect(await t.redis.hget(k.acks, 'probe:p.example')).toMatch(/^alice /);
    const acked = await page(a, '/events?domain=p.example');
    expect(acked).toContain('ev-acknowledged');
    expect(acked).toContain('<span class="badge ack">ack: alice</span>');
    // An id that no source holds open is still refused.
    const nope = await a.request('http://localhost/ack', {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://localhost' },
      body: new URLSearchParams({ csrf: token, id: 'probe:nowhere.example' }).toString(),
    });
    expect(nope.status).toBe(409);

    // Past remind_s: only the unacknowledged domain is reminded. The webhook refuses (400): given up, shown.
    hook.answer(400);
    clock += 11 * 60_000;
    await probesRun('p3', [failing('p.example'), failing('q.example')]);
    const r3 = await alerts();
    expect(r3!.delivery).toEqual({ sent: 1, retrying: 0, failed: 1, expired: 0 });
    expect(sink.mails).toHaveLength(2);
    const reminder = sink.mails[1]!;
    expect(reminder.subject).toBe('still open: q.example: probes failing: 3 of 3 not returned');
    expect(reminder.text).not.toMatch(/\bp\.example/); // (mtarep.example.com is the dashboard)
    overview = await page(a, '/');
    expect(overview).toMatch(/<p class="alert-notice problems bad" role="status">1 alert notification failed in the last 24 h: see/);
    events = await page(a, '/events');
    expect(events).toContain('Given up in the last 24 h');
    expect(events).toMatch(/<td>failed<\/td><td class="num">1<\/td><td class="mono">HTTP 400<\/td>/);
    expect(events).not.toContain(secret);

    // A day later the failure is history: the line goes.
    clock += 25 * 3600_000;
    await t.redis.incr(k.dataVersion);
    expect(await page(a, '/')).not.toContain('alert-notice');
  }, 60_000);
});
