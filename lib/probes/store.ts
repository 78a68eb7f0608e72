/**
 * Probe records, summaries, daily stats and the round's state in Redis (keys in lib/keys.ts). Every
 * multi-key change is one MULTI whose every result is checked. Shared by the round (writes) and the
 * dashboard/API (reads).
 */
import type { Redis } from '../redis.js';
import { keys as keyBuilder } from '../keys.js';
import type { FolderPosition } from '../mail/match.js';
import type { DayStat, DomainSummary, ProbeRecord, ProbeRoundState } from './model.js';

type Multi = ReturnType<Redis['multi']>;

async function execChecked(m: Multi, what: string): Promise<unknown[]> {
  const res = await m.exec();
  if (!res) throw new Error(`${what}: transaction aborted`);
  return res.map(([err, v]) => {
    if (err) throw new Error(`${what}: ${err.message}`);
    return v;
  });
}

/*
 * saveSent: the answers of a send batch written over the records saved before submission, keeping a
 * bounce an ESP's webhook event wrote meanwhile (lib/esp/webhooks/ingest.ts settles probes in Redis:
 * a `dropped` event can arrive before the round stores what the provider answered).
 * KEYS: 1 records hash, 2 sent zset, 3 open zset, 4 data version, then one per-domain sent zset per record.
 * ARGV: per record three values: token, sent time (ms), record JSON (without a bounce).
 * Returns the number of records that kept a bounce.
 */
const saveSentScript = `
local kept = 0
local n = #KEYS - 4
for i = 1, n do
  local token, sentAt, json = ARGV[3 * i - 2], ARGV[3 * i - 1], ARGV[3 * i]
  local cur = redis.call('HGET', KEYS[1], token)
  local rec = cjson.decode(json)
  if cur then
    local ok, old = pcall(cjson.decode, cur)
    if ok and type(old) == 'table' and type(old.bounce) == 'table' and rec.bounce == nil then
      -- cjson keeps 14 significant digits: enough for epoch ms; strings come back as equal JSON.
      json = string.sub(json, 1, -2) .. ',"bounce":' .. cjson.encode(old.bounce) .. '}'
      rec.bounce = old.bounce
      kept = kept + 1
    end
  end
  redis.call('HSET', KEYS[1], token, json)
  redis.call('ZADD', KEYS[2], sentAt, token)
  redis.call('ZADD', KEYS[4 + i], sentAt, token)
  if rec.sendError ~= nil or rec.bounce ~= nil or rec.returnedAt ~= nil then
    redis.call('ZREM', KEYS[3], token)
  else
    redis.call('ZADD', KEYS[3], sentAt, token)
  end
end
redis.call('INCR', KEYS[4])
return kept
`;

/**
 * zaddEach: one ZADD per key, as one command (a probe round writes to a thousand per-domain indexes).
 * KEYS: the sorted sets. ARGV: per key its score and member. Returns nothing.
 */
const zaddEachScript = `
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[2 * i - 1], ARGV[2 * i])
end
`;

const settled = (p: ProbeRecord) => p.sendError !== undefined || p.bounce !== undefined || p.returnedAt !== undefined;

