/**
 * The record store: the one module that reads and writes the records mtarep keeps in Redis
 * (IpRecord, HostRecord, BlocksRecord, RunSummary, history points, acknowledgements, the data version),
 * for the collector and the dashboard alike. Every read is checked (schemas.ts); a record that is not
 * JSON, has the wrong shape, or sits in a key of the wrong Redis type is reported in `problems` as
 * "<key>: <what>" and left out, so the rest keeps working. Only a failure of Redis itself throws.
 *
 * Round trips do not grow with the fleet: reads are MGETs and pipelines, writes are MULTIs and, for
 * IP records, one script call per 500 IPs (write-ips.ts). Every IP record is one SET (a reader sees
 * the old record or the new one, never a mix), and every transaction that changes stored data also
 * INCRs `dataVersion` (the dashboard caches pages per version). Hosts and IPs that left the config
 * are found through the previous HostRecords and the host index, never KEYS.
 */
import type { AnyPlugin } from '../checks/index.js';
import { parseAck, type Ack } from '../issues.js';
import type { Keys } from '../keys.js';
import type { BlocksRecord, HistoryPoint, HostRecord, IpRecord, RunSummary } from '../model.js';
import type { Redis } from '../redis.js';
import { decode, encode, isWrongType, replies, WrongTypeError, wrongTypeProblem, type Problems } from './codec.js';
import { historyPoint } from './history.js';
import { readIpRecord } from './ip-record.js';
import { writeIpBatch } from './write-ips.js';
import { blocksRecordSchema, historyPointSchema, hostRecordSchema, runSummarySchema } from './schemas.js';

export { WrongTypeError, type Problems } from './codec.js';
export { historyPoint, listingCount } from './history.js';

const batchSize = 500;

function chunks<T>(items: readonly T[], size = batchSize): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** MGET in batches: the raw strings by key (absent keys, and keys of another type, read as null). */
async function mget(redis: Redis, keyList: readonly string[]): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  for (const part of chunks(keyList)) if (part.length) out.push(...(await redis.mget(...part)));
  return out;
}

/** Decoders by record kind, for callers that hold raw strings (a pipeline's replies). */
export const decodeRecord = {
  host: (key: string, raw: string | null | undefined, p: Problems): HostRecord | undefined => decode(hostRecordSchema, key, raw, p) as HostRecord | undefined,
  ip: (key: string, raw: string | null | undefined, p: Problems): IpRecord | undefined => readIpRecord(key, raw, p),
  blocks: (key: string, raw: string | null | undefined, p: Problems): BlocksRecord | undefined =>
    decode(blocksRecordSchema, key, raw, p) as BlocksRecord | undefined,
  run: (key: string, raw: string | null | undefined, p: Problems): RunSummary | undefined => decode(runSummarySchema, key, raw, p) as RunSummary | undefined,
};

/** Host records by name (names without a readable record are left out). */
export async function readHosts(redis: Redis, k: Keys, names: readonly string[], problems: Problems = []): Promise<Map<string, HostRecord>> {
  const raw = await mget(redis, names.map((n) => k.host(n)));
  const out = new Map<string, HostRecord>();
  names.forEach((n, i) => {
    const r = decodeRecord.host(k.host(n), raw[i], problems);
    if (r) out.set(n, r);
  });
  return out;
}

/** IP records by IP (records of the previous version are migrated on read). */
export async function readIps(redis: Redis, k: Keys, ips: readonly string[], problems: Problems = []): Promise<Map<string, IpRecord>> {
  return ipMap(k, ips, await mget(redis, ips.map((ip) => k.ip(ip))), problems);
}

function ipMap(k: Keys, ips: readonly string[], raw: readonly (string | null)[], problems: Problems): Map<string, IpRecord> {
  const out = new Map<string, IpRecord>();
  ips.forEach((ip, i) => {
    const r = decodeRecord.ip(k.ip(ip), raw[i], problems);
    if (r) out.set(ip, r);
  });
  return out;
}

/** Provider-block records by host (written by the maillog part). */
export async function readBlocks(redis: Redis, k: Keys, hosts: readonly string[], problems: Problems = []): Promise<Map<string, BlocksRecord>> {
  const raw = await mget(redis, hosts.map((h) => k.blocks(h)));
  const out = new Map<string, BlocksRecord>();
  hosts.forEach((h, i) => {
    const r = decodeRecord.blocks(k.blocks(h), raw[i], problems);
    if (r) out.set(h, r);
  });
  return out;
}

/** Every acknowledgement by issue id; a key of the wrong type reads as none (and is named). */
export async function readAcks(redis: Redis, k: Keys, problems: Problems = []): Promise<Map<string, Ack>> {
  try {
    return ackMap(await redis.hgetall(k.acks));
  } catch (e) {
    if (!isWrongType(e)) throw e;
    problems.push(wrongTypeProblem(k.acks, 'hash'));
    return new Map();
  }
}

