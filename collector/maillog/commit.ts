/**
 * Redis side of a maillog read: load the saved state, and commit everything a read produced in ONE
 * atomic step (a Lua script): counters, queue-map changes, the blocks record, the new read position
 * and the data version. The script first checks that the saved position is still the one the read
 * started from, so a re-run or an overlapping run can neither count twice nor skip.
 */
import type { Redis } from '../../lib/redis.js';
import { execChecked } from '../../lib/redis.js';
import type { CounterType, Keys } from '../../lib/keys.js';
import type { BlocksRecord } from '../../lib/model.js';
import type { SavedPosition } from './plan.js';
import { decodeRecord } from '../../lib/store/index.js';

export interface HostState {
  /** Raw position fields as stored (compared verbatim at commit). */
  rawPosition: { inode: string; offset: string; path: string };
  position: SavedPosition | null;
  previous: BlocksRecord | null;
  queue: Record<string, string>;
}

export async function loadHostState(redis: Redis, k: Keys, host: string): Promise<HostState> {
  const [pos, blocks, queue] = await Promise.all([
    redis.hgetall(k.maillogPosition(host)),
    redis.get(k.blocks(host)),
    redis.hgetall(k.maillogQueue(host)),
  ]);
  const rawPosition = { inode: pos.inode ?? '', offset: pos.offset ?? '', path: pos.path ?? '' };
  const offset = Number(rawPosition.offset);
  const position =
    rawPosition.inode !== '' && Number.isSafeInteger(offset) && offset >= 0 ? { path: rawPosition.path, inode: rawPosition.inode, offset } : null;
  // An unreadable previous record counts as none: this read's record replaces it.
  const previous: BlocksRecord | null = decodeRecord.blocks(k.blocks(host), blocks, []) ?? null;
  return { rawPosition, position, previous, queue };
}

/*
 * KEYS: 1 position hash, 2 queue hash, 3 blocks string, 4 data version, 5 counter-id set,
 *       6.. counter hashes
 * ARGV: 1-3 expected inode, offset, path ('' when none); 4-6 new inode, offset, path; 7 updated (ISO);
 *       8 blocks JSON; 9 counter TTL seconds; 10 counters id; then nSet, nSet x (qid, json);
 *       then nDel, nDel x qid; then per counter key: nFields, nFields x (domain, increment)
 * Returns 1, or an error reply starting with MOVED when the position is not the expected one, or
 * BADKEY naming a key (or counter field) the writes would fail on.
 * A script is not a transaction: a command that fails leaves the writes before it in place. So every
 * key is type-checked and every counter field checked to be an integer BEFORE the first write (a
 * counter hash is shared with external writers), and the commit is all or nothing.
 */
const commitScript = `
local cur = redis.call('HMGET', KEYS[1], 'inode', 'offset', 'path')
if (cur[1] or '') ~= ARGV[1] or (cur[2] or '') ~= ARGV[2] or (cur[3] or '') ~= ARGV[3] then
  return redis.error_reply('MOVED the saved read position changed since this read started')
end
local want = { 'hash', 'hash', 'string', 'string', 'set' }
for c = 1, #KEYS do
  local t = redis.call('TYPE', KEYS[c]).ok
  if t ~= 'none' and t ~= (want[c] or 'hash') then
    return redis.error_reply('BADKEY ' .. KEYS[c] .. ' holds a ' .. t .. ', not a ' .. (want[c] or 'hash'))
  end
end
local v = redis.call('GET', KEYS[4])
if v and not string.match(v, '^%-?%d+$') then
  return redis.error_reply('BADKEY ' .. KEYS[4] .. ' is not an integer')
end
local i = 11
i = i + 1 + 2 * tonumber(ARGV[i])
i = i + 1 + tonumber(ARGV[i])
for c = 6, #KEYS do
  local n = tonumber(ARGV[i]); i = i + 1
  for j = 1, n do
    local f = redis.call('HGET', KEYS[c], ARGV[i])
    if f and not string.match(f, '^%-?%d+$') then
      return redis.error_reply('BADKEY ' .. KEYS[c] .. ' field ' .. ARGV[i] .. ' is not an integer')
    end
    i = i + 2
  end
end
i = 11
local n = tonumber(ARGV[i]); i = i + 1
for j = 1, n do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]); i = i + 2 end
n = tonumber(ARGV[i]); i = i + 1
for j = 1, n do redis.call('HDEL', KEYS[2], ARGV[i]); i = i + 1 end
for c = 6, #KEYS do
  n = tonumber(ARGV[i]); i = i + 1
  for j = 1, n do redis.call('HINCRBY', KEYS[c], ARGV[i], ARGV[i + 1]); i = i + 2 end
  redis.call('EXPIRE', KEYS[c], ARGV[9], 'NX')
end
if #KEYS >= 6 then redis.call('SADD', KEYS[5], ARGV[10]) end
redis.call('HSET', KEYS[1], 'inode', ARGV[4], 'offset', ARGV[5], 'path', ARGV[6], 'updated', ARGV[7])
redis.call('SET', KEYS[3], ARGV[8])
redis.call('INCR', KEYS[4])
return 1
`;

export interface CommitInput {
  host: string;
  countersId: string;
  expected: HostState['rawPosition'];
  next: SavedPosition;
  record: BlocksRecord;
  queue: { set: [string, string][]; del: string[] };
  /** day -> type -> domain -> count */
  counters: Map<string, Map<CounterType, Map<string, number>>>;
  ttlSec: number;
}

export class PositionMovedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PositionMovedError';
  }
}

export async function commitRead(redis: Redis, k: Keys, c: CommitInput): Promise<void> {
  const keyList = [k.maillogPosition(c.host), k.maillogQueue(c.host), k.blocks(c.host), k.dataVersion, k.counterIds];
  const argv: (string | number)[] = [
    c.expected.inode,
    c.expected.offset,
    c.expected.path,
    c.next.inode,
    String(c.next.offset),
    c.next.path,
    c.record.at,
    JSON.stringify(c.record),
    c.ttlSec,
    c.countersId,
    c.queue.set.length,
  ];
  for (const [qid, json] of c.queue.set) argv.push(qid, json);
  argv.push(c.queue.del.length);
  for (const qid of c.queue.del) argv.push(qid);
  for (const [day, byType] of c.counters) {
    for (const [type, byDomain] of byType) {
      keyList.push(k.counter(c.countersId, day, type));
      argv.push(byDomain.size);
      for (const [domain, n] of byDomain) argv.push(domain, n);
    }
  }
  try {
    // One argument array, no spread: a large read cannot overflow the call stack.
    const args: (string | number)[] = [commitScript, keyList.length];
    await redis.call('EVAL', args.concat(keyList, argv));
  } catch (e) {
    const msg = (e as Error).message;
    if (msg.includes('MOVED the saved read position')) throw new PositionMovedError(`${c.host}: ${msg.replace(/^.*MOVED /, '')}`);
    if (msg.includes('BADKEY ')) throw new Error(`cannot commit the maillog read: ${msg.replace(/^.*BADKEY /, '')} (nothing was written)`);
    throw e;
  }
}

/** A failed read: the record says why, keeps the last good blocks (still in the window) and their time. */
export async function writeErrorRecord(redis: Redis, k: Keys, record: BlocksRecord): Promise<void> {
  await execChecked(redis.multi().set(k.blocks(record.host), JSON.stringify(record)).incr(k.dataVersion), `maillog error record for ${record.host}`);
}
