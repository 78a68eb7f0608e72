/**
 * The Events page's and GET /api/events's view models, and the overview's line about undelivered
 * alerts. Pure: the timeline (lib/alerts/timeline.ts), the outbox's health (lib/alerts/delivery-log.ts),
 * the open issues and acknowledgements in; props out. Query parameters are checked here, each bad one
 * named.
 */
import type { Channel } from '../../lib/alerts/channels.js';
import type { AlertHealth } from '../../lib/alerts/delivery-log.js';
import { phrase } from '../../lib/alerts/message.js';
import type { DeliveryRecord } from '../../lib/alerts/outbox.js';
import { timelineTypes, type TimelineItem, type TimelineQuery, type TimelineType } from '../../lib/alerts/timeline.js';
import type { IssueKind, OpenIssue, StoredIssueEvent } from '../../lib/events.js';
import type { Ack } from '../../lib/issues.js';
import type { AlertNotice } from '../../views/alert-notice.js';
import type { EventRow, EventsPageModel, RowLevel, TestResultRow } from '../../views/events.js';
import { ageText, roughDuration, shortTime } from '../../views/format.js';
import { counted } from '../../lib/plural.js';

export type { EventsPageModel } from '../../views/events.js';

/** The issue kinds the filter offers (sources may add others: those are accepted too). */
export const knownKinds: readonly IssueKind[] = [
  'listing',
  'block',
  'dns_mismatch',
  'snds',
  'snds_traps',
  'score',
  'zone_unhealthy',
  'maillog_unreadable',
  'probe_failing',
  'esp_failover',
  'collector_silent',
];

export const pageLimit = 50;
export const apiDefaultLimit = 100;
export const apiMaxLimit = 1000;

export interface EventsParams {
  host?: string;
  domain?: string;
  kinds?: string[];
  types?: TimelineType[];
  before?: string;
  after?: string;
  since?: Date;
  limit: number;
  /** The page's `?test=`: a test just sent. */
  test?: string;
}

export type ParseResult = { ok: true; params: EventsParams } | { ok: false; parameter: string; message: string };

const streamId = /^\d{1,15}-\d{1,15}$/;
const isoTime = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const hostName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const domainName = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/;
const kindName = /^[a-z][a-z0-9_]{0,39}$/;

/**
 * Check the query of the page (`mode: 'page'`: host, domain, kind, type, before, test) or of the API
 * (`mode: 'api'`: also since, limit). An empty value is no filter (what a GET form sends).
 */
