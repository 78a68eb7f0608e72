/**
 * Open issues and the issue-events stream in Redis. Each source's open set is one field of the
 * `issues` hash; a source run replaces its field and appends its events in ONE Lua script that first
 * checks the field is still what the diff was computed from (compare-and-set on its SHA-1), so a
 * retried or crashed run never appends an event twice: either the set and its events are written
 * together, or neither is (and the next run diffs against the old set). A run whose id is already
 * stored is not applied again. Readers for the Events page, `/api/events` and alerting are here too.
 */
import crypto from 'node:crypto';
import type { IssueEvent, OpenIssue, SourceIssues, StoredIssueEvent } from './events.js';
import { diffIssues } from './issue-diff.js';
import type { Keys } from './keys.js';
import type { Redis } from './redis.js';
import { execNamed } from './store/index.js';

/** What the `issues` hash holds per source. */
export interface StoredIssues {
  runId: string;
  at: string;
  issues: OpenIssue[];
}

/*
 * KEYS[1] issues hash, KEYS[2] events stream, KEYS[3] data version.
 * ARGV[1] source (hash field), ARGV[2] SHA-1 of the field's value the diff was computed from ('' =
 * absent), ARGV[3] the new value ('' = leave the field as it is), ARGV[4] stream MAXLEN (approximate), ARGV[5..] events as JSON.
 * Returns 1 when written, 0 when the field changed since it was read (nothing written: read again).
 */
