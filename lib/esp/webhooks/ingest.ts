/**
 * Storing webhook events exactly once: ONE Lua script call (ingest-script.ts) per batch, or per
 * several batches arriving together (ingest-queue.ts), checks each event's id against
 * the ids already counted (kept with an expiry), and for the new ones only: marks the id, counts the
 * event by type per day, feeds the original graph counter (`<counters_id>:<YYYYMMDD>:<type>` HINCRBY
 * per recipient domain), keeps it in the latest-events list, and settles the probe it is about: a
 * bounce, reject or drop whose message id the gateway recorded for a probe (`esp:msg:*`, its token in
 * the probe header) marks that probe bounced with the event's status and reason, unless it is settled
 * already. A retried or replayed request finds its ids and counts (and settles) nothing; a storage
 * failure writes nothing (the ESP retries on the 5xx). Counting and settling are one atomic step: no
 * crash between them can lose a settlement or repeat one.
 */
import crypto from 'node:crypto';
import { dayKey, type Keys } from '../../keys.js';
import { probeHeader, type ProbeRecord } from '../../probes/model.js';
import type { Redis } from '../../redis.js';
import { counterOf, type EspEvent, type EspEventType } from './events.js';
import { ingestScript, ingestSha } from './ingest-script.js';
import { latestHeader } from './latest.js';

/**
 * Event ids (Mailgun: tokens) are remembered in one set per provider and UTC day (`esp:ids`): the day of
 * the time the signature fixes with the id (EspEvent.idDay: every delivery of an event, a retry days
 * later or a replay, has the same one), so an id is looked up in that ONE set. A set expires
 * `seenTtlSec` after its last addition, so an id is remembered for at least 5 days (ESPs retry for up
 * to 3). An event without such a time goes in the set of its arrival day and is looked up in the sets
 * of the last `windowDays` days of arrival; so are all ids in the sets that versions before `esp:ids`
 * kept by arrival day (`esp:seen`), while those exist (they expire within 6 days).
 */
export const windowDays = 5;
export const seenTtlSec = 5 * 86400;
/** Latest events kept for the ESP page. */
export const eventsKept = 500;

/** Event types that settle the probe they are about as bounced. */
export const settlingTypes: readonly EspEventType[] = ['bounced', 'rejected', 'failed'];

export class BadKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadKeyError';
  }
}

export interface IngestOptions {
  countersId: string;
  counterTtlSec: number;
  /** Arrival time (its UTC day: the id set of events without a signed time; default: now). */
  now?: Date;
  /** Time zone of the counter days (default: the process's, as the graphs read them). */
  timeZone?: string;
  /**
   * What the latest-events list keeps of the batch: the vendor's raw body (`sendgrid`: read back with
   * parseSendgrid, so nothing is serialised per event here), else JSON of the normalised events.
   */
  latest?: { format: 'sendgrid'; payload: Buffer | string };
}

export interface IngestResult {
  /** Per event: counted now (false: seen before). */
  counted: boolean[];
  /** Per event: it settled a probe as bounced now. */
  settled: boolean[];
}

/** The bounce a probe gets from an ESP event. */
export function bounceOf(e: EspEvent): NonNullable<ProbeRecord['bounce']> {
  return {
    at: Date.parse(e.at),
    ...(e.smtpStatus ? { status: e.smtpStatus } : {}),
    ...(e.reason ? { diagnostic: e.reason.slice(0, 500) } : {}),
    esp: { provider: e.provider, event: e.espEvent },
  };
}

/**
 * `JSON.stringify(bounceOf(e))`, written directly: it is made for every bounce of every batch that
 * names a message id (used only if that message was a probe), and building the object with its
 * optional fields and then serialising it cost ~2.5 µs an event (bench:webhooks: a third of
 * prepareBatch). The same text, field for field (test/esp/ingest-encoding.test.ts holds it to
 * bounceOf, which stays the typed definition of what a probe gets).
 */
export function bounceJson(e: EspEvent): string {
  const at = Date.parse(e.at);
  let s = `{"at":${Number.isFinite(at) ? at : 'null'}`;
  if (e.smtpStatus) s += `,"status":${JSON.stringify(e.smtpStatus)}`;
  if (e.reason) s += `,"diagnostic":${JSON.stringify(e.reason.slice(0, 500))}`;
  return `${s},"esp":{"provider":${JSON.stringify(e.provider)},"event":${JSON.stringify(e.espEvent)}}}`;
}

/** Store a batch: count each new event once and settle the probes the new bounces are about. */
export async function ingestEvents(redis: Redis, k: Keys, events: readonly EspEvent[], opts: IngestOptions): Promise<IngestResult> {
  if (events.length === 0) return { counted: [], settled: [] };
  return (await storeBatches(redis, k, [prepareBatch(k, events, opts)], opts))[0]!;
}

