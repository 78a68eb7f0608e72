/**
 * The ingest script (one call stores one or more webhook batches exactly once; see ingest.ts for
 * what it does and ingest-queue.ts for batches stored together), apart from the code that builds its
 * arguments.
 */
import crypto from 'node:crypto';

/*
 * KEYS: 1 counter-id set, 2 latest-events list, 3 its marks list, 4 probe records hash, 5 open probes
 *       zset, 6 data version, 7..(6+nSeen) the provider's id sets (esp:ids, one per day) the call's
 *       ids belong to, then nLegacy sets of ids by arrival day of earlier versions (esp:seen: only read,
 *       while they exist), then nHashes distinct hashes the batch increments (per-day event counts and
 *       graph counters), then nRefs message-ref keys (esp:msg:<provider>:<id>).
 * ARGV: 1 id-set TTL s, 2 counter TTL s, 3 counters id, 4 events kept, 5 nSeen, 6 nHashes, 7 nRefs,
 *       8 the probe header name, 9 the groups, one line each `a fieldA b fieldB s count`: the events
 *       grouped by what they increment (hash index a += fieldA, hash index b += fieldB; b 0: no graph
 *       counter; indexes 1-based among the hashes) and by the id set s (1-based) their ids are looked
 *       up in and added to (s 0: events without a signed time, looked up in the window's sets and
 *       added to its first), 10 n (events), 11 the n event ids in group order,
 *       one per line (few large arguments cost much less to send than many small ones), 12 the id
 *       positions (1-based) of the nRefs events that can settle a probe, in ref order, 13 the bounce
 *       JSON each of those probes gets (one per line), 14 nBatches: the request's batches (several
 *       when requests arriving together are stored in one call, lib/esp/webhooks/ingest-queue.ts),
 *       whose groups and ids follow each other in that order, 15 the window: the indexes of the id
 *       sets of the last days of arrival (today's first; '' when no group has s 0), 16 nLegacy; then
 *       4 per batch: the latest-events
 *       entry's header (lib/esp/webhooks/latest.ts, without its skip field), its payload, the
 *       batch's number of events, and their positions in the payload (0-based, space-separated, in
 *       id order; read only when part of the batch was seen before).
 * Returns a string of n digits, one per id in ARGV order: 2 counted now and settled a probe, 1
 * counted now, 0 already counted (an earlier request, or earlier in this call: a batch and its retry
 * stored together count once).
 * Work per batch: one SMISMEMBER per id set that exists (one set: the day of the events) and one
 * SADD for the ids (plus one SMISMEMBER per legacy set that still exists), one HINCRBY per
 * (hash, field), one list entry for the latest events (none for a batch the newer batches of the same
 * call push out at once; the list is trimmed with LTRIM, which copies nothing back into the script);
 * nothing per event but a table lookup. Every key's
 * type and every field the batch increments is checked before the first write, so a bad key
 * (another tool's string where a hash belongs) fails the whole request with nothing written; after
 * the checks no command can fail (message refs are read with MGET, which reads a key of another
 * type as nil). A hash gets its expiry when this script creates it.
 */
