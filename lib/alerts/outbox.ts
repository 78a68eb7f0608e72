/**
 * The alert outbox in Redis: every message is queued per channel (`<digest>:<channel>`) in the same
 * transaction that records the engine's new state, then delivered from here. A delivery that fails
 * is kept and retried with backoff until it goes or expires; an id that was delivered once is never
 * queued or sent again. Every outcome (sent, retrying, failed, expired) is appended to the delivery log
 * that the Events page shows as `notified`, and a failure is logged: nothing is lost silently.
 */
import * as z from 'zod';
import type { Keys } from '../keys.js';
import type { Logger } from '../log.js';
import { execChecked, type Redis } from '../redis.js';
import type { Channel, Rendered } from './channels.js';
import { DeliveryError } from './errors.js';
import type { AlertEntry, Digest } from './state.js';

/** How long an undeliverable message is kept and retried (2 days). */
export const outboxExpireS = 2 * 86400;
/** Delivery records kept in the log stream (approximately). */
export const deliveryLogLength = 10_000;
const deliveredKeepMs = 30 * 86400 * 1000;

/** What a timeline needs about each change of a message, to filter by host, domain and kind. */
export interface ChangeRef {
  change: AlertEntry['change'];
  issueId: string;
  kind: string;
  host?: string;
  domain?: string;
  zone?: string;
  provider?: string;
}

export interface OutboxItem {
  id: string;
  digestId: string;
  channel: string;
  channelLabel: string;
  subject: string;
  changes: ChangeRef[];
  message: Rendered;
  createdAt: string;
  expiresAt: string;
  attempts: number;
  nextAttemptAt: string;
  lastError?: string;
}

export type DeliveryStatus = 'sent' | 'retrying' | 'failed' | 'expired';

export interface DeliveryRecord {
  at: string;
  status: DeliveryStatus;
  itemId: string;
  digestId: string;
  channel: string;
  channelLabel: string;
  subject: string;
  changes: ChangeRef[];
  attempts: number;
  /** The server's answer (sent) or the error (others). Never holds a secret. */
  result: string;
  /** A test message sent from the dashboard (`by`: who pressed the button), not an alert. */
  test?: true;
  by?: string;
}

const changeRef = z.object({
  change: z.string(),
  issueId: z.string(),
  kind: z.string(),
  host: z.string().optional(),
  domain: z.string().optional(),
  zone: z.string().optional(),
  provider: z.string().optional(),
});
const rendered = z.union([
  z.object({ type: z.literal('email'), email: z.object({ subject: z.string(), text: z.string(), html: z.string() }) }),
  z.object({ type: z.literal('webhook'), body: z.string() }),
]);
const itemSchema = z.object({
  id: z.string(),
  digestId: z.string(),
  channel: z.string(),
  channelLabel: z.string(),
  subject: z.string(),
  changes: z.array(changeRef),
  message: rendered,
  createdAt: z.string(),
  expiresAt: z.string(),
  attempts: z.number(),
  nextAttemptAt: z.string(),
  lastError: z.string().optional(),
});
const recordSchema = z.object({
  at: z.string(),
  status: z.enum(['sent', 'retrying', 'failed', 'expired']),
  itemId: z.string(),
  digestId: z.string(),
  channel: z.string(),
  channelLabel: z.string(),
  subject: z.string(),
  changes: z.array(changeRef),
  attempts: z.number(),
  result: z.string(),
  test: z.literal(true).optional(),
  by: z.string().optional(),
});

/** An outbox item as stored, or null when it is not one. */
export function parseOutboxItem(text: string): OutboxItem | null {
  try {
    return itemSchema.parse(JSON.parse(text)) as OutboxItem;
  } catch {
    return null;
  }
}

/** A delivery record as stored in the log (field `e`), or null when it is not one. */
export function parseDeliveryRecord(text: string | undefined): DeliveryRecord | null {
  try {
    return recordSchema.parse(JSON.parse(text ?? '')) as DeliveryRecord;
  } catch {
    return null;
  }
}

/**
 * Append a delivery record to the log as part of `multi`, and bump the data version: the overview's
 * "notifications failing" line and the Events page change with every outcome.
 */
export function appendRecord(multi: ReturnType<Redis['multi']>, k: Keys, r: DeliveryRecord): ReturnType<Redis['multi']> {
  return multi.xadd(k.alertsLog, 'MAXLEN', '~', String(deliveryLogLength), '*', 'e', JSON.stringify(r)).incr(k.dataVersion);
}

export function changeRefs(d: Digest): ChangeRef[] {
  return d.entries.map((e) => {
    const i = e.issue;
    return {
      change: e.change,
      issueId: i.id,
      kind: i.kind,
      ...(i.host !== undefined ? { host: i.host } : {}),
      ...(i.domain !== undefined ? { domain: i.domain } : {}),
      ...(i.zone !== undefined ? { zone: i.zone } : {}),
      ...(i.provider !== undefined ? { provider: i.provider } : {}),
    };
  });
}

/** The outbox item of a digest on a channel (not yet stored). */
export function outboxItem(d: Digest, ch: Channel, message: Rendered, subject: string, now: Date): OutboxItem {
  return {
    id: `${d.id}:${ch.id}`,
    digestId: d.id,
    channel: ch.id,
    channelLabel: ch.label,
    subject,
    changes: changeRefs(d),
    message,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + outboxExpireS * 1000).toISOString(),
    attempts: 0,
    nextAttemptAt: now.toISOString(),
  };
}

/*
 * KEYS[1] outbox hash, KEYS[2] delivered zset; ARGV[1] item id, ARGV[2] item JSON.
 * Queues the item unless it is queued already or was delivered: returns 1 when queued, 0 when not.
 */
