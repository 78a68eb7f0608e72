/**
 * Every Redis key mtarep reads or writes is built here, and nowhere else (BullMQ's queue-keys habit).
 * Everything lives under the configured prefix except the graph counters, whose format
 * `<id>:<YYYYMMDD>:<sent|bounced|expired|fbl|deferred>` is the original mtarep's and is kept exactly so
 * that counters written by Logstash and friends keep working.
 *
 * The README's "Redis schema" section documents each key; keep the two in step.
 */

export const counterTypes = ['sent', 'bounced', 'deferred', 'expired', 'fbl'] as const;
export type CounterType = (typeof counterTypes)[number];

export interface Keys {
  /** STRING JSON `HostRecord` per configured host (resolution, IPs, last run). */
  host(name: string): string;
  /** SET of host names that have a `host(name)` record: how a run finds hosts removed from config (never KEYS). */
  hostIndex: string;
  /** STRING JSON `IpRecord` per MTA IP: every reputation check's result. Replaced whole (atomic SET). */
  ip(ip: string): string;
  /** ZSET per IP: member JSON `HistoryPoint`, score = epoch ms. Trimmed to retention. */
  history(ip: string): string;
  /** STRING JSON `BlocksRecord` per host: provider blocks from the maillog. */
  blocks(name: string): string;
  /** HASH issue id -> "<user> <YYYY-MM-DD HH:MM:SS>" (the original's ack value format). */
  acks: string;
  /** STRING JSON `RunSummary` of the newest finished run. */
  lastRun: string;
  /** LIST of JSON `RunSummary`, newest first, trimmed to `retention.runs`. */
  runs: string;
  /** HASH per host read position: inode, offset, path, updated (see collector/maillog/commit.ts). */
  maillogPosition(host: string): string;
  /** HASH queue id -> JSON {r: recipients still deferred, t: epoch s of the newest deferral} per host: awaiting an `expired` line. */
  maillogQueue(host: string): string;
  /** SET of counter ids mtarep itself writes (external writers are found by SCAN). */
  counterIds: string;
  /** HASH per graph counter: field = recipient domain, value = count (HINCRBY). Not prefixed. */
  counter(id: string, yyyymmdd: string, type: CounterType): string;
  /** SCAN pattern for every counter hash of one day and type (any id). Not prefixed. */
  counterPattern(yyyymmdd: string, type: CounterType): string;
  /** STRING, increments whenever stored data changes; the web layer caches pages per value. */
  dataVersion: string;
  /** HASH source name -> JSON `StoredIssues`: that source's open issues and the run that wrote them (lib/issue-store.ts). */
  issues: string;
  /** STREAM of issue events (`IssueEvent`, field `e`), trimmed with MAXLEN ~ `events.max_len`. */
  events: string;
  /** STRING lock token of one source's run, `SET NX PX`; its owner extends and releases it with compare-and-set scripts. */
  sourceLock(source: string): string;
  /** STRING JSON `RunSummary` of one source's newest finished run; `lastRun` merges them. */
  sourceLastRun(source: string): string;
  /** BullMQ's key prefix (its queues live under `<bullPrefix>:<queue>:...`). */
  bullPrefix: string;
  /** STRING JSON `AlertState` (lib/alerts/state.ts): the events stream position consumed and what was told. */
  alertsState: string;
  /** STRING lock token of the alert engine (one engine step at a time across processes). */
  alertsLock: string;
  /** HASH outbox item id (`<digest>:<channel>`) -> JSON `OutboxItem`: alerts not yet delivered. */
  alertsOutbox: string;
  /** ZSET outbox item id -> epoch ms delivered; an id here is never queued again. Trimmed to 30 days. */
  alertsDelivered: string;
  /** STREAM of delivery records (field `e`, JSON `DeliveryRecord`): sent, retrying, failed, expired. Capped. */
  alertsLog: string;
  /** STRING name of the ESP provider that last worked, `SET ... EX esp.first_working_cache_s`: every process tries it first. */
  espFirstWorking: string;
  /** HASH per ESP provider: last attempt, last success and last failure (time, outcome, answer). */
  espProvider(name: string): string;
  /** LIST of JSON `EspSendRecord` (message + every attempt) of test mails and reports, newest first, trimmed. */
  espSends: string;
  /** LIST of JSON send records of probes sent through the gateway (`probes.via: esp`), newest first, capped: apart, so that a probe round of many domains does not push the test mails and reports out of `espSends`. */
  espProbeSends: string;
  /** STRING JSON {sendId, to, at, headers} per message id a provider returned, with expiry: webhook events find their send (and probe). */
  espMessage(provider: string, messageId: string): string;
  /**
   * SET per provider and UTC day (YYYYMMDD) of the webhook event ids / Mailgun tokens counted, by the
   * day of the signed time that comes with each id (EspEvent.idDay; an event without one: its arrival
   * day), with an expiry renewed at each addition: exactly-once counting and replay refusal.
   */
  espIds(provider: string, yyyymmdd: string): string;
  /** SET per provider and arrival day of the ids counted by versions before `espIds` (read only, while they exist: they expire within 6 days). */
  espSeen(provider: string, yyyymmdd: string): string;
  /** LIST of webhook batches (lib/esp/webhooks/latest.ts: a header line, then the vendor's raw body or JSON `EspEvent[]`), newest first: the ESP page's latest events. */
  espEvents: string;
  /** LIST parallel to `espEvents`: per batch the running total of events pushed up to it, so the list is trimmed by events, not batches. */
  espEventMarks: string;
  /** HASH per day: field `<provider>:<event type>` -> count of webhook events (EXPIRE with the counters). */
  espEventCounts(yyyymmdd: string): string;
  /** HASH probe domain -> JSON `ProbeDomain` (customer, test address, maintenance): lib/probes/domains.ts. */
  probeDomains: string;
  /** HASH probe domain -> JSON `DomainSummary` (counts over the window, last probe, failing), written by each round. */
  probeSummaries: string;
  /** HASH probe token -> JSON `ProbeRecord` (send time and answer, return, bounce): lib/probes/store.ts. */
  probeRecords: string;
  /** ZSET of every stored probe token, score = send time (epoch ms): retention trimming. */
  probeSent: string;
  /** ZSET per probe domain: its probe tokens, score = send time (epoch ms). */
  probeSentByDomain(domain: string): string;
  /** ZSET of probe tokens not yet settled (no return, bounce or send failure), score = send time. */
  probeOpen: string;
  /** HASH per probe domain: date (YYYY-MM-DD, UTC) -> JSON `DayStat`, recomputed from the probes of that day. */
  probeStats(domain: string): string;
  /** HASH IMAP folder -> JSON {uidValidity, lastUid}: where the next receive starts. */
  probeImapPositions: string;
  /** SET of JSON [folder, uidValidity, uid] of matched messages recorded but not yet deleted from the mailbox. */
  probeDeletePending: string;
  /** STRING JSON `ProbeRoundState`: last round, last good mailbox read, the failing set last alerted. */
  probeState: string;
}