export const ingestScript = `
local ns, nh, nr, n, nb = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[10]), tonumber(ARGV[14])
local nl = tonumber(ARGV[16])
local pb = 16
local sb = 6
local lb = sb + ns
local hb = lb + nl
local rb = hb + nh
local ids = {}
for id in string.gmatch(ARGV[11], '[^\\n]+') do ids[#ids + 1] = id end
if #ids ~= n then return redis.error_reply('BADARG ids') end
local inBatches = 0
for b = 1, nb do inBatches = inBatches + tonumber(ARGV[pb + 4 * b - 1]) end
if inBatches ~= n then return redis.error_reply('BADARG batch sizes') end
local function iserr(r) return type(r) == 'table' and r.err ~= nil end
local function bad(key, what) return redis.error_reply('BADKEY ' .. key .. ' is not ' .. what) end
-- Checks (reads only) -------------------------------------------------------------------------
local member = redis.pcall('SISMEMBER', KEYS[1], ARGV[3])
if iserr(member) then return bad(KEYS[1], 'a set') end
local llen = redis.pcall('LLEN', KEYS[2])
if iserr(llen) then return bad(KEYS[2], 'a list') end
local mlen = redis.pcall('LLEN', KEYS[3])
if iserr(mlen) then return bad(KEYS[3], 'a list') end
local groups = {}
local total = 0
local fields = {}
local listed = {}
local function want(h, f)
  local l = listed[h]
  if not l then l = {}; listed[h] = l; fields[h] = {} end
  if not l[f] then l[f] = true; table.insert(fields[h], f) end
end
for a, fa, b, fb, s, c in string.gmatch(ARGV[9], '(%d+) (%S+) (%d+) (%S+) (%d+) (%d+)') do
  local g = { tonumber(a), fa, tonumber(b), fb, tonumber(s), tonumber(c) }
  groups[#groups + 1] = g
  total = total + g[6]
  want(g[1], fa)
  if g[3] > 0 then want(g[3], fb) end
end
if total ~= n then return redis.error_reply('BADARG group sizes') end
local created = {}
for h = 1, nh do
  local key = KEYS[hb + h]
  local t = redis.call('TYPE', key).ok
  if t == 'none' then created[h] = true
  elseif t ~= 'hash' then return bad(key, 'a hash')
  elseif fields[h] then
    local fs = fields[h]
    local vals = redis.call('HMGET', key, unpack(fs))
    for x = 1, #fs do
      local v = vals[x]
      if v and not string.match(v, '^%-?%d+$') then return redis.error_reply('BADKEY ' .. key .. ' field ' .. fs[x] .. ' is not an integer') end
    end
  end
end
-- Ids counted before: each group's ids in its one id set (s 0: in each of the window's), every id
-- in each legacy set; a set that does not exist is not asked. One SMISMEMBER per set and slice
-- (unpack has a limit).
local window = {}
for w in string.gmatch(ARGV[15], '%d+') do window[#window + 1] = tonumber(w) end
local bySet = {}
do
  local pos = 0
  for _, g in ipairs(groups) do
    local l = bySet[g[5]]
    if not l then l = {}; bySet[g[5]] = l end
    for x = 1, g[6] do
      pos = pos + 1
      l[#l + 1] = pos
    end
  end
end
local known = {}
-- The ids at the positions listed in at (nil: all, in order) looked up in the set key; false when it is not a set.
local function lookup(key, at)
  if redis.call('EXISTS', key) == 0 then return true end
  local count = at and #at or n
  for j = 1, count, 1000 do
    local last = math.min(j + 999, count)
    local r
    if at then
      local args = {}
      for x = j, last do args[#args + 1] = ids[at[x]] end
      r = redis.pcall('SMISMEMBER', key, unpack(args))
    else
      r = redis.pcall('SMISMEMBER', key, unpack(ids, j, last))
    end
    if iserr(r) then return false end
    for x = 1, #r do
      if r[x] == 1 then known[at and at[j + x - 1] or (j + x - 1)] = true end
    end
  end
  return true
end
for s, at in pairs(bySet) do
  -- All the call's ids in one set (the usual case): no list of them to build.
  if #at == n then at = nil end
  if s > 0 then
    if not lookup(KEYS[sb + s], at) then return bad(KEYS[sb + s], 'a set') end
  else
    for _, w in ipairs(window) do
      if not lookup(KEYS[sb + w], at) then return bad(KEYS[sb + w], 'a set') end
    end
  end
end
for l = 1, nl do
  if not lookup(KEYS[lb + l], nil) then return bad(KEYS[lb + l], 'a set') end
end
-- The message refs of the events that can settle a probe, in one MGET; the probe keys are checked
-- only when one of them exists.
local refAt = {}
local refs = {}
if nr > 0 then
  local r = 0
  for p in string.gmatch(ARGV[12], '%d+') do r = r + 1; refAt[tonumber(p)] = r end
  local any = false
  for j = 1, nr, 1000 do
    local got = redis.call('MGET', unpack(KEYS, rb + j, rb + math.min(j + 999, nr)))
    for x = 1, #got do
      refs[j + x - 1] = got[x]
      if got[x] then any = true end
    end
  end
  if any then
    local function typeok(key, want) local t = redis.call('TYPE', key).ok; return t == 'none' or t == want end
    if not typeok(KEYS[4], 'hash') then return bad(KEYS[4], 'a hash') end
    if not typeok(KEYS[5], 'zset') then return bad(KEYS[5], 'a sorted set') end
    if not typeok(KEYS[6], 'string') then return bad(KEYS[6], 'a string') end
  end
end
-- Writes --------------------------------------------------------------------------------------
-- The probe an event's message id belongs to, if the probe is still open: its token and record.
local function openProbe(r)
  local ref = refs[r]
  if not ref then return nil end
  local okj, obj = pcall(cjson.decode, ref)
  if not okj or type(obj) ~= 'table' or type(obj.headers) ~= 'table' then return nil end
  local token = obj.headers[ARGV[8]]
  if type(token) ~= 'string' then return nil end
  local cur = redis.call('HGET', KEYS[4], token)
  if not cur then return nil end
  local okr, rec = pcall(cjson.decode, cur)
  if not okr or type(rec) ~= 'table' or rec.returnedAt ~= nil or rec.bounce ~= nil or rec.sendError ~= nil then return nil end
  return token, cur
end
local bounces
local function bounceOf(r)
  if not bounces then
    bounces = {}
    for b in string.gmatch(ARGV[13], '[^\\n]+') do bounces[#bounces + 1] = b end
  end
  return bounces[r]
end
local incr = {}
local order = {}
local function add(h, field, c)
  local byField = incr[h]
  if not byField then byField = {}; incr[h] = byField end
  local v = byField[field]
  if not v then order[#order + 1] = { h, field }; v = 0 end
  byField[field] = v + c
end
local out = {}
local newIds = {}
local inBatch = {}
local counted = false
local settled = false
local pos = 0
for _, g in ipairs(groups) do
  local fresh = 0
  local s = g[5]
  if s == 0 then s = window[1] end
  for x = 1, g[6] do
    pos = pos + 1
    local id = ids[pos]
    if known[pos] or inBatch[id] then
      out[pos] = '0'
    else
      inBatch[id] = true
      local l = newIds[s]
      if not l then l = {}; newIds[s] = l end
      l[#l + 1] = id
      fresh = fresh + 1
      out[pos] = '1'
      local r = refAt[pos]
      if r then
        local token, cur = openProbe(r)
        if token then
          -- The record is JSON.stringify output (an object): the bounce goes in before its closing brace.
          redis.call('HSET', KEYS[4], token, string.sub(cur, 1, -2) .. ',"bounce":' .. bounceOf(r) .. '}')
          redis.call('ZREM', KEYS[5], token)
          out[pos] = '2'
          settled = true
        end
      end
    end
  end
  if fresh > 0 then
    add(g[1], g[2], fresh)
    if g[3] > 0 then add(g[3], g[4], fresh); counted = true end
  end
end
-- Each id set written lives ARGV[1] seconds past its last addition.
for s, l in pairs(newIds) do
  for j = 1, #l, 1000 do
    redis.call('SADD', KEYS[sb + s], unpack(l, j, math.min(j + 999, #l)))
  end
  redis.call('EXPIRE', KEYS[sb + s], ARGV[1])
end
for _, o in ipairs(order) do
  redis.call('HINCRBY', KEYS[hb + o[1]], o[2], incr[o[1]][o[2]])
end
for h, _ in pairs(created) do
  if incr[h] then redis.call('EXPIRE', KEYS[hb + h], ARGV[2]) end
end
if settled then redis.call('INCR', KEYS[6]) end
if counted and member == 0 then redis.call('SADD', KEYS[1], ARGV[3]) end
-- The latest events: one entry per batch with events counted now (its others listed as skipped),
-- trimmed by events: an entry stays while the events newer than it are fewer than kept (ARGV 4). A batch
-- of this call that the newer batches of the call would push out at once is not pushed at all.
local kept = tonumber(ARGV[4])
local fresh = {}
local start = 0
for b = 1, nb do
  local size = tonumber(ARGV[pb + 4 * (b - 1) + 3])
  local f = 0
  for p = start + 1, start + size do
    if out[p] ~= '0' then f = f + 1 end
  end
  fresh[b] = f
  start = start + size
end
local newer = 0
local from = nb + 1
for b = nb, 1, -1 do
  if newer >= kept then break end
  from = b
  newer = newer + fresh[b]
end
local mark
start = 0
for b = 1, nb do
  local base = pb + 4 * (b - 1)
  local size = tonumber(ARGV[base + 3])
  if b >= from and fresh[b] > 0 then
    local skip = '-'
    if fresh[b] < size then
      local at = {}
      for p in string.gmatch(ARGV[base + 4], '%d+') do at[#at + 1] = p end
      local s = {}
      for p = 1, size do
        if out[start + p] == '0' then s[#s + 1] = at[p] end
      end
      skip = table.concat(s, ',')
    end
    if not mark then
      -- Entries of an earlier version (one event each, no marks): replaced.
      if llen ~= mlen then redis.call('DEL', KEYS[2], KEYS[3]) end
      mark = tonumber(redis.call('LINDEX', KEYS[3], 0)) or 0
    end
    mark = mark + fresh[b]
    redis.call('LPUSH', KEYS[2], ARGV[base + 1] .. ' ' .. skip .. '\\n' .. ARGV[base + 2])
    redis.call('LPUSH', KEYS[3], mark)
  end
  start = start + size
end
if mark then
  -- The entries pushed out, counted from the oldest (their marks are short strings), then one LTRIM
  -- per list (RPOP would copy each popped batch into the script).
  local drop = 0
  while true do
    local tail = tonumber(redis.call('LINDEX', KEYS[3], -1 - drop))
    if not tail or mark - tail < kept then break end
    drop = drop + 1
  end
  if drop > 0 then
    redis.call('LTRIM', KEYS[2], 0, -1 - drop)
    redis.call('LTRIM', KEYS[3], 0, -1 - drop)
  end
end
return table.concat(out)
`;
export const ingestSha = crypto.createHash('sha1').update(ingestScript).digest('hex');