function ackMap(h: Record<string, string> | null | undefined): Map<string, Ack> {
  return new Map(Object.entries(h ?? {}).map(([id, v]) => [id, parseAck(v)]));
}

/** The version a reader compares cached pages with. A key of the wrong type reads as `unreadableVersion`. */
export const unreadableVersion = 'unreadable';

export async function readVersion(redis: Redis, k: Keys): Promise<string> {
  try {
    return (await redis.get(k.dataVersion)) ?? '0';
  } catch (e) {
    if (isWrongType(e)) return unreadableVersion;
    throw e;
  }
}

export interface PreviousState {
  /** Host records of every host in the index or in the config, by host name. */
  hosts: Map<string, HostRecord>;
  /** Host names in the index (hosts with a stored record). */
  indexed: string[];
}

/** Previous host records: of configured hosts and of every host that has one stored. */
export async function readPreviousHosts(redis: Redis, k: Keys, configured: readonly string[], problems: Problems = []): Promise<PreviousState> {
  const indexed = await redis.smembers(k.hostIndex);
  const names = [...new Set([...configured, ...indexed])];
  return { hosts: await readHosts(redis, k, names, problems), indexed };
}

/** Everything a dashboard page needs, in two round trips whatever the fleet size. */
export interface Snapshot {
  /** keys.dataVersion when the snapshot was read ('0' when never written). */
  version: string;
  lastRun: RunSummary | null;
  /** Per configured host name: its record, or undefined when the collector has not stored one yet. */
  hosts: Map<string, HostRecord | undefined>;
  ips: Map<string, IpRecord>;
  blocks: Map<string, BlocksRecord>;
  acks: Map<string, Ack>;
  /** Records and keys that could not be read ("<key>: <why>"): shown, never silently dropped. */
  problems: string[];
}

/**
 * One pipeline (version, last run, acks, every host record, every blocks record), then one MGET of the
 * IP records of the IPs `ipsOf` names for each host (given its record, if any).
 */
export async function readSnapshot(
  redis: Redis,
  k: Keys,
  names: readonly string[],
  ipsOf: (name: string, rec: HostRecord | undefined) => readonly string[],
): Promise<Snapshot> {
  const problems: Problems = [];
  const p = redis.pipeline().get(k.dataVersion).get(k.lastRun).hgetall(k.acks);
  if (names.length > 0) {
    p.mget(names.map((n) => k.host(n)));
    p.mget(names.map((n) => k.blocks(n)));
  }
  const types = [
    { key: k.dataVersion, type: 'string' },
    { key: k.lastRun, type: 'string' },
    { key: k.acks, type: 'hash' },
  ];
  const r = replies(await p.exec(), (i) => types[i], problems);
  const version = r[0] === null && problems.some((x) => x.startsWith(`${k.dataVersion}:`)) ? unreadableVersion : ((r[0] as string | null) ?? '0');
  const lastRun = decodeRecord.run(k.lastRun, r[1] as string | null, problems) ?? null;
  const acks = ackMap(r[2] as Record<string, string> | null);
  const hostRaw = (r[3] as (string | null)[] | undefined) ?? [];
  const blockRaw = (r[4] as (string | null)[] | undefined) ?? [];
  const hosts = new Map<string, HostRecord | undefined>();
  const blocks = new Map<string, BlocksRecord>();
  names.forEach((n, i) => {
    hosts.set(n, decodeRecord.host(k.host(n), hostRaw[i], problems));
    const b = decodeRecord.blocks(k.blocks(n), blockRaw[i], problems);
    if (b) blocks.set(n, b);
  });
  const ipList = [...new Set(names.flatMap((n) => ipsOf(n, hosts.get(n))))];
  // One MGET whatever the fleet size: the page's round trips stay fixed.
  const ips = ipList.length > 0 ? ipMap(k, ipList, await redis.mget(ipList.map((ip) => k.ip(ip))), problems) : new Map<string, IpRecord>();
  return { version, lastRun, hosts, ips, blocks, acks, problems };
}

/** History points of some IPs since `since` (epoch ms): one pipeline. A corrupt point is skipped (a chart gap). */
export async function readHistory(redis: Redis, k: Keys, ips: readonly string[], since: number): Promise<Map<string, HistoryPoint[]>> {
  const out = new Map<string, HistoryPoint[]>();
  if (ips.length === 0) return out;
  const p = redis.pipeline();
  for (const ip of ips) p.zrangebyscore(k.history(ip), since, '+inf');
  const problems: Problems = [];
  const r = replies(await p.exec(), (i) => ({ key: k.history(ips[i]!), type: 'sorted set' }), problems);
  ips.forEach((ip, i) => {
    const pts: HistoryPoint[] = [];
    for (const m of (r[i] as string[] | null) ?? []) {
      const pt = decode(historyPointSchema, k.history(ip), m, problems) as HistoryPoint | undefined;
      if (pt) pts.push(pt);
    }
    out.set(ip, pts);
  });
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
  /** The check plugins whose fields make the history point (default: all built in). */
  plugins?: readonly AnyPlugin[];
}