/** Key builder for one prefix. Names and IPs go in as-is; callers pass validated host names and IPs. */
export function keys(prefix: string): Keys {
  return {
    host: (name) => `${prefix}host:${name}`,
    hostIndex: `${prefix}hosts`,
    ip: (ip) => `${prefix}ip:${ip}`,
    history: (ip) => `${prefix}history:${ip}`,
    blocks: (name) => `${prefix}blocks:${name}`,
    acks: `${prefix}acks`,
    lastRun: `${prefix}run:last`,
    runs: `${prefix}runs`,
    maillogPosition: (host) => `${prefix}maillog:pos:${host}`,
    maillogQueue: (host) => `${prefix}maillog:queue:${host}`,
    counterIds: `${prefix}counter-ids`,
    counter: (id, day, type) => `${id}:${day}:${type}`,
    counterPattern: (day, type) => `*:${day}:${type}`,
    dataVersion: `${prefix}data-version`,
    issues: `${prefix}issues`,
    events: `${prefix}events`,
    sourceLock: (source) => `${prefix}lock:source:${source}`,
    sourceLastRun: (source) => `${prefix}run:last:${source}`,
    bullPrefix: `${prefix}bull`,
    alertsState: `${prefix}alerts:state`,
    alertsLock: `${prefix}alerts:lock`,
    alertsOutbox: `${prefix}alerts:outbox`,
    alertsDelivered: `${prefix}alerts:delivered`,
    alertsLog: `${prefix}alerts:log`,
    espFirstWorking: `${prefix}esp:first-working`,
    espProvider: (name) => `${prefix}esp:provider:${name}`,
    espSends: `${prefix}esp:sends`,
    espProbeSends: `${prefix}esp:probe-sends`,
    espMessage: (provider, id) => `${prefix}esp:msg:${provider}:${id}`,
    espIds: (provider, day) => `${prefix}esp:ids:${provider}:${day}`,
    espSeen: (provider, day) => `${prefix}esp:seen:${provider}:${day}`,
    espEvents: `${prefix}esp:events`,
    espEventMarks: `${prefix}esp:event-marks`,
    espEventCounts: (day) => `${prefix}esp:event-counts:${day}`,
    probeDomains: `${prefix}probes:domains`,
    probeSummaries: `${prefix}probes:summaries`,
    probeRecords: `${prefix}probes:records`,
    probeSent: `${prefix}probes:sent`,
    probeSentByDomain: (domain) => `${prefix}probes:sent:${domain}`,
    probeOpen: `${prefix}probes:open`,
    probeStats: (domain) => `${prefix}probes:stats:${domain}`,
    probeImapPositions: `${prefix}probes:imap-positions`,
    probeDeletePending: `${prefix}probes:delete-pending`,
    probeState: `${prefix}probes:state`,
  };
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** `YYYYMMDD` of a date in a time zone (default: the process's). Formatters are built once per zone (building one costs ~1 ms). */
export function dayKey(d: Date, timeZone?: string): string {
  const zone = timeZone ?? '';
  let fmt = dayFormats.get(zone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    if (dayFormats.size > 64) dayFormats.clear();
    dayFormats.set(zone, fmt);
  }
  const parts = fmt.formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}${get('month')}${get('day')}`;
}
