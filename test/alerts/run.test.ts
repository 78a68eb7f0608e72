/**
 * Alerting end to end: real collector runs against the loopback DNS server (listings) and SSH server
 * (a postfix log with a provider block) fill the issue events; the alert engine reads them and sends
 * to a real SMTP server and a real webhook receiver. A controllable clock replaces waiting. Exact
 * message counts per scenario: first run silent, flapping suppressed, digest groups, remind, ack
 * silences, receiver down then up delivered once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlerts } from '../../collector/alerts.js';
import { runCollect } from '../../collector/run.js';
import type { WebhookBody } from '../../lib/alerts/message.js';
import { readDeliveries } from '../../lib/alerts/outbox.js';
import { acknowledgeIssue } from '../../lib/issue-store.js';
import { formatAck, rblIssueId } from '../../lib/issues.js';
import { keys } from '../../lib/keys.js';
import { silentLogger } from '../../lib/log.js';
import { configFrom } from '../helpers/collector-config.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { LogBuilder } from '../helpers/maillog-log.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startSshServer, type TestSshServer } from '../helpers/ssh-server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const ip = '127.1.0.41';
const ip2 = '127.1.0.42';
const secret = 'e2e-webhook-secret-0123456789';
const HOTMAIL = 'mail\\.live\\.com\\/mail\\/troubleshooting\\.aspx#errors';
const blockReply = `host mx[52.101.10.3] said: 550 5.7.1 Unfortunately, messages from [${ip}] weren't sent. http://mail.live.com/mail/troubleshooting.aspx#errors. (in reply to MAIL FROM command)`;
const k = keys('mtarep:');

let r: TestRedis;
let dns: TestDnsServer;
let ssh: TestSshServer;
let sink: SmtpSink;
let hook: WebhookReceiver;
let tmp: string;
let log: string;
let clock = Date.parse('2026-11-03T10:00:00Z');

beforeAll(async () => {
  [r, dns, ssh, sink, hook] = await Promise.all([testRedis(), startDnsServer(), startSshServer(), startSmtpSink(), startWebhookReceiver(secret)]);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-alerts-e2e-'));
  fs.writeFileSync(path.join(tmp, 'id'), ssh.clientKey.private, { mode: 0o600 });
  fs.writeFileSync(path.join(tmp, 'known_hosts'), ssh.knownHostsLine() + '\n');
  log = path.join(ssh.dir, `maillog-alerts-${Date.now()}`);
  fs.writeFileSync(log, '');
  resetDns();
});

/** DNS with no listing at all: both zones answer their test points, the host has both IPs. */
function resetDns() {
  dns.reset();
  dns.testPoints('bl.test');
  dns.testPoints('warn.test');
  dns.set('mx.example.test', { A: [ip, ip2] });
}
afterAll(async () => {
  await Promise.all([r?.close(), dns?.close(), ssh?.close(), sink?.close(), hook?.close()]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

let cached: ReturnType<typeof configFrom> | undefined;
/** The config pointing at this file's peers (their ports are known after beforeAll). */
function cfg() {
  cached ??= configFrom({
    dns: { servers: [dns.address], timeout_ms: 30_000, tries: 1 },
    rbls: [{ zone: 'bl.test', critical: true, removal_link: 'https://bl.example/remove?ip=' }, { zone: 'warn.test', critical: false }],
    senderscore_zone: false,
    dns_match: false,
    collect_interval: 900,
    mta_map: { mx: { fqdn: 'mx.example.test', ssh_host: ssh.host, ssh_port: ssh.port, maillog_path: log, timezone: 'UTC' } },
    ssh_key: path.join(tmp, 'id'),
    ssh_user: 'mtarep',
    ssh_known_hosts: path.join(tmp, 'known_hosts'),
    ssh_timeout_ms: 10000,
    provider_block_strings: { hotmail: HOTMAIL },
    provider_block_window: 86400,
    public_url: 'https://mtarep.example.com/',
    alerts: {
      email: { to: ['ops@example.com'], from: 'mtarep@mon.example.com', smtp: { host: '127.0.0.1', port: sink.port, tls: 'none', timeout_ms: 30_000 } },
      webhooks: [{ url: hook.url, secret, timeout_ms: 30_000 }],
      confirm_runs: 2,
      digest_s: 600,
      remind_s: 3600,
    },
  });
  return cached;
}

const now = () => new Date(clock);
/** One alert engine step; webhook retries inside a delivery do not wait (the outbox's own backoff runs on the clock). */
const alerts = () => runAlerts({ config: cfg(), redis: r.redis, log: silentLogger, now, sendOptions: { webhook: { attempts: 2, sleep: async () => {} } } });
/** Advance the clock by `min` minutes, then one alert engine step (as the ticker does). */
async function tick(min: number) {
  clock += min * 60_000;
  return alerts();
}
/** A collector run 15 minutes after the previous one, then the engine step that follows every run. */
async function run() {
  clock += 15 * 60_000;
  await runCollect({ config: cfg(), redis: r.redis, log: silentLogger, now });
  return alerts();
}
const counts = () => ({ mails: sink.mails.length, hooks: hook.accepted.length });
const listing2 = rblIssueId('bl.test', ip2);

describe('alerts from real collector runs', () => {
  it('first run silent, a flap suppressed, a confirmed change in one digest per channel, reminders, ack silences, receiver down then up delivered once', async () => {
    // Install: ip is listed already. The first run (and the next) tell nothing.
    dns.list('warn.test', ip, ['127.0.0.2'], 'listed since last week');
    await run();
    await run();
    await tick(20);
    expect(sink.mails.map((m) => m.subject)).toEqual([]);

    // ip2 is listed for one run only: suppressed (confirm_runs 2).
    dns.list('bl.test', ip2, ['127.0.0.3'], 'flap');
    await run();
    resetDns();
    dns.list('warn.test', ip, ['127.0.0.2'], 'listed since last week');
    await run();
    await run();
    await tick(20);
    expect(counts()).toEqual({ mails: 0, hooks: 0 });

    // ip2 listed again and a provider block appears: both confirmed at the second run, one digest.
    dns.list('bl.test', ip2, ['127.0.0.4'], 'spam trap hits: see https://bl.example/lookup');
    const b = new LogBuilder();
    b.delivery(new Date(clock + 5 * 60_000), 'B10CK0001', 'x@hotmail.com', 'bounced', { reply: blockReply });
    fs.writeFileSync(log, b.text());
    await run();
    await run(); // confirmed: the digest window opens
    expect(counts()).toEqual({ mails: 0, hooks: 0 });
    await tick(10); // the window has ended
    expect(counts()).toEqual({ mails: 1, hooks: 1 });
    const mail = sink.mails[0]!;
    expect(mail.subject).toBe('mx: listed on bl.test, blocked by hotmail');
    expect(mail.text).toContain('Host mx');
    expect(mail.text).toContain(`IP: ${ip2}`);
    expect(mail.text).toContain('now: listed: 127.0.0.4 (problem)');
    expect(mail.text).toContain('reason: spam trap hits: see https://bl.example/lookup');
    expect(mail.text).toContain(`delist: https://bl.example/remove?ip=${ip2}`);
    expect(mail.text).toContain('rejection: ');
    expect(mail.text).toContain('550 5.7.1 Unfortunately');
    expect(mail.text).toContain('dashboard: https://mtarep.example.com/host/mx');
    const body = hook.accepted[0]!.json as WebhookBody;
    expect(hook.accepted[0]!.verified).toBe(true);
    expect(body.changes.map((c) => `${c.change} ${c.kind} ${c.zone ?? c.provider}`).sort()).toEqual(['opened block hotmail', 'opened listing bl.test']);
    expect(body.changes.find((c) => c.kind === 'listing')).toMatchObject({ host: 'mx', ip: ip2, old: null, new: { state: 'listed: 127.0.0.4', severity: 'problem' }, delistUrl: `https://bl.example/remove?ip=${ip2}` });

    // Nothing new for a while: no message. One hour after it was told, the open problems remind once.
    await run();
    await run();
    expect(counts()).toEqual({ mails: 1, hooks: 1 });
    await tick(30);
    await tick(10);
    expect(counts()).toEqual({ mails: 2, hooks: 2 });
    expect(sink.mails[1]!.subject).toMatch(/still open/);
    // The open problems are reminded; the warning on warn.test (there since install) is not.
    expect((hook.accepted[1]!.json as WebhookBody).changes.map((c) => `${c.change} ${c.issueId}`).sort()).toEqual([`reminder block:hotmail:mx`, `reminder ${listing2}`]);

    // alice acknowledges everything open: no more reminders.
    const ack = (id: string) => acknowledgeIssue(r.redis, k, { id, by: 'alice', at: now(), ackValue: formatAck('alice', now()), maxLen: 1000 });
    for (const id of (hook.accepted[1]!.json as WebhookBody).changes.map((c) => c.issueId)) await ack(id);
    for (let i = 0; i < 6; i++) await run();
    expect(counts()).toEqual({ mails: 2, hooks: 2 });

    // The receivers go down; ip2 is delisted (confirmed at the second run); the message waits in the outbox.
    await sink.stop();
    hook.answer(500);
    resetDns();
    dns.list('warn.test', ip, ['127.0.0.2'], 'listed since last week');
    await run();
    await run();
    const down = await tick(10);
    expect(down!.delivery).toEqual({ sent: 0, retrying: 2, failed: 0, expired: 0 });
    expect(counts()).toEqual({ mails: 2, hooks: 2 });
    expect(hook.requests.length).toBeGreaterThan(2); // it was tried
    await tick(1);
    await tick(1);
    // Up again: delivered once on each channel, and never again.
    await sink.start();
    hook.answer(200);
    await tick(5);
    expect(counts()).toEqual({ mails: 3, hooks: 3 });
    for (let i = 0; i < 4; i++) await run();
    expect(counts()).toEqual({ mails: 3, hooks: 3 });
    const resolved = sink.mails[2]!;
    expect(resolved.subject).toBe('mx: delisted from bl.test');
    expect(resolved.text).toContain('acknowledged by: alice');
    const recs = (await readDeliveries(r.redis, k, 100)).records;
    expect(recs.filter((x) => x.status === 'sent')).toHaveLength(6);
    expect(recs.filter((x) => x.status === 'retrying').length).toBeGreaterThanOrEqual(2);
    expect(await r.redis.hlen(k.alertsOutbox)).toBe(0);
  }, 240_000);

  it("dead man's switch: no successful run for three intervals alerts once, the next run recovers", async () => {
    const before = counts();
    await tick(46); // 15 min after the last run + 46 min > 3 x 15 min for both sources
    expect(counts()).toEqual({ mails: before.mails + 1, hooks: before.hooks + 1 });
    expect(sink.mails.at(-1)!.subject).toMatch(/^collector: no successful run of (reputation|maillog) since/);
    await tick(30);
    expect(counts()).toEqual({ mails: before.mails + 1, hooks: before.hooks + 1 });
    await run();
    expect(counts()).toEqual({ mails: before.mails + 2, hooks: before.hooks + 2 });
    expect((hook.accepted.at(-1)!.json as WebhookBody).changes.map((c) => c.change)).toEqual(['collector_back', 'collector_back']);
  }, 120_000);
});
