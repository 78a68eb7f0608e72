/**
 * Storing webhook events exactly once: ONE Lua script per request checks each event's id against
 * the ids already counted (kept with an expiry), and for the new ones only: marks the id, counts the
 * event by type per day, feeds the original graph counter (`<counters_id>:<YYYYMMDD>:<type>` HINCRBY
 * per recipient domain), and keeps it in the latest-events list. A retried or replayed request finds
 * its ids and counts nothing; a storage failure writes nothing (the ESP retries on the 5xx).
 */
import crypto from 'node:crypto';
import { dayKey, type Keys } from '../../keys.js';
import type { Redis } from '../../redis.js';
import { counterOf, type EspEvent } from './events.js';

/** How long an event id (or Mailgun token) is remembered: ESPs retry for up to 3 days. */
export const seenTtlSec = 4 * 86400;
/** Latest events kept for the ESP page. */
export const eventsKept = 500;

/*
 * KEYS: 1 counter-id set, 2 latest-events list, 3..(2+nHashes) the distinct hashes the batch touches
 *       (per-day event counts and graph counters), then one seen key per event.
 * ARGV: 1 seen TTL s, 2 counter TTL s, 3 counters id, 4 events kept, 5 nHashes, 6 n events, 7 the events
 *       packed one per line (few large arguments are much cheaper to send than many small ones), each
 *       line five tab-separated values: counts hash index, counts field (<provider>:<type>), counter hash
 *       index (0: none), recipient domain, event JSON (JSON has no raw tab or newline). Hash indexes
 *       are 1-based positions among the distinct hashes.
 * Returns an array of n integers: 1 counted now, 0 already counted (earlier request or earlier in this batch).
 * Every hash's type and every counter field the batch increments is checked before the first write, so
 * a bad key (another tool's string where a hash belongs) fails the whole request with nothing written;
 * after the checks no command can fail. Increments are summed per (hash, field) and written once.
 */
const ingestScript = `
local nh = tonumber(ARGV[5])
local n = tonumber(ARGV[6])
local function typeok(key, want)
  local t = redis.call('TYPE', key).ok
  return t == 'none' or t == want
end
if not typeok(KEYS[1], 'set') then return redis.error_reply('BADKEY ' .. KEYS[1] .. ' is not a set') end
if not typeok(KEYS[2], 'list') then return redis.error_reply('BADKEY ' .. KEYS[2] .. ' is not a list') end
for h = 1, nh do
  if not typeok(KEYS[2 + h], 'hash') then return redis.error_reply('BADKEY ' .. KEYS[2 + h] .. ' is not a hash') end
end
local ev = {}
for line in string.gmatch(ARGV[7], '[^\\n]+') do
  local ci, field, cc, domain, json = string.match(line, '^(%d+)\\t([^\\t]+)\\t(%d+)\\t([^\\t]*)\\t(.*)$')
  if not ci then return redis.error_reply('BADARG event line') end
  ev[#ev + 1] = { tonumber(ci), field, tonumber(cc), domain, json }
end
if #ev ~= n then return redis.error_reply('BADARG event count') end
local checked = {}
for i = 1, n do
  local c = ev[i][3]
  if c > 0 then
    local key = KEYS[2 + c]
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
local function add(h, field)
  local id = h .. ' ' .. field
  if not incr[id] then incr[id] = 0; order[#order + 1] = { h, field, id } end
  incr[id] = incr[id] + 1
end
for i = 1, n do
  local e = ev[i]
  if redis.call('SET', KEYS[2 + nh + i], '1', 'NX', 'EX', ARGV[1]) then
    out[i] = 1
    add(e[1], e[2])
    if e[3] > 0 then add(e[3], e[4]); counted = true end
    fresh[#fresh + 1] = e[5]
  else
    out[i] = 0
  end
end
local touched = {}
for _, o in ipairs(order) do
  redis.call('HINCRBY', KEYS[2 + o[1]], o[2], incr[o[3]])
  touched[o[1]] = true
end
for h, _ in pairs(touched) do redis.call('EXPIRE', KEYS[2 + h], ARGV[2], 'NX') end
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

/** Store a batch; returns, per event, whether it was counted now (false: seen before). */
export async function ingestEvents(redis: Redis, k: Keys, events: readonly EspEvent[], opts: IngestOptions): Promise<boolean[]> {
  if (events.length === 0) return [];
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
    lines.push(`${hashIndex(k.espEventCounts(day))}\t${e.provider}:${e.type}\t${feeds ? hashIndex(k.counter(opts.countersId, day, counter)) : 0}\t${e.domain ?? ''}\t${JSON.stringify(e)}`);
  }
  const keyList = [k.counterIds, k.espEvents, ...hashes.keys(), ...seenKeys];
  const argv: (string | number)[] = [seenTtlSec, opts.counterTtlSec, opts.countersId, eventsKept, hashes.size, events.length, lines.join('\n')];
  let res: unknown;
  try {
    res = await evalCached(redis, keyList, argv);
  } catch (e) {
    const msg = (e as Error).message;
    if (msg.includes('BADKEY ')) throw new BadKeyError(`cannot store the webhook events: ${msg.replace(/^.*BADKEY /, '')} (nothing was written)`);
    throw e;
  }
  return (res as number[]).map((x) => x === 1);
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
