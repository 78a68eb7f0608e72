/**
 * The Events timeline: issue events (keys.events) and notification deliveries (keys.alertsLog) as one
 * list in stream-id order (both streams take their ids from the same Redis server clock), filtered by
 * host, domain, issue kind and type, read one bounded page at a time. The Events page and
 * GET /api/events read it; nothing here writes.
 */
import type { IssueEventType, StoredIssueEvent } from '../events.js';
import { readEvents } from '../issue-store.js';
import type { Keys } from '../keys.js';
import type { Redis } from '../redis.js';
import { readNotifications } from './delivery-log.js';
import type { DeliveryRecord } from './outbox.js';

/** An issue event's type, or `notified` for a delivery record (sent, retrying, failed, expired). */
export type TimelineType = IssueEventType | 'notified';

export const timelineTypes: readonly TimelineType[] = ['opened', 'changed', 'resolved', 'acknowledged', 'notified', 'run'];

/** What the timeline shows unless asked otherwise: everything but the per-run markers (one per source run). */
export const defaultTimelineTypes: readonly TimelineType[] = timelineTypes.filter((t) => t !== 'run');

export type TimelineItem =
  | { id: string; type: IssueEventType; event: StoredIssueEvent }
  | { id: string; type: 'notified'; record: DeliveryRecord };

export interface TimelineQuery {
  /** Exclusive stream id bounds (`after`: what a poller saw last; `before`: the "older" page). */
  after?: string;
  before?: string;
  /** Inclusive lower bound in time (the stream ids' clock). */
  since?: Date;
  host?: string;
  domain?: string;
  kinds?: readonly string[];
  /** Default: defaultTimelineTypes. */
  types?: readonly TimelineType[];
  limit: number;
  /** Newest first (the page) or oldest first (a consumer catching up). */
  newestFirst: boolean;
}

/** Order of two stream ids `<ms>-<seq>`. */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

/**
 * Merge two lists, each already in timeline order, into the first `limit` items of the merged order.
 * Items taken from each list are a prefix of it, so the last item's id is a correct cursor for both;
 * an item of the other list with the very same id as the last one is taken too (a cursor would skip it).
 */
export function mergeTimeline(a: readonly TimelineItem[], b: readonly TimelineItem[], limit: number, newestFirst: boolean): { items: TimelineItem[]; more: boolean } {
  const sign = newestFirst ? -1 : 1;
  const items: TimelineItem[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    const takeA = y === undefined || (x !== undefined && sign * compareStreamIds(x.id, y.id) <= 0);
    const next = takeA ? x! : y!;
    const last = items[items.length - 1];
    if (items.length >= limit && !(last !== undefined && compareStreamIds(last.id, next.id) === 0)) break;
    items.push(next);
    if (takeA) i++;
    else j++;
  }
  return { items, more: i < a.length || j < b.length };
}

/**
 * One page of the timeline: at most `limit` items (plus a same-id twin), and whether there are more
 * beyond it (pass the last item's id as `before` or `after` to read on).
 */
export async function readTimeline(redis: Redis, k: Keys, q: TimelineQuery): Promise<{ items: TimelineItem[]; more: boolean }> {
  const types = q.types ?? defaultTimelineTypes;
  const eventTypes = types.filter((t): t is IssueEventType => t !== 'notified');
  const range = {
    ...(q.after !== undefined ? { after: q.after } : {}),
    ...(q.before !== undefined ? { before: q.before } : {}),
    ...(q.since !== undefined ? { since: q.since } : {}),
  };
  const filters = {
    ...(q.host !== undefined ? { host: q.host } : {}),
    ...(q.domain !== undefined ? { domain: q.domain } : {}),
    ...(q.kinds !== undefined ? { kinds: q.kinds } : {}),
  };
  // One more than asked of each: tells whether there is more.
  const n = q.limit + 1;
  const [events, notes] = await Promise.all([
    eventTypes.length === 0
      ? Promise.resolve([])
      : readEvents(redis, k, {
          ...range,
          ...(filters.host !== undefined ? { host: filters.host } : {}),
          ...(filters.domain !== undefined ? { domain: filters.domain } : {}),
          ...(filters.kinds !== undefined ? { kind: filters.kinds } : {}),
          type: eventTypes,
          limit: n,
          newestFirst: q.newestFirst,
        }),
    types.includes('notified') ? readNotifications(redis, k, { ...range, ...filters, limit: n, newestFirst: q.newestFirst }) : Promise.resolve([]),
  ]);
  const a: TimelineItem[] = events.map((e) => ({ id: e.streamId, type: e.type, event: e }));
  const b: TimelineItem[] = notes.map((d) => ({ id: d.id, type: 'notified', record: d.record }));
  return mergeTimeline(a, b, q.limit, q.newestFirst);
}