export function probeStore(redis: Redis, prefix: string) {
  const k = keyBuilder(prefix);
  /** The records' writes as a few variadic commands (one HSET, one ZADD per index), not four per record. */
  const addRecords = (m: Multi, records: readonly ProbeRecord[]) => {
    if (records.length === 0) return;
    // The last record of a token counts, as when written one by one.
    const last = new Map<string, ProbeRecord>();
    for (const p of records) last.set(p.token, p);
    const fields: string[] = [];
    const sent: (string | number)[] = [];
    const open: (string | number)[] = [];
    const closed: string[] = [];
    const domainKeys: string[] = [];
    const domainArgs: (string | number)[] = [];
    for (const p of last.values()) {
      fields.push(p.token, JSON.stringify(p));
      sent.push(p.sentAt, p.token);
      if (settled(p)) closed.push(p.token);
      else open.push(p.sentAt, p.token);
    }
    for (const p of records) {
      domainKeys.push(k.probeSentByDomain(p.domain));
      domainArgs.push(p.sentAt, p.token);
    }
    m.hset(k.probeRecords, ...fields);
    m.zadd(k.probeSent, ...sent);
    m.eval(zaddEachScript, domainKeys.length, ...domainKeys, ...domainArgs);
    if (closed.length > 0) m.zrem(k.probeOpen, ...closed);
    if (open.length > 0) m.zadd(k.probeOpen, ...open);
  };
  const store = {
    /** Write (or replace) probe records with their indexes, atomically. */
    async save(records: readonly ProbeRecord[], bumpVersion = true): Promise<void> {
      if (records.length === 0) return;
      for (let i = 0; i < records.length; i += 2000) {
        const m = redis.multi();
        addRecords(m, records.slice(i, i + 2000));
        if (bumpVersion) m.incr(k.dataVersion);
        await execChecked(m, 'save probes');
      }
    },
    /**
     * Write the answers of a send batch (records saved before submission), keeping a bounce an ESP
     * webhook event recorded meanwhile. Atomic per chunk; returns how many kept such a bounce.
     */
    async saveSent(records: readonly ProbeRecord[]): Promise<number> {
      let kept = 0;
      for (let i = 0; i < records.length; i += 500) {
        const chunk = records.slice(i, i + 500);
        const keyList = [k.probeRecords, k.probeSent, k.probeOpen, k.dataVersion, ...chunk.map((p) => k.probeSentByDomain(p.domain))];
        const argv = chunk.flatMap((p) => [p.token, String(p.sentAt), JSON.stringify(p)]);
        kept += Number(await redis.eval(saveSentScript, keyList.length, ...keyList, ...argv));
      }
      return kept;
    },
    async get(tokens: readonly string[]): Promise<(ProbeRecord | undefined)[]> {
      if (tokens.length === 0) return [];
      const out: (ProbeRecord | undefined)[] = [];
      for (let i = 0; i < tokens.length; i += 5000) {
        const vals = await redis.hmget(k.probeRecords, ...tokens.slice(i, i + 5000));
        for (const v of vals) out.push(v ? (JSON.parse(v) as ProbeRecord) : undefined);
      }
      return out;
    },
    /** A domain's probes sent in [fromMs, toMs], oldest first. */
    async forDomain(domain: string, fromMs: number, toMs: number): Promise<ProbeRecord[]> {
      const tokens = await redis.zrangebyscore(k.probeSentByDomain(domain), fromMs, toMs);
      return (await store.get(tokens)).filter((p): p is ProbeRecord => p !== undefined);
    },
    /** Many domains' probes in one pipeline of range reads. */
    async forDomains(domains: readonly string[], fromMs: number, toMs: number): Promise<Map<string, ProbeRecord[]>> {
      const out = new Map<string, ProbeRecord[]>();
      for (let i = 0; i < domains.length; i += 200) {
        const chunk = domains.slice(i, i + 200);
        const p = redis.pipeline();
        for (const d of chunk) p.zrangebyscore(k.probeSentByDomain(d), fromMs, toMs);
        const res = (await p.exec()) ?? [];
        const tokenLists = res.map(([err, v]) => {
          if (err) throw err;
          return v as string[];
        });
        const all = await store.get(tokenLists.flat());
        let j = 0;
        chunk.forEach((d, n) => {
          const list: ProbeRecord[] = [];
          for (let x = 0; x < tokenLists[n]!.length; x++) {
            const rec = all[j++];
            if (rec) list.push(rec);
          }
          out.set(d, list);
        });
      }
      return out;
    },
    /**
     * Record what a receive found, atomically with where the next receive starts and which messages are
     * still to be deleted: a crash after this leaves nothing counted twice and nothing to re-match.
     */
    async commitReceive(
      updates: readonly ProbeRecord[],
      positions: Record<string, FolderPosition>,
      toDelete: readonly [string, string, number][],
    ): Promise<void> {
      const m = redis.multi();
      addRecords(m, updates);
      for (const [folder, pos] of Object.entries(positions)) m.hset(k.probeImapPositions, folder, JSON.stringify(pos));
      for (const d of toDelete) m.sadd(k.probeDeletePending, JSON.stringify(d));
      m.incr(k.dataVersion);
      await execChecked(m, 'commit receive');
    },
    async positions(): Promise<Record<string, FolderPosition>> {
      const all = await redis.hgetall(k.probeImapPositions);
      return Object.fromEntries(Object.entries(all).map(([f, v]) => [f, JSON.parse(v) as FolderPosition]));
    },
    async pendingDeletes(): Promise<[string, string, number][]> {
      return (await redis.smembers(k.probeDeletePending)).map((v) => JSON.parse(v) as [string, string, number]);
    },
    async clearPendingDeletes(done: readonly [string, string, number][]): Promise<void> {
      if (done.length) await redis.srem(k.probeDeletePending, ...done.map((d) => JSON.stringify(d)));
    },
    /** Replace every summary (domains removed since drop out). */
    async writeSummaries(summaries: readonly DomainSummary[]): Promise<void> {
      const m = redis.multi();
      m.del(k.probeSummaries);
      for (const s of summaries) m.hset(k.probeSummaries, s.domain, JSON.stringify(s));
      m.incr(k.dataVersion);
      await execChecked(m, 'write summaries');
    },
    async summaries(): Promise<Map<string, DomainSummary>> {
      const all = await redis.hgetall(k.probeSummaries);
      return new Map(Object.entries(all).map(([d, v]) => [d, JSON.parse(v) as DomainSummary]));
    },
    /** One domain's summary (HGET). */
    async summary(domain: string): Promise<DomainSummary | undefined> {
      const v = await redis.hget(k.probeSummaries, domain);
      return v ? (JSON.parse(v) as DomainSummary) : undefined;
    },
    /** Replace the given days of a domain's stats and drop days older than `keepFrom` (YYYY-MM-DD). */
    async writeStats(byDomain: Map<string, DayStat[]>, keepFrom: string): Promise<void> {
      const entries = [...byDomain.entries()];
      for (let i = 0; i < entries.length; i += 200) {
        const m = redis.multi();
        for (const [domain, days] of entries.slice(i, i + 200)) {
          for (const d of days) m.hset(k.probeStats(domain), d.date, JSON.stringify(d));
        }
        await execChecked(m, 'write stats');
      }
      // Retention: a day older than keepFrom goes (HKEYS per domain; a domain holds at most retention days).
      for (const [domain] of entries) {
        const dates = await redis.hkeys(k.probeStats(domain));
        const old = dates.filter((d) => d < keepFrom);
        if (old.length) await redis.hdel(k.probeStats(domain), ...old);
      }
    },
    async stats(domain: string, from?: string, to?: string): Promise<DayStat[]> {
      const all = await redis.hgetall(k.probeStats(domain));
      return Object.values(all)
        .map((v) => JSON.parse(v) as DayStat)
        .filter((d) => (from === undefined || d.date >= from) && (to === undefined || d.date <= to))
        .sort((a, b) => a.date.localeCompare(b.date));
    },
    /** Drop probes sent before `beforeMs` (records and indexes). */
    async trim(beforeMs: number, domains: readonly string[]): Promise<number> {
      const old = await redis.zrangebyscore(k.probeSent, '-inf', `(${beforeMs}`);
      for (let i = 0; i < old.length; i += 2000) {
        const chunk = old.slice(i, i + 2000);
        await execChecked(redis.multi().hdel(k.probeRecords, ...chunk).zrem(k.probeSent, ...chunk).zrem(k.probeOpen, ...chunk), 'trim probes');
      }
      if (old.length) {
        const p = redis.pipeline();
        for (const d of domains) p.zremrangebyscore(k.probeSentByDomain(d), '-inf', `(${beforeMs}`);
        await p.exec();
      }
      return old.length;
    },
    async state(): Promise<ProbeRoundState> {
      const v = await redis.get(k.probeState);
      return v ? (JSON.parse(v) as ProbeRoundState) : {};
    },
    async setState(s: ProbeRoundState): Promise<void> {
      await redis.set(k.probeState, JSON.stringify(s));
    },
  };
  return store;
}

export type ProbeStore = ReturnType<typeof probeStore>;
