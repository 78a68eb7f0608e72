/**
 * Storing webhook events exactly once: ONE Lua script per request checks each event's id against
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

/**
 * Event ids (Mailgun: tokens) are remembered in one set per provider and arrival day (UTC); a batch is
 * checked against the last `seenDays` days' sets, so an id is remembered for at least 4 days (ESPs
 * retry for up to 3). A set expires `seenTtlSec` after its day began.
 */
export const seenDays = 5;
export const seenTtlSec = (seenDays + 1) * 86400;
/** Latest events kept for the ESP page. */
export const eventsKept = 500;

/** Event types that settle the probe they are about as bounced. */
export const settlingTypes: readonly EspEventType[] = ['bounced', 'rejected', 'failed'];

/*
 * KEYS: 1 counter-id set, 2 latest-events list, 3 probe records hash, 4 open probes zset, 5 data
 *       version, 6..(5+nSeen) the provider's seen-id sets (today's first, then the older days), then
 *       the distinct hashes the batch touches (per-day event counts and graph counters), then nRefs
 *       message-ref keys (esp:msg:<provider>:<id>).
 * ARGV: 1 seen-set TTL s, 2 counter TTL s, 3 counters id, 4 events kept, 5 nHashes, 6 n events, 7 the
 *       events packed one per line (few large arguments are much cheaper to send than many small ones),
 *       each line eight tab-separated values: counts hash index, counts field (<provider>:<type>),
 *       counter hash index (0: none), recipient domain, message-ref index (0: the event settles no
 *       probe), the bounce JSON a settled probe gets, event id, event JSON (neither JSON nor the id has
 *       a raw tab or newline). Indexes are 1-based positions among the distinct hashes / refs.
 *       8 nRefs, 9 the probe header name, 10 nSeen.
 * Returns an array of n integers: 2 counted now and settled a probe, 1 counted now, 0 already counted
 * (earlier request or earlier in this batch).
 * Dedupe costs one SMISMEMBER per seen set for the whole batch and one SADD of the new ids, not a
 * command per event. Every key's type and every counter field the batch increments is checked before
 * the first write, so a bad key (another tool's string where a hash belongs) fails the whole request
 * with nothing written; after the checks no command can fail (message refs are read with MGET, which
 * reads a key of another type as nil).
 * Increments are summed per (hash, field) and written once; a hash gets its expiry when this script
 * creates it.
 */
