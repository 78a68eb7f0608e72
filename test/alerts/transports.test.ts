/**
 * Alert transports against real peers: an SMTP server (smtp-server) receives the mail, parsed with
 * mailparser; an HTTP server receives the webhook and verifies its signature.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelsOf, renderFor, sendOn, sendTests } from '../../lib/alerts/channels.js';
import { DeliveryError } from '../../lib/alerts/errors.js';
import { renderEmail, renderWebhook, subjectOf, type WebhookBody } from '../../lib/alerts/message.js';
import type { Digest } from '../../lib/alerts/state.js';
import { signBody, verifySignature } from '../../lib/alerts/webhook.js';
import { secretsOf } from '../../lib/log.js';
import type { OpenIssue } from '../../lib/events.js';
import { configFrom } from '../helpers/collector-config.js';
import { freePort } from '../helpers/net.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const secret = 'whsec-0123456789abcdef';

const zenListing: OpenIssue = {
  id: 'rbl:zen.spamhaus.org:192.0.2.7',
  kind: 'listing',
  severity: 'problem',
  source: 'reputation',
  host: 'mta2',
  ip: '192.0.2.7',
  zone: 'zen.spamhaus.org',
  state: 'listed: 127.0.0.2 SBL (Spamhaus SBL)',
  detail: 'Listed by SBL, see https://check.spamhaus.org/sbl/query/SBL12345 <script>',
  links: { removal: 'https://check.spamhaus.org/listed/?searchterm=192.0.2.7' },
  firstSeen: '2026-03-01T10:05:00.000Z',
  lastSeen: '2026-03-01T10:10:00.000Z',
};
const gmailBlock: OpenIssue = {
  id: 'block:gmail:mta2',
  kind: 'block',
  severity: 'problem',
  source: 'maillog',
  host: 'mta2',
  provider: 'gmail',
  state: 'blocked',
  detail: '550-5.7.1 [192.0.2.7] Our system has detected an unusual rate of unsolicited mail',
  firstSeen: '2026-03-01T09:00:00.000Z',
  lastSeen: '2026-03-01T10:00:00.000Z',
};
const resolved = (id: string, host: string, zone: string): OpenIssue => ({
  id,
  kind: 'listing',
  severity: 'warning',
  source: 'reputation',
  host,
  ip: '192.0.2.9',
  zone,
  state: 'listed: 127.0.0.2',
  firstSeen: '2026-02-20T00:00:00.000Z',
  lastSeen: '2026-03-01T10:00:00.000Z',
});
const probe: OpenIssue = {
  id: 'probe:example.org',
  kind: 'probe_failing',
  severity: 'problem',
  source: 'probes',
  domain: 'example.org',
  state: 'round trip 3 of 3 lost',
  firstSeen: '2026-03-01T10:00:00.000Z',
  lastSeen: '2026-03-01T10:10:00.000Z',
};

const digest: Digest = {
  id: 'abc-1',
  createdAt: '2026-03-01T10:20:00.000Z',
  entries: [
    { change: 'opened', issue: zenListing, old: null, new: { state: zenListing.state, severity: 'problem' }, at: '2026-03-01T10:10:00.000Z' },
    { change: 'resolved', issue: resolved('rbl:bl.spamcop.net:192.0.2.9', 'mta1', 'bl.spamcop.net'), old: { state: 'listed: 127.0.0.2', severity: 'warning' }, new: null, at: '2026-03-01T10:10:00.000Z', acknowledgedBy: 'alice' },
    { change: 'resolved', issue: resolved('rbl:b.barracudacentral.org:192.0.2.9', 'mta1', 'b.barracudacentral.org'), old: { state: 'listed: 127.0.0.2', severity: 'warning' }, new: null, at: '2026-03-01T10:10:00.000Z' },
  ],
};

/**
 * Timeouts are bounds for a peer that never answers, not judgements of speed: the peers here do answer,
 * so they are generous (a loaded 2-core machine can take seconds), except where a test wants one to run out.
 */
