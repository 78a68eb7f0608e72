/**
 * Redis I/O of a collector run. Round trips do not grow with the fleet: reads are MGETs and writes are
 * MULTIs of 500 IPs each (measured fastest among 100-1000 with ioredis). Every IP record is one SET (a
 * reader sees the old record or the new one, never a mix), and every transaction that changes stored
 * data also INCRs `dataVersion` (the dashboard caches pages per version). Hosts and IPs that left the
 * config are found through the previous HostRecords and the host index, never KEYS.
 */
import type { Redis } from '../lib/redis.js';
import { execChecked } from '../lib/redis.js';
import type { Keys } from '../lib/keys.js';
import type { BlocksRecord, HostRecord, IpRecord, RunSummary } from '../lib/model.js';
import { historyPoint } from './records.js';

const batchSize = 500;

function chunks<T>(items: readonly T[], size = batchSize): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function parseJson<T>(text: string | null): T | undefined {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    // A record that is not JSON is ignored as "no previous record"; the run then overwrites it.
    return undefined;
  }
}

/** MGET JSON values in batches; absent or unreadable values are left out. */
export async function mgetJson<T>(redis: Redis, keyList: readonly string[]): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  for (const part of chunks(keyList)) {
    if (part.length === 0) continue;
    const values = await redis.mget(...part);
    part.forEach((k, i) => {
      const v = parseJson<T>(values[i] ?? null);
      if (v !== undefined) out.set(k, v);
    });
  }
  return out;
}

export interface PreviousState {
  /** Host records of every host in the index or in the config, by host name. */
  hosts: Map<string, HostRecord>;
  /** Host names in the index (hosts with a stored record). */
  indexed: string[];
}

/** Previous host records: of configured hosts and of every host that has one stored. */
export async function readPreviousHosts(redis: Redis, k: Keys, configured: readonly string[]): Promise<PreviousState> {
  const indexed = await redis.smembers(k.hostIndex);
  const names = [...new Set([...configured, ...indexed])];
  const byKey = await mgetJson<HostRecord>(redis, names.map((n) => k.host(n)));
  const hosts = new Map<string, HostRecord>();
  for (const n of names) {
    const r = byKey.get(k.host(n));
    if (r) hosts.set(n, r);
  }
  return { hosts, indexed };
}

/** Previous IP records of the given IPs. */
export async function readPreviousIps(redis: Redis, k: Keys, ips: readonly string[]): Promise<Map<string, IpRecord>> {
  const byKey = await mgetJson<IpRecord>(redis, ips.map((ip) => k.ip(ip)));
  const out = new Map<string, IpRecord>();
  for (const ip of ips) {
    const r = byKey.get(k.ip(ip));
    if (r) out.set(ip, r);
  }
  return out;
}

export interface WriteInput {
  records: readonly IpRecord[];
  hosts: readonly HostRecord[];
  /** Host names whose records go (no longer configured). */
  removedHosts: readonly string[];
  /** IPs whose records and history go (no longer configured or resolved). */
  removedIps: readonly string[];
  /** Epoch ms of this run's history points. */
  t: number;
  historyDays: number;
}

/**
 * Write a run's results: IP records with their history points (batches of MULTI), then host records,
 * the host index and removals in one MULTI. Throws when Redis refuses any command.
 */
export async function writeResults(redis: Redis, k: Keys, w: WriteInput): Promise<void> {
  const keepMs = w.historyDays * 86_400_000;
  for (const part of chunks(w.records)) {
    const m = redis.multi();
    for (const rec of part) {
      m.set(k.ip(rec.ip), JSON.stringify(rec));
      const h = k.history(rec.ip);
      m.zadd(h, w.t, JSON.stringify(historyPoint(rec, w.t)));
      m.zremrangebyscore(h, '-inf', `(${w.t - keepMs}`);
      // A history nobody writes to any more (an IP gone without a run noticing) ends on its own.
      m.pexpire(h, keepMs);
    }
    m.incr(k.dataVersion);
    await execChecked(m, 'writing IP records');
  }
  const m = redis.multi();
  for (const h of w.hosts) m.set(k.host(h.name), JSON.stringify(h));
  if (w.hosts.length) m.sadd(k.hostIndex, ...w.hosts.map((h) => h.name));
  if (w.removedHosts.length) {
    m.srem(k.hostIndex, ...w.removedHosts);
    m.del(...w.removedHosts.flatMap((n) => [k.host(n), k.blocks(n)]));
  }
  for (const part of chunks(w.removedIps)) m.del(...part.flatMap((ip) => [k.ip(ip), k.history(ip)]));
  m.incr(k.dataVersion);
  await execChecked(m, 'writing host records');
}

/** Provider-block records of the given hosts (written by the maillog part). */
export async function readBlocks(redis: Redis, k: Keys, hosts: readonly string[]): Promise<BlocksRecord[]> {
  return [...(await mgetJson<BlocksRecord>(redis, hosts.map((h) => k.blocks(h)))).values()];
}

/** Every acknowledged issue id. */
export async function readAckIds(redis: Redis, k: Keys): Promise<string[]> {
  return redis.hkeys(k.acks);
}

export async function removeAcks(redis: Redis, k: Keys, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const m = redis.multi();
  m.hdel(k.acks, ...ids);
  m.incr(k.dataVersion);
  await execChecked(m, 'removing acknowledgements');
}

/** Store the run summary as the last run and at the head of the trimmed run list. */
export async function storeSummary(redis: Redis, k: Keys, s: RunSummary, keepRuns: number): Promise<void> {
  const json = JSON.stringify(s);
  const m = redis.multi();
  m.set(k.lastRun, json);
  m.lpush(k.runs, json);
  m.ltrim(k.runs, 0, keepRuns - 1);
  m.incr(k.dataVersion);
  await execChecked(m, 'storing the run summary');
}
