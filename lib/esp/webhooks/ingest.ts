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
 * KEYS: 1 counter-id set, 2 latest-events list, then per event i (0-based) three keys:
 *       4+3i-1.. = seen key, day event-counts hash, graph counter hash (the counts hash again when
 *       the event feeds no counter; it is then not touched as a counter)
 * ARGV: 1 seen TTL s, 2 counter TTL s, 3 counters id, 4 events kept, 5 n events,
 *       then per event 4 values: counts field (<provider>:<type>), recipient domain, feeds counter (1/0), event JSON
 * Returns an array of n integers: 1 counted now, 0 already counted (earlier request or earlier in this batch).
 * Every key's type and every counter field touched is checked before the first write, so a bad key
 * (another tool's string where a hash belongs) fails the whole request with nothing written.
 */
const ingestScript = `
local function typeok(key, want)
  local t = redis.call('TYPE', key).ok
  return t == 'none' or t == want
end
if not typeok(KEYS[1], 'set') then return redis.error_reply('BADKEY ' .. KEYS[1] .. ' is not a set') end
if not typeok(KEYS[2], 'list') then return redis.error_reply('BADKEY ' .. KEYS[2] .. ' is not a list') end
local n = tonumber(ARGV[5])
local out = {}
local batch = {}
for i = 0, n - 1 do
  local seen = KEYS[3 + 3 * i]
  if batch[seen] or redis.call('EXISTS', seen) == 1 then
    out[i + 1] = 0
  else
    batch[seen] = true
    out[i + 1] = 1
    local counts = KEYS[4 + 3 * i]
    if not typeok(counts, 'hash') then return redis.error_reply('BADKEY ' .. counts .. ' is not a hash') end
    local a = 6 + 4 * i
    if ARGV[a + 2] == '1' then
      local c = KEYS[5 + 3 * i]
      if not typeok(c, 'hash') then return redis.error_reply('BADKEY ' .. c .. ' is not a hash') end
      local f = redis.call('HGET', c, ARGV[a + 1])
      if f and not string.match(f, '^%-?%d+$') then
        return redis.error_reply('BADKEY ' .. c .. ' field ' .. ARGV[a + 1] .. ' is not an integer')
      end
    end
  end
end
local any = false
local counted = false
for i = 0, n - 1 do
  if out[i + 1] == 1 then
    any = true
    local a = 6 + 4 * i
    redis.call('SET', KEYS[3 + 3 * i], '1', 'EX', ARGV[1])
    redis.call('HINCRBY', KEYS[4 + 3 * i], ARGV[a], 1)
    redis.call('EXPIRE', KEYS[4 + 3 * i], ARGV[2], 'NX')
    if ARGV[a + 2] == '1' then
      redis.call('HINCRBY', KEYS[5 + 3 * i], ARGV[a + 1], 1)
      redis.call('EXPIRE', KEYS[5 + 3 * i], ARGV[2], 'NX')
      counted = true
    end
    redis.call('LPUSH', KEYS[2], ARGV[a + 3])
  end
end
if any then redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1) end
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
  const keyList: string[] = [k.counterIds, k.espEvents];
  const argv: (string | number)[] = [seenTtlSec, opts.counterTtlSec, opts.countersId, eventsKept, events.length];
  for (const e of events) {
    const day = dayKey(new Date(e.at), opts.timeZone);
    const counter = counterOf(e.type);
    const feeds = counter !== null && e.domain !== undefined;
    const counts = k.espEventCounts(day);
    keyList.push(k.espSeen(e.provider, e.id), counts, feeds ? k.counter(opts.countersId, day, counter) : counts);
    argv.push(`${e.provider}:${e.type}`, e.domain ?? '', feeds ? '1' : '0', JSON.stringify(e));
  }
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