function alertConfig(smtpPort: number, hookUrl: string, extra: Record<string, unknown> = {}, webhookTimeoutMs = 30_000) {
  return configFrom({
    public_url: 'https://mtarep.example.com/',
    alerts: {
      email: { to: ['ops@example.com', 'noc@example.com'], from: 'mtarep@mon.example.com', smtp: { host: '127.0.0.1', port: smtpPort, tls: 'none', timeout_ms: 30_000 } },
      webhooks: [{ url: hookUrl, secret, timeout_ms: webhookTimeoutMs }],
      ...extra,
    },
  });
}

describe('alert messages', () => {
  it('subject says what changed in a few words', () => {
    expect(subjectOf(digest)).toBe('mta2: listed on zen.spamhaus.org; 2 resolved');
    expect(subjectOf({ ...digest, entries: [digest.entries[1]!] })).toBe('mta1: delisted from bl.spamcop.net');
    const two = { ...digest, entries: [digest.entries[0]!, { ...digest.entries[0]!, issue: gmailBlock }] };
    expect(subjectOf(two)).toBe('mta2: listed on zen.spamhaus.org, blocked by gmail');
    expect(subjectOf({ ...digest, entries: [{ change: 'reminder', issue: probe, old: null, new: null, at: '' }] })).toBe('still open: example.org: probes failing: round trip 3 of 3 lost');
  });

  it('the webhook body has one object per change with the fields receivers need', () => {
    const body = renderWebhook({ ...digest, entries: [...digest.entries, { change: 'opened', issue: gmailBlock, old: null, new: { state: 'blocked', severity: 'problem' }, at: 'x' }] }, { publicUrl: 'https://m.example.com/' });
    expect(body.changes).toHaveLength(4);
    expect(body.changes[0]).toEqual({
      change: 'opened',
      kind: 'listing',
      issueId: zenListing.id,
      host: 'mta2',
      ip: '192.0.2.7',
      domain: null,
      zone: 'zen.spamhaus.org',
      provider: null,
      old: null,
      new: { state: zenListing.state, severity: 'problem' },
      severity: 'problem',
      detail: zenListing.detail,
      firstSeen: zenListing.firstSeen,
      at: '2026-03-01T10:10:00.000Z',
      delistUrl: 'https://check.spamhaus.org/listed/?searchterm=192.0.2.7',
      dashboardUrl: 'https://m.example.com/host/mta2',
      acknowledgedBy: null,
    });
    expect(body.changes[1]!.acknowledgedBy).toBe('alice');
    expect(body.changes[3]).toMatchObject({ kind: 'block', provider: 'gmail', detail: gmailBlock.detail });
  });

  it('never turns a non-http link into a link', () => {
    const evil = { ...zenListing, links: { removal: 'javascript:alert(1)' } };
    const e = renderEmail({ ...digest, entries: [{ ...digest.entries[0]!, issue: evil }] }, { publicUrl: 'https://m.example.com/' });
    expect(e.html).not.toContain('javascript:');
    expect(e.html).toContain('&lt;script&gt;');
  });
});

