/**
 * The outbox against a real Redis and real receivers: a message that cannot be delivered is kept and
 * retried until it goes (exactly once) or expires; nothing is lost silently, nothing is sent twice.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { channelsOf, renderFor, sendOn } from '../../lib/alerts/channels.js';
import { subjectOf } from '../../lib/alerts/message.js';
import { Outbox, outboxExpireS, outboxItem, queueInto, readDeliveries, retryDelayMs, type OutboxItem } from '../../lib/alerts/outbox.js';
import type { Digest } from '../../lib/alerts/state.js';
import { keys } from '../../lib/keys.js';
import { execChecked } from '../../lib/redis.js';
import { configFrom } from '../helpers/collector-config.js';
import { captureLog } from '../helpers/capture-log.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const secret = 'outbox-secret-0123456789';
const t0 = Date.parse('2026-03-01T10:00:00Z');
const at = (s: number) => new Date(t0 + s * 1000);

const digest: Digest = {
  id: 'd-1',
  createdAt: at(0).toISOString(),
  entries: [
    {
      change: 'opened',
      issue: { id: 'rbl:zen.spamhaus.org:192.0.2.7', kind: 'listing', severity: 'problem', source: 'reputation', host: 'mta2', ip: '192.0.2.7', zone: 'zen.spamhaus.org', state: 'listed: 127.0.0.2', firstSeen: at(0).toISOString(), lastSeen: at(0).toISOString() },
      old: null,
      new: { state: 'listed: 127.0.0.2', severity: 'problem' },
      at: at(0).toISOString(),
    },
  ],
};

describe('alert outbox', () => {
  let r: TestRedis;
  let sink: SmtpSink;
  let hook: WebhookReceiver;
  beforeAll(async () => {
    r = await testRedis();
    sink = await startSmtpSink();
    hook = await startWebhookReceiver(secret);
  });
  afterAll(async () => {
    await sink.close();
    await hook.close();
    await r.close();
  });
  beforeEach(async () => {
    await r.redis.flushdb();
    hook.answer(200);
    sink.refuse(null);
    if (sink.mails.length === 0) return;
    sink.mails.length = 0;
  });

  const setup = () => {
    const config = configFrom({
      alerts: {
        email: { to: ['ops@example.com'], from: 'mtarep@mon.example.com', smtp: { port: sink.port, tls: 'none', timeout_ms: 30_000 } },
        webhooks: [{ url: hook.url, secret, timeout_ms: 30_000 }],
      },
    });
    const k = keys(r.prefix);
    const log = captureLog();
    const cap = { log, get lines() { return log.lines.map((l) => JSON.parse(l) as Record<string, unknown>); } };
    const outbox = new Outbox(r.redis, k, log);
    const items = channelsOf(config).map((ch) => outboxItem(digest, ch, renderFor(ch, digest, config), subjectOf(digest), at(0)));
    const send = (it: OutboxItem) => sendOn(config, it.channel, it.message, it.id, { webhook: { attempts: 1 } });
    const queue = async (list: OutboxItem[]) => {
      const m = r.redis.multi();
      queueInto(m, k, list);
      return execChecked(m, 'queue');
    };
    return { config, k, cap, outbox, items, send, queue };
  };

  it('receiver down, then up: retried with backoff, delivered exactly once per channel, every outcome recorded', async () => {
    const { k, cap, outbox, items, send, queue } = setup();
    expect(await queue(items)).toEqual([1, 1]);
    expect(await queue(items)).toEqual([0, 0]); // queued twice = queued once

    await sink.stop();
    hook.answer(500);
    expect(await outbox.deliverDue(at(0), send)).toEqual({ sent: 0, retrying: 2, failed: 0, expired: 0 });
    let pending = await outbox.pending();
    expect(pending.map((p) => [p.channel, p.attempts, p.nextAttemptAt])).toEqual(
      items.map((i) => [i.channel, 1, at(30).toISOString()]).sort(),
    );
    expect(pending.find((p) => p.channel === 'email')!.lastError).toMatch(/connection refused/);
    expect(cap.lines.filter((l) => l.msg === 'alert delivery failed; will retry')).toHaveLength(2);

    // Not due yet: nothing is tried.
    expect(await outbox.deliverDue(at(29), send)).toEqual({ sent: 0, retrying: 0, failed: 0, expired: 0 });
    expect(await outbox.deliverDue(at(30), send)).toMatchObject({ retrying: 2 });
    pending = await outbox.pending();
    expect(pending.every((p) => p.attempts === 2 && p.nextAttemptAt === at(90).toISOString())).toBe(true);

    await sink.start();
    hook.answer(200);
    expect(await outbox.deliverDue(at(90), send)).toEqual({ sent: 2, retrying: 0, failed: 0, expired: 0 });
    expect(await outbox.pending()).toEqual([]);
    expect(sink.mails).toHaveLength(1);
    expect(hook.accepted).toHaveLength(1);
    expect(hook.accepted[0]!.delivery).toBe(`d-1:${items[1]!.channel}`);

    // Later rounds send nothing more, and the same item can never be queued again.
    expect(await outbox.deliverDue(at(3600), send)).toEqual({ sent: 0, retrying: 0, failed: 0, expired: 0 });
    expect(await queue(items)).toEqual([0, 0]);
    expect(sink.mails).toHaveLength(1);
    expect(hook.accepted).toHaveLength(1);

    const log = await readDeliveries(r.redis, k, 100);
    expect(log.records.map((x) => `${x.channel}:${x.status}:${x.attempts}`).sort()).toEqual(
      ['email:retrying:1', 'email:retrying:2', 'email:sent:3', `${items[1]!.channel}:retrying:1`, `${items[1]!.channel}:retrying:2`, `${items[1]!.channel}:sent:3`].sort(),
    );
    expect((await readDeliveries(r.redis, k, 100, at(60))).records.map((x) => x.status)).toEqual(['sent', 'sent']);
  });

  it('a message that cannot go before it expires is dropped loudly: logged as an error and recorded as expired', async () => {
    const { k, cap, outbox, items, send, queue } = setup();
    await queue(items.slice(1));
    hook.answer(503);
    let t = 0;
    let rounds = 0;
    for (;;) {
      const s = await outbox.deliverDue(at(t), send);
      rounds++;
      if (s.expired > 0) break;
      expect(s.retrying).toBe(1);
      t += retryDelayMs(rounds) / 1000;
      expect(t).toBeLessThan(outboxExpireS + 3600);
    }
    expect(await outbox.pending()).toEqual([]);
    expect(cap.lines.find((l) => l.level === 'error')).toMatchObject({ msg: 'alert not delivered: expired', item: items[1]!.id });
    const recs = (await readDeliveries(r.redis, k, 1000)).records;
    expect(recs[0]).toMatchObject({ status: 'expired', result: expect.stringMatching(/HTTP 503/) });
    expect(recs.filter((x) => x.status === 'retrying')).toHaveLength(rounds - 1);
  });

  it('a permanent refusal (5xx from SMTP, 4xx from a webhook) is not retried, and is recorded as failed', async () => {
    const { k, cap, outbox, items, send, queue } = setup();
    await queue(items);
    sink.refuse(554);
    hook.answer(403);
    expect(await outbox.deliverDue(at(0), send)).toEqual({ sent: 0, retrying: 0, failed: 2, expired: 0 });
    expect(await outbox.pending()).toEqual([]);
    expect(cap.lines.filter((l) => l.msg === 'alert not delivered: failed')).toHaveLength(2);
    expect((await readDeliveries(r.redis, k, 10)).records.map((x) => x.status)).toEqual(['failed', 'failed']);
  });

  it('reports and removes a corrupt outbox entry', async () => {
    const { k, cap, outbox } = setup();
    await r.redis.hset(k.alertsOutbox, 'x:email', '{"id":');
    expect(await outbox.pending()).toEqual([]);
    expect(await r.redis.hlen(k.alertsOutbox)).toBe(0);
    expect(cap.lines.find((l) => l.level === 'error')!.msg).toBe('alert outbox: corrupt entry removed');
  });
});