/** A batch encoded for the ingest script, its hashes still named by key (see storeBatches). */
export interface PreparedBatch {
  readonly events: readonly EspEvent[];
  readonly provider: string;
  /** UTC day of arrival (days since the epoch): see `windowDays`. */
  readonly arrivalDay: number;
  readonly slots: readonly Slot[];
  /** `order[p]`: the event at id position p (ids in group order). */
  readonly order: readonly number[];
  readonly ids: readonly string[];
  readonly refs: readonly { key: string; position: number; bounce: string }[];
  readonly header: string;
  readonly payload: Buffer | string;
}

/** Group a batch's events by what they increment and encode it (pure: no Redis). */
export function prepareBatch(k: Keys, events: readonly EspEvent[], opts: IngestOptions): PreparedBatch {
  const n = events.length;
  const provider = events[0]!.provider;
  const arrival = (opts.now ?? new Date()).getTime();
  // Events grouped by what they increment (the script adds a group's fresh events at once): by event
  // time and type first (a batch shares a handful of each; the strings are reused, so these lookups
  // are cheap), then by recipient domain.
  const slots = new Map<string, Map<EspEventType, Slot>>();
  const slotList: Slot[] = [];
  // Events whose id day is not that of the first event of their time and type (Mailgun: the signed
  // time is not the event's), by time, type and id day.
  let oddSlots: Map<string, Slot> | undefined;
  const newSlot = (e: EspEvent): Slot => {
    const day = dayOf(Date.parse(e.at), opts.timeZone);
    const counter = counterOf(e.type);
    const slot: Slot = { countsKey: k.espEventCounts(day), field: `${provider}:${e.type}`, counterKey: counter === null ? null : k.counter(opts.countersId, day, counter), idDay: e.idDay, byDomain: new Map() };
    slotList.push(slot);
    return slot;
  };
  let settling: number[] | undefined;
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    if (e.provider !== provider) throw new Error('ingestEvents: one provider per batch');
    let byType = slots.get(e.at);
    if (byType === undefined) {
      byType = new Map();
      slots.set(e.at, byType);
    }
    let slot = byType.get(e.type);
    if (slot === undefined) {
      slot = newSlot(e);
      byType.set(e.type, slot);
    } else if (slot.idDay !== e.idDay) {
      const key = `${e.at} ${e.type} ${e.idDay ?? '-'}`;
      oddSlots ??= new Map();
      let odd = oddSlots.get(key);
      if (odd === undefined) {
        odd = newSlot(e);
        oddSlots.set(key, odd);
      }
      slot = odd;
    }
    // An event without a recipient domain feeds no graph counter.
    const domain = slot.counterKey !== null && e.domain !== undefined ? e.domain : '';
    const members = slot.byDomain.get(domain);
    if (members) members.push(i);
    else slot.byDomain.set(domain, [i]);
    if (e.messageId !== undefined && settlingTypes.includes(e.type)) (settling ??= []).push(i);
  }
  const order: number[] = [];
  for (const slot of slotList) for (const members of slot.byDomain.values()) for (const i of members) order.push(i);
  const ids: string[] = new Array<string>(n);
  const positionOf = settling ? new Array<number>(n) : undefined;
  for (let p = 0; p < n; p++) {
    const i = order[p]!;
    ids[p] = lineSafeId(events[i]!.id);
    if (positionOf) positionOf[i] = p + 1;
  }
  const refs = (settling ?? []).map((i) => {
    const e = events[i]!;
    return { key: k.espMessage(e.provider, e.messageId!), position: positionOf![i]!, bounce: bounceJson(e) };
  });
  const latest = opts.latest ?? { format: 'events' as const, payload: JSON.stringify(events) };
  return { events, provider, arrivalDay: Math.floor(arrival / 86_400_000), slots: slotList, order, ids, refs, header: latestHeader(latest.format, arrival), payload: latest.payload };
}

/**
 * Store prepared batches of one provider and arrival day in ONE script call (atomic: all or none).
 * Returns each batch's result, in order.
 */