describe('e-mail transport (real SMTP server)', () => {
  let sink: SmtpSink;
  let hook: WebhookReceiver;
  beforeAll(async () => {
    sink = await startSmtpSink();
    hook = await startWebhookReceiver(secret);
  });
  afterAll(async () => {
    await sink.close();
    await hook.close();
  });

  it('sends HTML and plain text, grouped by host and domain, with dashboard links, meanings, reasons and delist URLs', async () => {
    const config = alertConfig(sink.port, hook.url);
    const d: Digest = { ...digest, entries: [...digest.entries, { change: 'opened', issue: gmailBlock, old: null, new: { state: 'blocked', severity: 'problem' }, at: 'x' }, { change: 'opened', issue: probe, old: null, new: { state: probe.state, severity: 'problem' }, at: 'x' }] };
    const before = sink.mails.length;
    const result = await sendOn(config, 'email', renderFor(channelsOf(config)[0]!, d, config), 'abc-1:email');
    expect(result).toMatch(/^250/);
    expect(sink.mails.length).toBe(before + 1);
    const m = sink.mails.at(-1)!;
    expect(m.subject).toBe('mta2: listed on zen.spamhaus.org, blocked by gmail; 1 more new; 2 resolved');
    expect(m.from?.text).toBe('mtarep@mon.example.com');
    expect(sink.envelopes.at(-1)!.to).toEqual(['ops@example.com', 'noc@example.com']);
    expect(m.messageId).toBe('<abc-1:email@mon.example.com>');
    const text = m.text ?? '';
    // Grouped: host mta1, host mta2, domain example.org, each once, hosts before domains.
    const order = ['Host mta1', 'Host mta2', 'Domain example.org'].map((h) => text.indexOf(h));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(text).toContain('NEW: listed on zen.spamhaus.org');
    expect(text).toContain('now: listed: 127.0.0.2 SBL (Spamhaus SBL) (problem)');
    expect(text).toContain('reason: Listed by SBL, see https://check.spamhaus.org/sbl/query/SBL12345');
    expect(text).toContain('delist: https://check.spamhaus.org/listed/?searchterm=192.0.2.7');
    expect(text).toContain('rejection: 550-5.7.1 [192.0.2.7] Our system has detected');
    expect(text).toContain('RESOLVED: delisted from bl.spamcop.net');
    expect(text).toContain('acknowledged by: alice');
    expect(text).toContain('dashboard: https://mtarep.example.com/host/mta2');
    expect(text).toContain('dashboard: https://mtarep.example.com/events?domain=example.org');
    const html = String(m.html);
    expect(html).toContain('<a href="https://mtarep.example.com/host/mta2">');
    expect(html).toContain('<a href="https://check.spamhaus.org/listed/?searchterm=192.0.2.7">');
    expect(html).toContain('SBL12345 &lt;script&gt;');
    expect(html).not.toContain('<script>');
  });

  it('logs in when user and password are set, and the password never appears in an error', async () => {
    const authed = await startSmtpSink({ auth: { user: 'mtarep', pass: 'S3cret-smtp-pass' } });
    try {
      const ok = configFrom({ alerts: { email: { to: ['ops@example.com'], from: 'mtarep@mon.example.com', smtp: { port: authed.port, tls: 'none', user: 'mtarep', password: 'S3cret-smtp-pass' } } } });
      const [r] = await sendTests(ok, new Date('2026-03-01T10:00:00Z'));
      expect(r).toMatchObject({ ok: true });
      expect(authed.logins).toEqual(['mtarep']);
      expect(authed.mails[0]!.subject).toBe('mtarep test alert');
      expect(secretsOf(ok)).toContain('S3cret-smtp-pass');
      const bad = configFrom({ alerts: { email: { to: ['ops@example.com'], from: 'mtarep@mon.example.com', smtp: { port: authed.port, tls: 'none', user: 'mtarep', password: 'wrong-password-xyz' } } } });
      const [f] = await sendTests(bad, new Date());
      expect(f!.ok).toBe(false);
      expect(f!.message).toMatch(/SMTP 127\.0\.0\.1:\d+: .*Invalid/);
      expect(f!.message).not.toContain('wrong-password-xyz');
    } finally {
      await authed.close();
    }
  });

  it('a refused or unreachable server is a DeliveryError: 4xx and no connection retryable, 5xx permanent', async () => {
    const config = alertConfig(sink.port, hook.url);
    const msg = renderFor(channelsOf(config)[0]!, digest, config);
    sink.refuse(451);
    await expect(sendOn(config, 'email', msg, 'x1')).rejects.toMatchObject({ name: 'DeliveryError', permanent: false });
    sink.refuse(554);
    await expect(sendOn(config, 'email', msg, 'x2')).rejects.toMatchObject({ permanent: true });
    sink.refuse(null);
    const down = alertConfig(await freePort(), hook.url);
    const err = await sendOn(down, 'email', msg, 'x3').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).permanent).toBe(false);
    expect((err as Error).message).toMatch(/connection refused/);
  });
});

