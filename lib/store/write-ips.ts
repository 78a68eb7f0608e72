/**
 * Writing one batch of IP records and their history points in ONE script call: per record a SET of
 * the record, a ZADD of its history point, the trim of points past the history window and the
 * history key's expiry, and the data version's INCR. Atomic like the MULTI it replaces (a reader
 * sees the old batch or the new one), and checked first: a history key that is not a sorted set, or a
 * data version INCR cannot take (another type, not an integer, at the top of the range), fails the
 * batch naming the key, with nothing of it written.
 *
 * Why a script: through ioredis, the MULTI of 4 commands per record cost ~100 µs of node's CPU per
 * record (a Command object, a promise and a parsed reply for each of 2,000 commands a batch, queued
 * and then answered twice), measured at 1.4-1.7 s of CPU for 10,000 records against 0.43-0.48 s
 * this way; Redis's own work stays about the same (0.15-0.2 s vs 0.24-0.26 s).
 */
import type { Keys } from '../keys.js';
import type { Redis } from '../redis.js';
import { WrongTypeError } from './codec.js';

/*
 * KEYS: 1 the data version, then per record i: 2i its IP key, 2i+1 its history key.
 * ARGV: 1 n (records), 2 the history score (ms), 3 the trim bound (exclusive, `(<ms>`), 4 the history
 *       expiry (ms), then per record i: 3+2i its JSON, 4+2i its history point's JSON.
 * Returns the new data version; `BADKEY type|integer <key>` when a key cannot take its write (the
 * history keys' types are read first, then the INCR is tried before any other write).
 */
const script = `
local n = tonumber(ARGV[1])
local t, cut, keep = ARGV[2], ARGV[3], ARGV[4]
for i = 1, n do
  local h = KEYS[2 * i + 1]
  local ht = redis.call('TYPE', h).ok
  if ht ~= 'none' and ht ~= 'zset' then return redis.error_reply('BADKEY type ' .. h) end
end
-- The data version by INCR itself, before anything else is written: a key of another type, a value
-- that is not an integer or one at the top of the range fails here, exactly as INCR judges it.
local v = redis.pcall('INCR', KEYS[1])
if type(v) == 'table' and v.err then
  if string.find(v.err, 'WRONGTYPE', 1, true) then return redis.error_reply('BADKEY type ' .. KEYS[1]) end
  if string.find(v.err, 'not an integer', 1, true) or string.find(v.err, 'overflow', 1, true) then return redis.error_reply('BADKEY integer ' .. KEYS[1]) end
  -- Anything else (OOM under maxmemory, say) is not the key's fault: Redis's own error, as it said it.
  return v
end
for i = 1, n do
  local h = KEYS[2 * i + 1]
  redis.call('SET', KEYS[2 * i], ARGV[3 + 2 * i])
  redis.call('ZADD', h, t, ARGV[4 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', h, '-inf', cut)
  redis.call('PEXPIRE', h, keep)
end
return v
`;

export interface IpWrite {
  ip: string;
  /** The record's JSON. */
  json: string;
  /** Its history point's JSON. */
  point: string;
}

/** Store one batch (see above); throws WrongTypeError naming a key that cannot take its write. */
export async function writeIpBatch(redis: Redis, k: Keys, batch: readonly IpWrite[], t: number, keepMs: number): Promise<void> {
  const keyList: string[] = [k.dataVersion];
  const argv: (string | number)[] = [batch.length, t, `(${t - keepMs}`, keepMs];
  for (const w of batch) {
    keyList.push(k.ip(w.ip), k.history(w.ip));
    argv.push(w.json, w.point);
  }
  try {
    await redis.eval(script, keyList.length, ...keyList, ...argv);
  } catch (e) {
    const m = /BADKEY (type|integer) (.+)$/.exec((e as Error).message);
    if (!m) throw new Error(`writing IP records: ${(e as Error).message}`, { cause: e });
    const [, what, key] = m;
    const why = what === 'integer' ? 'does not hold an integer INCR can take' : `holds the wrong Redis type (expected a ${key === k.dataVersion ? 'string' : 'sorted set'})`;
    throw new WrongTypeError(key!, `writing IP records: key ${key} ${why}; nothing of this batch was written`, { cause: e });
  }
}
