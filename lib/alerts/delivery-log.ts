/**
 * Reading the alert delivery log (keys.alertsLog) and the outbox for people: notifications by stream
 * range and filters (the Events timeline), what is undelivered or failed lately (the overview's line
 * and the Events page), and the records of test messages sent from the dashboard. Only the outbox
 * itself (lib/alerts/outbox.ts) delivers; nothing here removes or changes a queued item.
 */
import type { Keys } from '../keys.js';
import { scrub } from '../log.js';
import { execChecked, type Redis } from '../redis.js';
import type { TestResult } from './channels.js';
import { appendRecord, parseDeliveryRecord, parseOutboxItem, type DeliveryRecord, type OutboxItem } from './outbox.js';

/** A delivery record with its log stream id (`<ms>-<seq>`, the Redis server's clock). */
export interface StoredDelivery {
  id: string;
  record: DeliveryRecord;
}

export interface NotificationQuery {
  /** Exclusive lower / upper stream id bounds; `since` is an inclusive lower bound in time (stream clock). */
  after?: string;
  since?: Date;
  before?: string;
  /** Only messages with a change about this host / domain / of one of these issue kinds (test messages have none). */
  host?: string;
  domain?: string;
  kinds?: readonly string[];
  limit: number;
  newestFirst: boolean;
}

function matches(r: DeliveryRecord, q: NotificationQuery): boolean {
  if (q.host === undefined && q.domain === undefined && q.kinds === undefined) return true;
  return r.changes.some(
    (c) => (q.host === undefined || c.host === q.host) && (q.domain === undefined || c.domain === q.domain) && (q.kinds === undefined || q.kinds.includes(c.kind)),
  );
}

/** Delivery records in a stream range, filtered; at most `limit`. An unreadable entry is skipped. */
export async function readNotifications(redis: Redis, k: Keys, q: NotificationQuery): Promise<StoredDelivery[]> {
  const low = q.after !== undefined ? `(${q.after}` : q.since !== undefined ? `${q.since.getTime()}-0` : '-';
  const high = q.before !== undefined ? `(${q.before}` : '+';
  const page = Math.max(100, Math.min(q.limit, 1000));
  const out: StoredDelivery[] = [];
  let cursor = q.newestFirst ? high : low;
  for (;;) {
    const rows = (q.newestFirst
      ? await redis.xrevrange(k.alertsLog, cursor, low, 'COUNT', page)
      : await redis.xrange(k.alertsLog, cursor, high, 'COUNT', page)) as [string, string[]][];
    for (const [id, fields] of rows) {
      const i = fields.indexOf('e');
      const r = i === -1 ? null : parseDeliveryRecord(fields[i + 1]);
      if (r !== null && matches(r, q)) {
        out.push({ id, record: r });
        if (out.length >= q.limit) return out;
      }
    }
    if (rows.length < page) return out;
    cursor = `(${rows[rows.length - 1]![0]}`;
  }
}

export interface AlertHealth {
  /** Everything still in the outbox, oldest first (attempts 0 = not tried yet). */
  pending: OutboxItem[];
  /** Alert messages given up on (failed, expired) within the window, newest first. Tests excluded. */
  failures: DeliveryRecord[];
  /** Outbox entries that cannot be read (the outbox reports and drops them on its next step). */
  corrupt: number;
}

/** How far back "failed lately" looks (24 h, by the records' own time). */
export const failureWindowMs = 86_400_000;

/** How many of the newest delivery records are looked at for failures. */
const failureScan = 500;

/** What the outbox holds now and what failed within `failureWindowMs` of `now`: one round trip. */
export async function readAlertHealth(redis: Redis, k: Keys, now: Date): Promise<AlertHealth> {
  const res = await redis.pipeline().hgetall(k.alertsOutbox).xrevrange(k.alertsLog, '+', '-', 'COUNT', failureScan).exec();
  const failed = res?.find(([e]) => e !== null);
  if (!res || failed) throw failed?.[0] ?? new Error('reading the alert outbox: no answer');
  const raw = (res[0]![1] ?? {}) as Record<string, string>;
  const since = now.getTime() - failureWindowMs;
  const records: DeliveryRecord[] = [];
  for (const [, fields] of (res[1]![1] ?? []) as [string, string[]][]) {
    const i = fields.indexOf('e');
    const r = i === -1 ? null : parseDeliveryRecord(fields[i + 1]);
    if (r !== null && Date.parse(r.at) >= since) records.push(r);
  }
  const pending: OutboxItem[] = [];
  let corrupt = 0;
  for (const text of Object.values(raw)) {
    const it = parseOutboxItem(text);
    if (it === null) corrupt += 1;
    else pending.push(it);
  }
  pending.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  const failures = records.filter((r) => (r.status === 'failed' || r.status === 'expired') && r.test !== true);
  return { pending, failures, corrupt };
}

/** The id of a test sent at `at` (the same as the test webhook body's `id`). */
export function testDigestId(at: Date): string {
  return `test-${at.getTime().toString(36)}`;
}

/**
 * Record the results of test messages sent from the dashboard in the delivery log (the timeline shows
 * them as notifications; the overview's failure line ignores them). Results are scrubbed of `secrets`.
 */
export async function recordTests(
  redis: Redis,
  k: Keys,
  results: readonly TestResult[],
  o: { digestId: string; at: Date; by: string; secrets: readonly string[] },
): Promise<DeliveryRecord[]> {
  const records: DeliveryRecord[] = results.map((r) => ({
    at: o.at.toISOString(),
    status: r.ok ? 'sent' : 'failed',
    itemId: `${o.digestId}:${r.channel.id}`,
    digestId: o.digestId,
    channel: r.channel.id,
    channelLabel: r.channel.label,
    subject: 'mtarep test alert',
    changes: [],
    attempts: 1,
    result: scrub(r.message, o.secrets),
    test: true,
    by: o.by,
  }));
  if (records.length === 0) return records;
  const m = redis.multi();
  for (const r of records) appendRecord(m, k, r);
  await execChecked(m, 'recording test alerts');
  return records;
}