const ingestScript = `
local nh = tonumber(ARGV[5])
local n = tonumber(ARGV[6])
local nr = tonumber(ARGV[8])
local ns = tonumber(ARGV[10])
local sb = 5
local hb = sb + ns
local rb = hb + nh
local function typeof(key) return redis.call('TYPE', key).ok end
local function typeok(key, want)
  local t = typeof(key)
  return t == 'none' or t == want
end
if not typeok(KEYS[1], 'set') then return redis.error_reply('BADKEY ' .. KEYS[1] .. ' is not a set') end
if not typeok(KEYS[2], 'list') then return redis.error_reply('BADKEY ' .. KEYS[2] .. ' is not a list') end
for s = 1, ns do
  if not typeok(KEYS[sb + s], 'set') then return redis.error_reply('BADKEY ' .. KEYS[sb + s] .. ' is not a set') end
end
local created = {}
for h = 1, nh do
  local t = typeof(KEYS[hb + h])
  if t == 'none' then created[h] = true
  elseif t ~= 'hash' then return redis.error_reply('BADKEY ' .. KEYS[hb + h] .. ' is not a hash') end
end
if nr > 0 then
  if not typeok(KEYS[3], 'hash') then return redis.error_reply('BADKEY ' .. KEYS[3] .. ' is not a hash') end
  if not typeok(KEYS[4], 'zset') then return redis.error_reply('BADKEY ' .. KEYS[4] .. ' is not a sorted set') end
  if not typeok(KEYS[5], 'string') then return redis.error_reply('BADKEY ' .. KEYS[5] .. ' is not a string') end
end
local ev = {}
local ids = {}
for line in string.gmatch(ARGV[7], '[^\\n]+') do
  local ci, field, cc, domain, ri, bounce, id, json = string.match(line, '^(%d+)\\t([^\\t]+)\\t(%d+)\\t([^\\t]*)\\t(%d+)\\t([^\\t]*)\\t([^\\t]+)\\t(.*)$')
  if not ci then return redis.error_reply('BADARG event line') end
  ev[#ev + 1] = { tonumber(ci), field, tonumber(cc), domain, json, tonumber(ri), bounce }
  ids[#ids + 1] = id
end
if #ev ~= n then return redis.error_reply('BADARG event count') end
-- The counter fields the batch increments in hashes that exist: one HMGET per hash.
local fields = {}
local listed = {}
for i = 1, n do
  local c = ev[i][3]
  if c > 0 and not created[c] then
    local id = c .. ' ' .. ev[i][4]
    if not listed[id] then
      listed[id] = true
      fields[c] = fields[c] or {}
      table.insert(fields[c], ev[i][4])
    end
  end
end
for c, fs in pairs(fields) do
  local vals = redis.call('HMGET', KEYS[hb + c], unpack(fs))
  for x = 1, #fs do
    local f = vals[x]
    if f and not string.match(f, '^%-?%d+$') then
      return redis.error_reply('BADKEY ' .. KEYS[hb + c] .. ' field ' .. fs[x] .. ' is not an integer')
    end
  end
end
-- Ids counted before: one SMISMEMBER per seen set (in slices, unpack has a limit).
local known = {}
for s = 1, ns do
  for j = 1, n, 1000 do
    local r = redis.call('SMISMEMBER', KEYS[sb + s], unpack(ids, j, math.min(j + 999, n)))
    for x = 1, #r do
      if r[x] == 1 then known[j + x - 1] = true end
    end
  end
end
local out = {}
local incr = {}
local order = {}
local fresh = {}
local newIds = {}
local inBatch = {}
local counted = false
local settled = false
-- The message refs of the settling events, in one MGET (a key of another type reads as nil).
local refs = {}
if nr > 0 then
  for j = 1, nr, 1000 do
    local r = redis.call('MGET', unpack(KEYS, rb + j, rb + math.min(j + 999, nr)))
    for x = 1, #r do refs[j + x - 1] = r[x] end
  end
end
-- The probe an event's message id belongs to, if the probe is still open: its token and record.
local function openProbe(ri)
  local ref = refs[ri]
  if not ref then return nil end
  local okj, obj = pcall(cjson.decode, ref)
  if not okj or type(obj) ~= 'table' or type(obj.headers) ~= 'table' then return nil end
  local token = obj.headers[ARGV[9]]
  if type(token) ~= 'string' then return nil end
  local cur = redis.call('HGET', KEYS[3], token)
  if not cur then return nil end
  local okr, rec = pcall(cjson.decode, cur)
  if not okr or type(rec) ~= 'table' or rec.returnedAt ~= nil or rec.bounce ~= nil or rec.sendError ~= nil then return nil end
  return token, cur
end
local function add(h, field)
  local byField = incr[h]
  if not byField then byField = {}; incr[h] = byField end
  local v = byField[field]
  if not v then order[#order + 1] = { h, field }; v = 0 end
  byField[field] = v + 1
end
for i = 1, n do
  local e = ev[i]
  local id = ids[i]
  if not known[i] and not inBatch[id] then
    inBatch[id] = true
    newIds[#newIds + 1] = id
    out[i] = 1
    add(e[1], e[2])
    if e[3] > 0 then add(e[3], e[4]); counted = true end
    fresh[#fresh + 1] = e[5]
    if e[6] > 0 then
      local token, cur = openProbe(e[6])
      if token then
        -- The record is JSON.stringify output (an object): the bounce goes in before its closing brace.
        redis.call('HSET', KEYS[3], token, string.sub(cur, 1, -2) .. ',"bounce":' .. e[7] .. '}')
        redis.call('ZREM', KEYS[4], token)
        out[i] = 2
        settled = true
      end
    end
  else
    out[i] = 0
  end
end
if #newIds > 0 then
  for j = 1, #newIds, 1000 do
    redis.call('SADD', KEYS[sb + 1], unpack(newIds, j, math.min(j + 999, #newIds)))
  end
  redis.call('EXPIRE', KEYS[sb + 1], ARGV[1], 'NX')
end
for _, o in ipairs(order) do
  redis.call('HINCRBY', KEYS[hb + o[1]], o[2], incr[o[1]][o[2]])
end
for h, _ in pairs(created) do
  if redis.call('EXISTS', KEYS[hb + h]) == 1 then redis.call('EXPIRE', KEYS[hb + h], ARGV[2]) end
end
if settled then redis.call('INCR', KEYS[5]) end
if #fresh > 0 then
  for j = 1, #fresh, 1000 do
    redis.call('LPUSH', KEYS[2], unpack(fresh, j, math.min(j + 999, #fresh)))
  end
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
end
if counted then redis.call('SADD', KEYS[1], ARGV[3]) end
return out
`;
const ingestSha = crypto.createHash('sha1').update(ingestScript).digest('hex');

export class BadKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadKeyError';
  }
}