/**
 * Write a run's results: IP records with their history points (batches of MULTI, a few in flight), then host records,
 * the host index and removals in one MULTI. Throws when Redis refuses any command.
 */
export async function writeResults(redis: Redis, k: Keys, w: WriteInput): Promise<void> {
  const keepMs = w.historyDays * 86_400_000;
  // Up to `window` batches in flight: Redis runs one while the next is built, and none waits behind
  // so many others that its command timeout could pass on a loaded machine.
  const window = 4;
  const batches: Promise<unknown>[] = [];
  let settled = 0;
  let failing = false;
  for (const part of chunks(w.records)) {
    if (batches.length - settled >= window) await batches[settled++]!.catch(() => (failing = true));
    if (failing) break; // no more writes after a refused one
    // A history nobody writes to any more (an IP gone without a run noticing) ends on its own: each
    // write renews its expiry (write-ips.ts).
    const batch = part.map((rec) => ({ ip: rec.ip, json: encode(rec), point: JSON.stringify(historyPoint(rec, w.t, w.plugins)) }));
    batches.push(writeIpBatch(redis, k, batch, w.t, keepMs));
  }
  // All settled before throwing the first failure: no write is left running behind the error.
  const failed = (await Promise.allSettled(batches)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const m = redis.multi();
  for (const h of w.hosts) m.set(k.host(h.name), JSON.stringify(h));
  if (w.hosts.length) m.sadd(k.hostIndex, ...w.hosts.map((h) => h.name));
  if (w.removedHosts.length) {
    m.srem(k.hostIndex, ...w.removedHosts);
    m.del(...w.removedHosts.flatMap((n) => [k.host(n), k.blocks(n)]));
  }
  for (const part of chunks(w.removedIps)) m.del(...part.flatMap((ip) => [k.ip(ip), k.history(ip)]));
  m.incr(k.dataVersion);
  await execNamed(m, 'writing host records', (i, n) => (i === n - 1 ? k.dataVersion : undefined));
}

/** Every acknowledged issue id. */
export async function readAckIds(redis: Redis, k: Keys, problems: Problems = []): Promise<string[]> {
  return [...(await readAcks(redis, k, problems)).keys()];
}

export async function removeAcks(redis: Redis, k: Keys, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const m = redis.multi();
  m.hdel(k.acks, ...ids);
  m.incr(k.dataVersion);
  await execNamed(m, 'removing acknowledgements', (i) => [k.acks, k.dataVersion][i]);
}

/**
 * Store the run summary at the head of the trimmed run list, each source's part as that source's last
 * run, and `last` (default the summary) as the last run the dashboard shows.
 */
export async function storeSummary(
  redis: Redis,
  k: Keys,
  s: RunSummary,
  keepRuns: number,
  o: { last?: RunSummary; perSource?: readonly RunSummary[] } = {},
): Promise<void> {
  const json = JSON.stringify(s);
  const m = redis.multi();
  const order: string[] = [];
  m.set(k.lastRun, o.last === undefined || o.last === s ? json : JSON.stringify(o.last));
  order.push(k.lastRun);
  for (const p of o.perSource ?? []) {
    for (const name of p.sources ?? []) {
      m.set(k.sourceLastRun(name), JSON.stringify(p));
      order.push(k.sourceLastRun(name));
    }
  }
  m.lpush(k.runs, json);
  m.ltrim(k.runs, 0, keepRuns - 1);
  m.incr(k.dataVersion);
  order.push(k.runs, k.runs, k.dataVersion);
  await execNamed(m, 'storing the run summary', (i) => order[i]);
}

/** The newest run summary of each named source (sources without a readable one are left out). */
export async function readSourceLastRuns(redis: Redis, k: Keys, names: readonly string[], problems: Problems = []): Promise<Map<string, RunSummary>> {
  const raw = await mget(redis, names.map((n) => k.sourceLastRun(n)));
  const out = new Map<string, RunSummary>();
  names.forEach((n, i) => {
    const r = decodeRecord.run(k.sourceLastRun(n), raw[i], problems);
    if (r) out.set(n, r);
  });
  return out;
}

/**
 * execChecked, naming the key a WRONGTYPE reply is about: "<what>: key <key> holds the wrong Redis
 * type (...)" instead of Redis's bare message, so the user knows which key to fix.
 */
export async function execNamed(multi: ReturnType<Redis['multi']>, what: string, keyAt: (i: number, n: number) => string | undefined): Promise<unknown[]> {
  const res = await multi.exec();
  if (res === null) throw new Error(`${what}: transaction aborted (a watched key changed)`);
  const i = res.findIndex(([err]) => err !== null);
  if (i >= 0) {
    const err = res[i]![0] as Error;
    const key = keyAt(i, res.length);
    if (isWrongType(err) && key) throw new WrongTypeError(key, `${what}: key ${key} holds the wrong Redis type (${err.message})`, { cause: err });
    throw new Error(`${what}: ${err.message}`);
  }
  return res.map(([, v]) => v);
}