const enqueueScript = `if redis.call('zscore', KEYS[2], ARGV[1]) then return 0 end
return redis.call('hsetnx', KEYS[1], ARGV[1], ARGV[2])`;

/** Add the queueing of `items` to a transaction (the engine's state write goes in the same MULTI). */
export function queueInto(multi: ReturnType<Redis['multi']>, k: Keys, items: readonly OutboxItem[]): void {
  for (const it of items) multi.eval(enqueueScript, 2, k.alertsOutbox, k.alertsDelivered, it.id, JSON.stringify(it));
}

/** Wait after the n-th failed attempt: 30 s, 1 min, 2 min ... at most 30 min. */
export function retryDelayMs(attempts: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 30 * 60_000);
}

export interface DeliverySummary {
  sent: number;
  retrying: number;
  failed: number;
  expired: number;
}

export class Outbox {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
    private readonly log: Logger,
  ) {}

  /** Every queued item, oldest first. A corrupt entry is reported and removed (it cannot be sent). */
  async pending(): Promise<OutboxItem[]> {
    const all = await this.redis.hgetall(this.k.alertsOutbox);
    const out: OutboxItem[] = [];
    for (const [id, text] of Object.entries(all)) {
      try {
        out.push(itemSchema.parse(JSON.parse(text)) as OutboxItem);
      } catch (e) {
        this.log.error('alert outbox: corrupt entry removed', { id, error: (e as Error).message.slice(0, 300) });
        await this.redis.hdel(this.k.alertsOutbox, id);
      }
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  private async record(multi: ReturnType<Redis['multi']>, r: DeliveryRecord): Promise<void> {
    appendRecord(multi, this.k, r);
    await execChecked(multi, `alert outbox ${r.status}`);
  }

  /**
   * Try every item that is due at `now`. `send` delivers one item (throws DeliveryError). Items are
   * tried one at a time per channel, channels side by side.
   */
  async deliverDue(now: Date, send: (item: OutboxItem) => Promise<string>): Promise<DeliverySummary> {
    const sum: DeliverySummary = { sent: 0, retrying: 0, failed: 0, expired: 0 };
    const due = (await this.pending()).filter((i) => Date.parse(i.nextAttemptAt) <= now.getTime());
    const byChannel = new Map<string, OutboxItem[]>();
    for (const it of due) byChannel.set(it.channel, [...(byChannel.get(it.channel) ?? []), it]);
    await Promise.all(
      [...byChannel.values()].map(async (items) => {
        for (const it of items) await this.deliverOne(it, now, send, sum);
      }),
    );
    return sum;
  }

  private async deliverOne(it: OutboxItem, now: Date, send: (item: OutboxItem) => Promise<string>, sum: DeliverySummary): Promise<void> {
    const base = { itemId: it.id, digestId: it.digestId, channel: it.channel, channelLabel: it.channelLabel, subject: it.subject, changes: it.changes };
    const attempts = it.attempts + 1;
    let result: string;
    try {
      result = await send(it);
    } catch (e) {
      const why = (e as Error).message;
      const permanent = e instanceof DeliveryError ? e.permanent : false;
      const at = now.toISOString();
      if (permanent || now.getTime() + retryDelayMs(attempts) > Date.parse(it.expiresAt)) {
        const status = permanent ? 'failed' : 'expired';
        sum[status] += 1;
        this.log.error(`alert not delivered: ${status}`, { channel: it.channelLabel, item: it.id, subject: it.subject, attempts, error: why });
        await this.record(this.redis.multi().hdel(this.k.alertsOutbox, it.id), { ...base, at, status, attempts, result: why });
        return;
      }
      sum.retrying += 1;
      const next: OutboxItem = { ...it, attempts, lastError: why, nextAttemptAt: new Date(now.getTime() + retryDelayMs(attempts)).toISOString() };
      this.log.warn('alert delivery failed; will retry', { channel: it.channelLabel, item: it.id, attempts, next: next.nextAttemptAt, error: why });
      await this.record(this.redis.multi().hset(this.k.alertsOutbox, it.id, JSON.stringify(next)), { ...base, at, status: 'retrying', attempts, result: why });
      return;
    }
    sum.sent += 1;
    this.log.info('alert delivered', { channel: it.channelLabel, item: it.id, subject: it.subject, attempts, result });
    const t = now.getTime();
    await this.record(
      this.redis
        .multi()
        .hdel(this.k.alertsOutbox, it.id)
        .zadd(this.k.alertsDelivered, t, it.id)
        .zremrangebyscore(this.k.alertsDelivered, '-inf', t - deliveredKeepMs),
      { ...base, at: now.toISOString(), status: 'sent', attempts, result },
    );
  }
}

/**
 * Delivery records newest first: the newest `count`, of those only the ones at or after `since`
 * (by the record's own time, the mtarep clock, not the stream id's server clock).
 */
export async function readDeliveries(redis: Redis, k: Keys, count: number, since?: Date): Promise<{ records: DeliveryRecord[]; corrupt: number }> {
  const rows = (await redis.xrevrange(k.alertsLog, '+', '-', 'COUNT', count)) as [string, string[]][];
  const records: DeliveryRecord[] = [];
  let corrupt = 0;
  for (const [, fields] of rows) {
    const i = fields.indexOf('e');
    const r = i === -1 ? null : parseDeliveryRecord(fields[i + 1]);
    if (r === null) corrupt += 1;
    else if (since === undefined || Date.parse(r.at) >= since.getTime()) records.push(r);
  }
  return { records, corrupt };
}