export function parseEventsQuery(q: Record<string, string | undefined>, mode: 'page' | 'api'): ParseResult {
  const get = (n: string) => {
    const v = q[n]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const bad = (parameter: string, message: string): ParseResult => ({ ok: false, parameter, message });
  const p: EventsParams = { limit: mode === 'page' ? pageLimit : apiDefaultLimit };
  const host = get('host');
  if (host !== undefined) {
    if (!hostName.test(host)) return bad('host', 'host must be a host name as in mta_map (letters, digits, dot, dash, underscore)');
    p.host = host;
  }
  const domain = get('domain');
  if (domain !== undefined) {
    if (!domainName.test(domain)) return bad('domain', 'domain must be a domain name such as example.org');
    p.domain = domain.toLowerCase();
  }
  const kind = get('kind');
  if (kind !== undefined) {
    const list = kind.split(',').map((s) => s.trim());
    const wrong = list.find((s) => !kindName.test(s));
    if (wrong !== undefined) return bad('kind', `kind must be issue kinds separated by commas (such as ${knownKinds.slice(0, 3).join(', ')}); "${wrong.slice(0, 40)}" is not one`);
    p.kinds = list;
  }
  const type = get('type');
  if (type !== undefined) {
    const list = type.split(',').map((s) => s.trim());
    const wrong = list.find((s) => !(timelineTypes as readonly string[]).includes(s));
    if (wrong !== undefined) return bad('type', `type must be one or more of ${timelineTypes.join(', ')}; "${wrong.slice(0, 40)}" is not one`);
    p.types = list as TimelineType[];
  }
  const before = get('before');
  if (before !== undefined) {
    if (!streamId.test(before)) return bad('before', 'before must be an event id such as 1714564800000-0 (from an "older" link or an item\'s id)');
    p.before = before;
  }
  if (mode === 'page') {
    const test = get('test');
    if (test !== undefined && /^test-[a-z0-9]{1,16}$/.test(test)) p.test = test;
    return { ok: true, params: p };
  }
  const since = get('since');
  if (since !== undefined) {
    if (streamId.test(since)) p.after = since;
    else if (isoTime.test(since) && Number.isFinite(Date.parse(since))) p.since = new Date(since);
    else return bad('since', 'since must be an ISO 8601 time (2024-05-01T12:00:00Z) or an event id such as 1714564800000-0');
  }
  const limit = get('limit');
  if (limit !== undefined) {
    const n = /^\d{1,7}$/.test(limit) ? Number(limit) : NaN;
    if (!(n >= 1 && n <= apiMaxLimit)) return bad('limit', `limit must be a whole number from 1 to ${apiMaxLimit}`);
    p.limit = n;
  }
  return { ok: true, params: p };
}

/** The timeline query of checked parameters. */
export function timelineQuery(p: EventsParams, newestFirst: boolean): TimelineQuery {
  return {
    limit: p.limit,
    newestFirst,
    ...(p.host !== undefined ? { host: p.host } : {}),
    ...(p.domain !== undefined ? { domain: p.domain } : {}),
    ...(p.kinds !== undefined ? { kinds: p.kinds } : {}),
    ...(p.types !== undefined ? { types: p.types } : {}),
    ...(p.before !== undefined ? { before: p.before } : {}),
    ...(p.after !== undefined ? { after: p.after } : {}),
    ...(p.since !== undefined ? { since: p.since } : {}),
  };
}

/** One timeline item as /api/events gives it: the stored shape, with its stream id as `id`. */
export function apiItem(it: TimelineItem): Record<string, unknown> {
  if (it.type === 'notified' && 'record' in it) return { id: it.id, type: 'notified', ...it.record };
  const { streamId: _, ...event } = (it as { event: StoredIssueEvent }).event;
  return { id: it.id, ...event };
}

const sevLevel = (s: OpenIssue['severity']): RowLevel => (s === 'problem' ? 'error' : 'warning');

function placeOf(i: OpenIssue | undefined, source: string, hosts: ReadonlySet<string>): EventRow['place'] {
  if (i?.host !== undefined) return { text: i.host, href: hosts.has(i.host) ? `/host/${encodeURIComponent(i.host)}` : null };
  if (i?.domain !== undefined) return { text: i.domain, href: `/events?domain=${encodeURIComponent(i.domain)}` };
  return { text: i?.zone ?? i?.provider ?? source, href: null };
}

/** A delivery error without the channel's label in front (the channel is shown beside it). */
export function withoutLabel(text: string, label: string): string {
  return text.startsWith(`${label}: `) ? text.slice(label.length + 2) : text;
}

function clip(s: string, n = 300): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function eventRow(e: StoredIssueEvent, id: string, now: Date, hosts: ReadonlySet<string>): EventRow {
  const i = e.issue;
  const base = { id, at: shortTime(e.at), age: ageText(now, e.at), type: e.type, place: placeOf(i, e.source, hosts), kind: i?.kind ?? '' };
  const what = i ? phrase({ change: e.type === 'resolved' ? 'resolved' : 'opened', issue: i, old: null, new: null, at: e.at }) : '';
  switch (e.type) {
    case 'opened':
      return { ...base, typeText: 'opened', level: i ? sevLevel(i.severity) : 'unknown', what, detail: clip([i?.state, i?.detail].filter(Boolean).join(' · ')) };
    case 'changed':
      return {
        ...base,
        typeText: 'changed',
        level: i ? sevLevel(i.severity) : 'unknown',
        what,
        detail: clip(`${e.previous ? `${e.previous.state} (${e.previous.severity}) → ` : ''}${i ? `${i.state} (${i.severity})` : ''}`),
      };
    case 'resolved':
      return { ...base, typeText: 'resolved', level: 'ok', what, detail: clip(i ? `was ${i.state}` : '') };
    case 'acknowledged':
      return { ...base, typeText: 'acknowledged', level: 'ack', what: what || 'an issue no longer open', detail: `by ${e.by ?? 'someone'}` };
    case 'run': {
      const r = e.run;
      const level: RowLevel = r?.status === 'failed' ? 'error' : r?.status === 'partial' ? 'unknown' : 'info';
      const counts = r ? `${r.opened} opened, ${r.changed} changed, ${r.resolved} resolved, ${r.open} open${r.first ? ' (first run: baseline)' : ''}` : '';
      return { ...base, typeText: `run ${r?.status ?? ''}`.trim(), level, what: `${e.source} run`, detail: counts };
    }
    default:
      return { ...base, typeText: e.type, level: 'info', what, detail: i?.state ?? '' };
  }
}

const deliveryLevel: Record<DeliveryRecord['status'], RowLevel> = { sent: 'ok', retrying: 'warning', failed: 'error', expired: 'error' };

function noticeRow(r: DeliveryRecord, id: string, now: Date, hosts: ReadonlySet<string>): EventRow {
  const first = r.changes[0];
  const places = new Set(r.changes.map((c) => c.host ?? c.domain ?? ''));
  const place: EventRow['place'] =
    first && places.size === 1 && (first.host ?? first.domain) !== undefined
      ? placeOf({ host: first.host, domain: first.domain } as OpenIssue, '', hosts)
      : { text: r.test ? 'test' : r.changes.length > 1 ? `${r.changes.length} changes` : 'monitoring', href: null };
  const kinds = [...new Set(r.changes.map((c) => c.kind))];
  const outcome = r.status === 'sent' ? 'delivered' : r.status === 'retrying' ? `not delivered, will retry (attempt ${r.attempts})` : `${r.status} after ${counted(r.attempts, 'attempt')}`;
  return {
    id,
    at: shortTime(r.at),
    age: ageText(now, r.at),
    type: 'notified',
    typeText: `notified: ${r.status}`,
    level: deliveryLevel[r.status],
    place,
    kind: kinds.join(', '),
    what: `${r.test ? `test alert${r.by ? ` (sent by ${r.by})` : ''}` : `“${r.subject}”`} to ${r.channelLabel}`,
    detail: clip(`${outcome}: ${withoutLabel(r.result, r.channelLabel)}`),
  };
}

export interface EventsPageInput {
  params: EventsParams;
  items: TimelineItem[];
  more: boolean;
  health: AlertHealth;
  /** Every source's open issues now, and the acknowledgements. */
  open: ReadonlyMap<string, OpenIssue>;
  acks: ReadonlyMap<string, Ack>;
  channels: readonly Channel[];
  hosts: readonly string[];
  /** Delivery records of the test named by `?test=` (newest first). */
  tests: DeliveryRecord[] | null;
  now: Date;
}

/** `/events?...` with these filters (and `before`, when given). */
export function eventsHref(p: EventsParams, before?: string): string {
  const q = new URLSearchParams();
  if (p.host !== undefined) q.set('host', p.host);
  if (p.domain !== undefined) q.set('domain', p.domain);
  if (p.kinds !== undefined) q.set('kind', p.kinds.join(','));
  if (p.types !== undefined) q.set('type', p.types.join(','));
  if (before !== undefined) q.set('before', before);
  const s = q.toString();
  return s === '' ? '/events' : `/events?${s}`;
}

function testRows(records: DeliveryRecord[]): TestResultRow[] {
  // The newest result per channel (the list is newest first).
  const seen = new Set<string>();
  const out: TestResultRow[] = [];
  for (const r of records) {
    if (seen.has(r.channel)) continue;
    seen.add(r.channel);
    out.push({ channel: r.channelLabel, ok: r.status === 'sent', message: withoutLabel(r.result, r.channelLabel), by: r.by ?? '' });
  }
  return out;
}

export function buildEventsPage(x: EventsPageInput): EventsPageModel {
  const { params: p, now } = x;
  const hosts = new Set(x.hosts);
  const rows: EventRow[] = [];
  const ackShown = new Set<string>();
  for (const it of x.items) {
    if (it.type === 'notified' && 'record' in it) {
      rows.push(noticeRow(it.record, it.id, now, hosts));
      continue;
    }
    const e = (it as { event: StoredIssueEvent }).event;
    const row = eventRow(e, it.id, now, hosts);
    // The newest row of an issue open right now carries its acknowledgement state.
    const id = e.issue?.id;
    if (id !== undefined && x.open.has(id) && !ackShown.has(id)) {
      ackShown.add(id);
      const ack = x.acks.get(id);
      if (ack) row.ackedBy = ack.user;
      else row.ackId = id;
    }
    rows.push(row);
  }
  const last = x.items[x.items.length - 1];
  const filtered = p.host !== undefined || p.domain !== undefined || p.kinds !== undefined || p.types !== undefined;
  return {
    filter: { host: p.host ?? '', domain: p.domain ?? '', kind: p.kinds?.join(',') ?? '', type: p.types?.join(',') ?? '' },
    hosts: [...x.hosts],
    kinds: [...knownKinds],
    types: [...timelineTypes],
    rows,
    olderHref: x.more && last ? eventsHref(p, last.id) : null,
    newestHref: p.before !== undefined ? eventsHref(p) : null,
    pending: x.health.pending.map((it) => ({
      subject: it.subject,
      channel: it.channelLabel,
      attempts: it.attempts,
      lastError: it.lastError !== undefined ? withoutLabel(it.lastError, it.channelLabel) : it.attempts === 0 ? 'not tried yet' : '',
      nextAttempt: ageOrIn(now, it.nextAttemptAt),
      expires: shortTime(it.expiresAt),
      level: it.attempts > 0 ? 'warning' : 'unknown',
    })),
    failures: x.health.failures.map((r) => ({
      at: shortTime(r.at),
      age: ageText(now, r.at),
      subject: r.subject,
      channel: r.channelLabel,
      status: r.status,
      attempts: r.attempts,
      result: withoutLabel(r.result, r.channelLabel),
    })),
    corruptOutbox: x.health.corrupt,
    channels: x.channels.map((c) => ({ id: c.id, label: c.label })),
    tests: x.tests ? testRows(x.tests) : null,
    filtered,
  };
}

function ageOrIn(now: Date, iso: string): string {
  const ms = Date.parse(iso) - now.getTime();
  if (!Number.isFinite(ms)) return iso;
  if (ms <= 0) return 'due now';
  return `in ${roughDuration(ms / 1000)}`;
}

/** An outbox item counts as not getting through once it failed, or waited five minutes untried. */
const stuckAfterMs = 5 * 60_000;

/** The overview's line: null when every alert went out (or is being sent right now). */
export function alertNoticeOf(h: AlertHealth, now: Date): AlertNotice | null {
  const stuck = h.pending.filter((it) => it.attempts > 0 || now.getTime() - Date.parse(it.createdAt) > stuckAfterMs).length;
  const parts: string[] = [];
  if (stuck > 0) parts.push(`${counted(stuck, 'alert notification')} not delivered yet (retrying)`);
  if (h.failures.length > 0) parts.push(`${counted(h.failures.length, 'alert notification')} failed in the last 24 h`);
  if (h.corrupt > 0) parts.push(`${h.corrupt} unreadable outbox entr${h.corrupt === 1 ? 'y' : 'ies'}`);
  if (parts.length === 0) return null;
  return { text: parts.join('; '), level: h.failures.length > 0 || h.corrupt > 0 ? 'error' : 'warning' };
}
