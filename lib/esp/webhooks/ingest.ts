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

/** How long an event id (or Mailgun token) is remembered: ESPs retry for up to 3 days. */
export const seenTtlSec = 4 * 86400;
/** Latest events kept for the ESP page. */
export const eventsKept = 500;

/** Event types that settle the probe they are about as bounced. */
export const settlingTypes: readonly EspEventType[] = ['bounced', 'rejected', 'failed'];

/*
 * KEYS: 1 counter-id set, 2 latest-events list, 3 probe records hash, 4 open probes zset, 5 data
 *       version, 6..(5+nHashes) the distinct hashes the batch touches (per-day event counts and graph
 *       counters), then nRefs message-ref keys (esp:msg:<provider>:<id>), then one seen key per event.
 * ARGV: 1 seen TTL s, 2 counter TTL s, 3 counters id, 4 events kept, 5 nHashes, 6 n events, 7 the events
 *       packed one per line (few large arguments are much cheaper to send than many small ones), each
 *       line seven tab-separated values: counts hash index, counts field (<provider>:<type>), counter hash
 *       index (0: none), recipient domain, message-ref index (0: the event settles no probe), the
 *       bounce JSON a settled probe gets, event JSON (JSON has no raw tab or newline). Indexes are
 *       1-based positions among the distinct hashes / refs. 8 nRefs, 9 the probe header name.
 * Returns an array of n integers: 2 counted now and settled a probe, 1 counted now, 0 already counted
 * (earlier request or earlier in this batch).
 * Every hash's type and every counter field the batch increments is checked before the first write, so
 * a bad key (another tool's string where a hash belongs) fails the whole request with nothing written;
 * after the checks no command can fail (a message ref is read with pcall). Increments are summed per
 * (hash, field) and written once.
 */
const ingestScript = `
local nh = tonumber(ARGV[5])
local n = tonumber(ARGV[6])
local nr = tonumber(ARGV[8])
local hb = 5
local rb = hb + nh
local sb = rb + nr
local function typeok(key, want)
  local t = redis.call('TYPE', key).ok
  return t == 'none' or t == want
end
if not typeok(KEYS[1], 'set') then return redis.error_reply('BADKEY ' .. KEYS[1] .. ' is not a set') end
if not typeok(KEYS[2], 'list') then return redis.error_reply('BADKEY ' .. KEYS[2] .. ' is not a list') end
for h = 1, nh do
  if not typeok(KEYS[hb + h], 'hash') then return redis.error_reply('BADKEY ' .. KEYS[hb + h] .. ' is not a hash') end
end
if nr > 0 then
  if not typeok(KEYS[3], 'hash') then return redis.error_reply('BADKEY ' .. KEYS[3] .. ' is not a hash') end
  if not typeok(KEYS[4], 'zset') then return redis.error_reply('BADKEY ' .. KEYS[4] .. ' is not a sorted set') end
  if not typeok(KEYS[5], 'string') then return redis.error_reply('BADKEY ' .. KEYS[5] .. ' is not a string') end
end
local ev = {}
for line in string.gmatch(ARGV[7], '[^\\n]+') do
  local ci, field, cc, domain, ri, bounce, json = string.match(line, '^(%d+)\\t([^\\t]+)\\t(%d+)\\t([^\\t]*)\\t(%d+)\\t([^\\t]*)\\t(.*)$')
  if not ci then return redis.error_reply('BADARG event line') end
  ev[#ev + 1] = { tonumber(ci), field, tonumber(cc), domain, json, tonumber(ri), bounce }
end
if #ev ~= n then return redis.error_reply('BADARG event count') end
local checked = {}
for i = 1, n do
  local c = ev[i][3]
  if c > 0 then
    local key = KEYS[hb + c]
    local id = key .. ' ' .. ev[i][4]
    if not checked[id] then
      checked[id] = true
      local f = redis.call('HGET', key, ev[i][4])
      if f and not string.match(f, '^%-?%d+$') then
        return redis.error_reply('BADKEY ' .. key .. ' field ' .. ev[i][4] .. ' is not an integer')
      end
    end
  end
end
local out = {}
local incr = {}
local order = {}
local fresh = {}
local counted = false
local settled = false
-- The probe an event's message id belongs to, if the probe is still open: its token and record.
local function openProbe(ri)
  local ok, ref = pcall(redis.call, 'GET', KEYS[rb + ri])
  if not ok or not ref then return nil end
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
  local id = h .. ' ' .. field
  if not incr[id] then incr[id] = 0; order[#order + 1] = { h, field, id } end
  incr[id] = incr[id] + 1
end
for i = 1, n do
  local e = ev[i]
  if redis.call('SET', KEYS[sb + i], '1', 'NX', 'EX', ARGV[1]) then
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
local touched = {}
for _, o in ipairs(order) do
  redis.call('HINCRBY', KEYS[hb + o[1]], o[2], incr[o[3]])
  touched[o[1]] = true
end
for h, _ in pairs(touched) do redis.call('EXPIRE', KEYS[hb + h], ARGV[2], 'NX') end
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
  const seenKeys: string[] = [];
  const refKeys: string[] = [];
  // Days by minute: every time zone offset is a whole number of minutes, and a batch's events are close in time.
  const days = new Map<number, string>();
  for (const e of events) {
    const minute = Math.floor(Date.parse(e.at) / 60_000);
    let day = days.get(minute);
    if (day === undefined) {
      day = dayKey(new Date(minute * 60_000), opts.timeZone);
      days.set(minute, day);
    }
    const counter = counterOf(e.type);
    const feeds = counter !== null && e.domain !== undefined;
    seenKeys.push(k.espSeen(e.provider, e.id));
    let ref = 0;
    let bounce = '';
    if (e.messageId !== undefined && settlingTypes.includes(e.type)) {
      refKeys.push(k.espMessage(e.provider, e.messageId));
      ref = refKeys.length;
      bounce = JSON.stringify(bounceOf(e));
    }
    lines.push(`${hashIndex(k.espEventCounts(day))}\t${e.provider}:${e.type}\t${feeds ? hashIndex(k.counter(opts.countersId, day, counter)) : 0}\t${e.domain ?? ''}\t${ref}\t${bounce}\t${JSON.stringify(e)}`);
  }
  const keyList = [k.counterIds, k.espEvents, k.probeRecords, k.probeOpen, k.dataVersion, ...hashes.keys(), ...refKeys, ...seenKeys];
  const argv: (string | number)[] = [seenTtlSec, opts.counterTtlSec, opts.countersId, eventsKept, hashes.size, events.length, lines.join('\n'), refKeys.length, probeHeader];
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

async function evalCached(redis: Redis, keyList: string[], argv: (string | number)[]): Promise<unknown> {
  const args = ([keyList.length] as (string | number)[]).concat(keyList, argv);
  try {
    return await redis.call('EVALSHA', [ingestSha, ...args]);
  } catch (e) {
    if (!/NOSCRIPT/.test((e as Error).message)) throw e;
    return redis.call('EVAL', [ingestScript, ...args]);
  }
}