export async function storeBatches(redis: Redis, k: Keys, batches: readonly PreparedBatch[], opts: Pick<IngestOptions, 'countersId' | 'counterTtlSec'>): Promise<IngestResult[]> {
  const first = batches[0]!;
  if (batches.some((b) => b.provider !== first.provider || b.arrivalDay !== first.arrivalDay)) throw new Error('storeBatches: one provider and arrival day per call');
  // The id sets the call's events are looked up in, by day; `window`: those of the last days of
  // arrival (for events without a signed time), only when there are such events.
  const idSets = new Map<number, number>();
  const idSetIndex = indexIn(idSets);
  let window: number[] | undefined;
  const legacySets: string[] = [];
  for (let i = 0; i < windowDays; i++) legacySets.push(k.espSeen(first.provider, utcDay(first.arrivalDay - i)));
  const hashes = new Map<string, number>();
  const hashIndex = indexIn(hashes);
  let groupLines = '';
  let ids = '';
  const refKeys: string[] = [];
  const refPositions: number[] = [];
  const bounces: string[] = [];
  const perBatch: (string | number | Buffer)[] = [];
  let n = 0;
  for (const b of batches) {
    for (const slot of b.slots) {
      const counts = `${hashIndex(slot.countsKey)} ${slot.field}`;
      const counter = slot.counterKey === null ? 0 : hashIndex(slot.counterKey);
      let set = 0;
      if (slot.idDay !== undefined) set = idSetIndex(slot.idDay);
      else window ??= Array.from({ length: windowDays }, (_, i) => idSetIndex(first.arrivalDay - i));
      for (const [domain, members] of slot.byDomain) {
        groupLines += domain === '' ? `${counts} 0 - ${set} ${members.length}\n` : `${counts} ${counter} ${domain} ${set} ${members.length}\n`;
      }
    }
    ids += (n === 0 ? '' : '\n') + b.ids.join('\n');
    for (const r of b.refs) {
      refKeys.push(r.key);
      refPositions.push(n + r.position);
      bounces.push(r.bounce);
    }
    perBatch.push(b.header, b.payload, b.ids.length, b.order.join(' '));
    n += b.ids.length;
  }
  const idSetKeys = [...idSets.keys()].map((day) => k.espIds(first.provider, utcDay(day)));
  const keyList = [k.counterIds, k.espEvents, k.espEventMarks, k.probeRecords, k.probeOpen, k.dataVersion, ...idSetKeys, ...legacySets, ...hashes.keys(), ...refKeys];
  const argv: (string | number | Buffer)[] = [
    seenTtlSec,
    opts.counterTtlSec,
    opts.countersId,
    eventsKept,
    idSetKeys.length,
    hashes.size,
    refKeys.length,
    probeHeader,
    groupLines,
    n,
    ids,
    refPositions.join(' '),
    bounces.join('\n'),
    batches.length,
    window ? window.join(' ') : '',
    legacySets.length,
    ...perBatch,
  ];
  let res: unknown;
  try {
    res = await evalCached(redis, keyList, argv);
  } catch (e) {
    const msg = (e as Error).message;
    if (msg.includes('BADKEY ')) throw new BadKeyError(`cannot store the webhook events: ${msg.replace(/^.*BADKEY /, '')} (nothing was written)`);
    throw e;
  }
  const codes = String(res);
  if (codes.length !== n) throw new Error(`ingest script answered ${codes.length} codes for ${n} events`);
  let at = 0;
  return batches.map((b) => {
    const size = b.ids.length;
    const counted = new Array<boolean>(size);
    const settled = new Array<boolean>(size);
    for (let p = 0; p < size; p++) {
      const c = codes.charCodeAt(at + p) - 48;
      const i = b.order[p]!;
      counted[i] = c >= 1;
      settled[i] = c === 2;
    }
    at += size;
    return { counted, settled };
  });
}

/** A value's 1-based index among the map's keys, in order of first use (added when new). */
function indexIn<K>(map: Map<K, number>): (key: K) => number {
  return (key) => {
    let i = map.get(key);
    if (i === undefined) {
      i = map.size + 1;
      map.set(key, i);
    }
    return i;
  };
}

/** Events of one time, type and id day: their counts hash and field, their graph counter hash (null: none), by recipient domain. */
interface Slot {
  countsKey: string;
  field: string;
  counterKey: string | null;
  /** EspEvent.idDay: the id set the events' ids are in (undefined: the arrival window's). */
  idDay: number | undefined;
  byDomain: Map<string, number[]>;
}

/** Days by minute (every time zone offset is a whole number of minutes), per time zone, across batches. */
const dayCache = new Map<string, Map<number, string>>();

/** The counter day (YYYYMMDD in the time zone) of an epoch-ms time: Intl formatting once per minute seen. */
function dayOf(ms: number, timeZone: string | undefined): string {
  const zone = timeZone ?? '';
  let byMinute = dayCache.get(zone);
  if (!byMinute) {
    byMinute = new Map();
    dayCache.set(zone, byMinute);
  }
  const minute = Math.floor(ms / 60_000);
  let day = byMinute.get(minute);
  if (day === undefined) {
    if (byMinute.size >= 4096) byMinute.clear();
    day = dayKey(new Date(minute * 60_000), timeZone);
    byMinute.set(minute, day);
  }
  return day;
}

const utcDays = new Map<number, string>();

/** YYYYMMDD of a UTC day (days since the epoch), formatted once per day. */
function utcDay(day: number): string {
  let s = utcDays.get(day);
  if (s === undefined) {
    if (utcDays.size > 64) utcDays.clear();
    s = new Date(day * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
    utcDays.set(day, s);
  }
  return s;
}

const unsafeId = /[\t\n\r]/;

/** An id as one field of a script line: one with a tab, newline or nothing in it is replaced by its hash. */
function lineSafeId(id: string): string {
  return id !== '' && !unsafeId.test(id) ? id : 'sha256-' + crypto.createHash('sha256').update(id).digest('hex').slice(0, 32);
}

async function evalCached(redis: Redis, keyList: string[], argv: (string | number | Buffer)[]): Promise<unknown> {
  const args = ([keyList.length] as (string | number | Buffer)[]).concat(keyList, argv);
  try {
    return await redis.call('EVALSHA', [ingestSha, ...args]);
  } catch (e) {
    if (!/NOSCRIPT/.test((e as Error).message)) throw e;
    return redis.call('EVAL', [ingestScript, ...args]);
  }
}