const applyScript = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local sum = ''
if cur then sum = redis.sha1hex(cur) end
if sum ~= ARGV[2] then return 0 end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
for i = 5, #ARGV do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'e', ARGV[i])
end
redis.call('INCR', KEYS[3])
return 1
`;

const sha1 = (s: string) => crypto.createHash('sha1').update(s).digest('hex');

function parseStored(raw: string | null | undefined): StoredIssues | null | 'corrupt' {
  if (raw === null || raw === undefined) return null;
  try {
    const v = JSON.parse(raw) as Partial<StoredIssues>;
    if (typeof v.runId === 'string' && typeof v.at === 'string' && Array.isArray(v.issues)) return v as StoredIssues;
  } catch {
    /* reported below */
  }
  return 'corrupt';
}

export interface ApplyOptions {
  status: 'ok' | 'partial' | 'failed';
  /** Stream bound (`retention.events`). */
  maxLen: number;
  /** Told when the stored set was unreadable and is started over. */
  warn?: (message: string) => void;
}

export interface ApplyResult {
  /** False when this run id was applied before (a retried job): nothing written. */
  applied: boolean;
  events: IssueEvent[];
  open: OpenIssue[];
}

/**
 * Diff a source run's issues against the stored set and write the new set and the events at once.
 * Retries the read-diff-write when another writer changed the field in between.
 */
export async function applySourceIssues(redis: Redis, k: Keys, next: SourceIssues, opts: ApplyOptions): Promise<ApplyResult> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const raw = await redis.hget(k.issues, next.source);
    let prev = parseStored(raw);
    if (prev === 'corrupt') {
      opts.warn?.(`stored open issues of source ${next.source} are unreadable: starting over (this run counts as the first)`);
      prev = null;
    }
    if (prev !== null && prev.runId === next.runId) return { applied: false, events: [], open: prev.issues };
    const diff = diffIssues(prev?.issues ?? [], next, { status: opts.status, first: prev === null });
    // A failed first run stores no set: the next run is still the first (its findings are the state found).
    const keep = prev === null && opts.status === 'failed';
    const value = keep ? '' : JSON.stringify({ runId: next.runId, at: next.at, issues: diff.open } satisfies StoredIssues);
    const ok = await redis.eval(
      applyScript,
      3,
      k.issues,
      k.events,
      k.dataVersion,
      next.source,
      raw === null ? '' : sha1(raw),
      value,
      String(opts.maxLen),
      ...diff.events.map((e) => JSON.stringify(e)),
    );
    if (ok === 1) return { applied: true, events: diff.events, open: diff.open };
  }
  throw new Error(`cannot store the open issues of source ${next.source}: the stored set kept changing`);
}

/** Every source's open issues (an unreadable field is left out and named in `corrupt`). */
export async function readOpenIssues(redis: Redis, k: Keys): Promise<{ bySource: Map<string, StoredIssues>; corrupt: string[] }> {
  const all = await redis.hgetall(k.issues);
  const bySource = new Map<string, StoredIssues>();
  const corrupt: string[] = [];
  for (const [source, raw] of Object.entries(all)) {
    const v = parseStored(raw);
    if (v === 'corrupt') corrupt.push(source);
    else if (v !== null) bySource.set(source, v);
  }
  return { bySource, corrupt };
}

/** The source that owns an acknowledgeable issue id (as lib/issues.ts builds them). */
function sourceOfId(id: string): string {
  if (id.startsWith('rbl:')) return 'reputation';
  if (id.startsWith('block:')) return 'maillog';
  return 'unknown';
}

/**
 * Store an acknowledgement (the acks hash, value `ackValue`) and append its `acknowledged` event in
 * one transaction. The event carries the open issue as stored when there is one.
 */
export async function acknowledgeIssue(
  redis: Redis,
  k: Keys,
  a: { id: string; by: string; at: Date; ackValue: string; maxLen: number },
): Promise<IssueEvent> {
  const { bySource } = await readOpenIssues(redis, k);
  let issue: OpenIssue | undefined;
  for (const s of bySource.values()) {
    issue = s.issues.find((i) => i.id === a.id);
    if (issue) break;
  }
  const event: IssueEvent = {
    type: 'acknowledged',
    at: a.at.toISOString(),
    source: issue?.source ?? sourceOfId(a.id),
    by: a.by,
    ...(issue ? { issue } : {}),
  };
  const m = redis.multi();
  m.hset(k.acks, a.id, a.ackValue);
  m.xadd(k.events, 'MAXLEN', '~', String(a.maxLen), '*', 'e', JSON.stringify(event));
  m.incr(k.dataVersion);
  await execNamed(m, 'acknowledge', (i) => [k.acks, k.events, k.dataVersion][i]);
  return event;
}

export interface EventQuery {
  /** Only entries after this stream id (exclusive): what a poller saw last. */
  after?: string;
  /** Only entries appended at or after this time (by the stream id, i.e. the Redis server's clock). */
  since?: Date;
  /** Only entries before this stream id (exclusive): the "older" page of a timeline. */
  before?: string;
  /** Only events about this host / recipient or probe domain / of these issue kinds / of these event types / of this source. */
  host?: string;
  domain?: string;
  kind?: string | readonly string[];
  type?: IssueEvent['type'] | readonly IssueEvent['type'][];
  source?: string;
  /** At most this many events (default 1000). */
  limit?: number;
  /** Newest first (the timeline) instead of oldest first (a consumer catching up). */
  newestFirst?: boolean;
}

const asList = <T>(v: T | readonly T[] | undefined): readonly T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? (v as readonly T[]) : [v as T]);

function parseEntry(id: string, fields: string[]): StoredIssueEvent | null {
  const i = fields.indexOf('e');
  if (i === -1 || i % 2 !== 0) return null;
  try {
    const e = JSON.parse(fields[i + 1]!) as IssueEvent;
    if (typeof e.type !== 'string' || typeof e.at !== 'string' || typeof e.source !== 'string') return null;
    return { ...e, streamId: id };
  } catch {
    return null;
  }
}

/** Events of the stream, filtered. An entry that is not a readable event is skipped. */
export async function readEvents(redis: Redis, k: Keys, q: EventQuery = {}): Promise<StoredIssueEvent[]> {
  const limit = q.limit ?? 1000;
  const kinds = asList(q.kind);
  const types = asList(q.type);
  const matches = (e: StoredIssueEvent) =>
    (q.host === undefined || e.issue?.host === q.host) &&
    (q.domain === undefined || e.issue?.domain === q.domain) &&
    (kinds === undefined || (e.issue !== undefined && kinds.includes(e.issue.kind))) &&
    (types === undefined || types.includes(e.type)) &&
    (q.source === undefined || e.source === q.source);
  const low = q.after !== undefined ? `(${q.after}` : q.since !== undefined ? `${q.since.getTime()}-0` : '-';
  const high = q.before !== undefined ? `(${q.before}` : '+';
  const out: StoredIssueEvent[] = [];
  const page = Math.max(100, Math.min(limit, 1000));
  let cursor = q.newestFirst ? high : low;
  for (;;) {
    const entries = q.newestFirst
      ? await redis.xrevrange(k.events, cursor, low, 'COUNT', page)
      : await redis.xrange(k.events, cursor, high, 'COUNT', page);
    for (const [id, fields] of entries) {
      const e = parseEntry(id, fields);
      if (e && matches(e)) {
        out.push(e);
        if (out.length >= limit) return out;
      }
    }
    if (entries.length < page) return out;
    const last = entries[entries.length - 1]![0];
    cursor = `(${last}`;
  }
}

/** The id of the newest stream entry ('0-0' when empty): a consumer starting now reads after it. */
export async function lastEventId(redis: Redis, k: Keys): Promise<string> {
  const e = await redis.xrevrange(k.events, '+', '-', 'COUNT', 1);
  return e[0]?.[0] ?? '0-0';
}