describe('webhook transport (real HTTP server)', () => {
  let hook: WebhookReceiver;
  beforeAll(async () => {
    hook = await startWebhookReceiver(secret);
  });
  afterAll(async () => {
    await hook.close();
  });
  const noSleep = { sleep: async () => {} };

  it('POSTs JSON signed with HMAC-SHA256 of the body, with a timestamp and a delivery id', async () => {
    const config = alertConfig(1, hook.url);
    const ch = channelsOf(config)[1]!;
    expect(ch.label).toMatch(/^webhook http:\/\/127\.0\.0\.1:\d+\/…$/);
    const now = new Date('2026-03-01T10:20:00Z');
    const r = await sendOn(config, ch.id, renderFor(ch, digest, config), 'abc-1:' + ch.id, { now: () => now });
    expect(r).toBe('HTTP 200');
    const got = hook.accepted.at(-1)!;
    expect(got.verified).toBe(true);
    expect(got.signature).toBe(signBody(got.body, secret));
    expect(got.signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(got.timestamp).toBe(String(now.getTime() / 1000));
    expect(got.delivery).toBe('abc-1:' + ch.id);
    const body = got.json as WebhookBody;
    expect(body.type).toBe('alert');
    expect(body.changes.map((c) => c.change)).toEqual(['opened', 'resolved', 'resolved']);
    expect(verifySignature(got.body + ' ', secret, got.signature)).toBe(false);
    expect(verifySignature(got.body, 'another-secret-000', got.signature)).toBe(false);
  });

  it('retries 5xx and timeouts with backoff; a 4xx is permanent; success after a 500 is delivered once', async () => {
    const config = alertConfig(1, hook.url);
    const ch = channelsOf(config)[1]!;
    const msg = renderFor(ch, digest, config);
    const waits: number[] = [];
    const before = hook.requests.length;
    hook.answer(500);
    const err = await sendOn(config, ch.id, msg, 'd1', { webhook: { attempts: 3, sleep: async (ms) => void waits.push(ms) } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'DeliveryError', permanent: false });
    expect((err as Error).message).toBe(`webhook ${ch.label.replace('webhook ', '')}: HTTP 500 (after 3 attempts)`);
    expect(hook.requests.length - before).toBe(3);
    expect(waits).toEqual([1000, 4000]);

    hook.answer(400);
    await expect(sendOn(config, ch.id, msg, 'd2', { webhook: noSleep })).rejects.toMatchObject({ permanent: true });
    expect(hook.requests.length - before).toBe(4); // a 400 is not retried

    hook.answer('hang');
    const short = alertConfig(1, hook.url, {}, 1000);
    const t = await sendOn(short, ch.id, msg, 'd3', { webhook: { attempts: 2, ...noSleep } }).catch((e: Error) => e.message);
    expect(t).toMatch(/no answer within 1000 ms \(after 2 attempts\)/);

    hook.answer(200);
    const accepted = hook.accepted.length;
    await expect(sendOn(config, ch.id, msg, 'd4', { webhook: noSleep })).resolves.toBe('HTTP 200');
    expect(hook.accepted.length).toBe(accepted + 1);
  });

  it('the test message says it is a test, on every configured channel', async () => {
    const sink = await startSmtpSink();
    try {
      const config = alertConfig(sink.port, hook.url);
      const results = await sendTests(config, new Date('2026-03-01T11:00:00Z'));
      expect(results.map((r) => [r.channel.type, r.ok])).toEqual([
        ['email', true],
        ['webhook', true],
      ]);
      expect(sink.mails.at(-1)!.text).toContain('This is a test alert from mtarep');
      expect((hook.accepted.at(-1)!.json as WebhookBody).type).toBe('test');
      // Secrets of the webhook are known to the logger's scrubber.
      expect(secretsOf(config)).toContain(secret);
    } finally {
      await sink.close();
    }
  });
});