export interface IngestOptions {
  countersId: string;
  counterTtlSec: number;
  /** Arrival time (the seen-id set of its UTC day; default: now). */
  now?: Date;
  /** Time zone of the counter days (default: the process's, as the graphs read them). */
  timeZone?: string;
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

/** Store a batch: count each new event once and settle the probes the new bounces are about. */
export async function ingestEvents(redis: Redis, k: Keys, events: readonly EspEvent[], opts: IngestOptions): Promise<IngestResult> {
  if (events.length === 0) return { counted: [], settled: [] };
  const provider = events[0]!.provider;
  if (events.some((e) => e.provider !== provider)) throw new Error('ingestEvents: one provider per batch');
  const arrival = (opts.now ?? new Date()).getTime();
  const seenSets = Array.from({ length: seenDays }, (_, i) => k.espSeen(provider, utcDay(arrival - i * 86_400_000)));
  const hashes = new Map<string, number>();
  const hashIndex = (key: string) => {
    let i = hashes.get(key);
    if (i === undefined) {
      i = hashes.size + 1;
      hashes.set(key, i);
    }
    return i;
  };
  const lines: string[] = [];
  const refKeys: string[] = [];
  // Days by event time: a batch's events share a handful of timestamps, each is read once. The hash
  // indexes of a day's counts and of each (day, counter) are looked up once too.
  const days = new Map<string, string>();
  const byMinute = new Map<number, string>();
  const countsIndex = new Map<string, number>();
  const counterIndex = new Map<string, number>();
  for (const e of events) {
    let day = days.get(e.at);
    if (day === undefined) {
      // Every time zone offset is a whole number of minutes: one day lookup per minute at most.
      const minute = Math.floor(Date.parse(e.at) / 60_000);
      day = byMinute.get(minute) ?? dayKey(new Date(minute * 60_000), opts.timeZone);
      byMinute.set(minute, day);
      days.set(e.at, day);
    }
    let ci = countsIndex.get(day);
    if (ci === undefined) {
      ci = hashIndex(k.espEventCounts(day));
      countsIndex.set(day, ci);
    }
    const counter = counterOf(e.type);
    let cc = 0;
    if (counter !== null && e.domain !== undefined) {
      const dc = day + counter;
      cc = counterIndex.get(dc) ?? 0;
      if (cc === 0) {
        cc = hashIndex(k.counter(opts.countersId, day, counter));
        counterIndex.set(dc, cc);
      }
    }
    let ref = 0;
    let bounce = '';
    if (e.messageId !== undefined && settlingTypes.includes(e.type)) {
      refKeys.push(k.espMessage(e.provider, e.messageId));
      ref = refKeys.length;
      bounce = JSON.stringify(bounceOf(e));
    }
    lines.push(`${ci}\t${e.provider}:${e.type}\t${cc}\t${e.domain ?? ''}\t${ref}\t${bounce}\t${lineSafeId(e.id)}\t${JSON.stringify(e)}`);
  }
  const keyList = [k.counterIds, k.espEvents, k.probeRecords, k.probeOpen, k.dataVersion, ...seenSets, ...hashes.keys(), ...refKeys];
  const argv: (string | number)[] = [seenTtlSec, opts.counterTtlSec, opts.countersId, eventsKept, hashes.size, events.length, lines.join('\n'), refKeys.length, probeHeader, seenSets.length];
  let res: unknown;
  try {
    res = await evalCached(redis, keyList, argv);
  } catch (e) {
    const msg = (e as Error).message;
    if (msg.includes('BADKEY ')) throw new BadKeyError(`cannot store the webhook events: ${msg.replace(/^.*BADKEY /, '')} (nothing was written)`);
    throw e;
  }
  const out = res as number[];
  return { counted: out.map((x) => x >= 1), settled: out.map((x) => x === 2) };
}

/** YYYYMMDD of a UTC day. */
function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');
}

const unsafeId = /[\t\n\r]/;

/** An id as one field of a script line: one with a tab, newline or nothing in it is replaced by its hash. */
function lineSafeId(id: string): string {
  return id !== '' && !unsafeId.test(id) ? id : 'sha256-' + crypto.createHash('sha256').update(id).digest('hex').slice(0, 32);
}

async function evalCached(redis: Redis, keyList: string[], argv: (string | number)[]): Promise<unknown> {
  const args = ([keyList.length] as (string | number)[]).concat(keyList, argv);
  try {
    return await redis.call('EVALSHA', [ingestSha, ...args]);
  } catch (e) {
    if (!/NOSCRIPT/.test((e as Error).message)) throw e;
    return redis.call('EVAL', [ingestScript, ...args]);
  }
}
