/**
 * Reading what the collector stored, in a fixed number of Redis round trips whatever the fleet size:
 * one pipeline (version, last run, acks, every host record, every blocks record), then one MGET of
 * every IP record. A Redis failure becomes RedisUnavailableError, which the app turns into a 503 page.
 */
import type { Config } from '../lib/config/normalize.js';
import type { Keys } from '../lib/keys.js';
import type { BlocksRecord, HistoryPoint, HostRecord, IpRecord, RunSummary } from '../lib/model.js';
import { parseAck, type Ack } from '../lib/issues.js';
import { RedisUnavailableError, type Redis } from '../lib/redis.js';

export interface Snapshot {
  /** keys.dataVersion when the snapshot was read ('0' when never written). */
  version: string;
  lastRun: RunSummary | null;
  /** Per configured host name: its record, or undefined when the collector has not stored one yet. */
  hosts: Map<string, HostRecord | undefined>;
  ips: Map<string, IpRecord>;
  blocks: Map<string, BlocksRecord>;
  acks: Map<string, Ack>;
  /** Records that could not be parsed (key + reason): shown, never silently dropped. */
  problems: string[];
}

/** Run a Redis call; a failure of the connection becomes RedisUnavailableError. */
export async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RedisUnavailableError) throw e;
    throw new RedisUnavailableError(`Redis did not answer (${what}): ${(e as Error).message}`, { cause: e });
  }
}

function parse<T>(key: string, raw: string | null | undefined, problems: string[]): T | undefined {
  if (raw === null || raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch (e) {
    problems.push(`${key}: unreadable record (${(e as Error).message})`);
    return undefined;
  }
}

/** Pipeline replies as values; a per-command error is thrown (pipelines do not throw by themselves). */
function replies(res: [Error | null, unknown][] | null): unknown[] {
  if (res === null) throw new Error('pipeline aborted');
  return res.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}

/** The one cheap read per request that decides whether a cached page is still current. */
export function readVersion(redis: Redis, k: Keys): Promise<string> {
  return guard('data version', async () => (await redis.get(k.dataVersion)) ?? '0');
}

/**
 * readVersion shared by concurrent requests: requests arriving while a GET is in flight join it, so
 * a burst of N requests costs one round trip, not N. `invalidate()` (after this process writes)
 * makes the next request start a fresh read.
 */
export class VersionReader {
  private inflight: Promise<string> | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
  ) {}

  read(): Promise<string> {
    if (this.inflight) return this.inflight;
    const p = readVersion(this.redis, this.k).finally(() => {
      if (this.inflight === p) this.inflight = null;
    });
    this.inflight = p;
    return p;
  }

  invalidate(): void {
    this.inflight = null;
  }
}

/** The IPs a host's rows show: the stored record's, else the ones given in config. */
export function hostIps(config: Config, name: string, rec: HostRecord | undefined): string[] {
  return rec?.ips ?? config.hosts.find((h) => h.name === name)?.ips ?? [];
}

/** Everything the overview, the API and acknowledgements need: two round trips. */
export async function loadSnapshot(redis: Redis, k: Keys, config: Config): Promise<Snapshot> {
  return guard('load', async () => {
    const names = config.hosts.map((h) => h.name);
    const p = redis.pipeline().get(k.dataVersion).get(k.lastRun).hgetall(k.acks);
    if (names.length > 0) {
      p.mget(names.map((n) => k.host(n)));
      p.mget(names.map((n) => k.blocks(n)));
    }
    const r = replies(await p.exec());
    const problems: string[] = [];
    const version = (r[0] as string | null) ?? '0';
    const lastRun = parse<RunSummary>(k.lastRun, r[1] as string | null, problems) ?? null;
    const acks = new Map(Object.entries((r[2] as Record<string, string>) ?? {}).map(([id, v]) => [id, parseAck(v)]));
    const hostRaw = (r[3] as (string | null)[] | undefined) ?? [];
    const blockRaw = (r[4] as (string | null)[] | undefined) ?? [];
    const hosts = new Map<string, HostRecord | undefined>();
    const blocks = new Map<string, BlocksRecord>();
    names.forEach((n, i) => {
      hosts.set(n, parse<HostRecord>(k.host(n), hostRaw[i], problems));
      const b = parse<BlocksRecord>(k.blocks(n), blockRaw[i], problems);
      if (b) blocks.set(n, b);
    });
    const ipList = [...new Set(names.flatMap((n) => hostIps(config, n, hosts.get(n))))];
    const ips = new Map<string, IpRecord>();
    if (ipList.length > 0) {
      const raw = await redis.mget(ipList.map((ip) => k.ip(ip)));
      ipList.forEach((ip, i) => {
        const rec = parse<IpRecord>(k.ip(ip), raw[i], problems);
        if (rec) ips.set(ip, rec);
      });
    }
    return { version, lastRun, hosts, ips, blocks, acks, problems };
  });
}

/** History points of some IPs since `since` (epoch ms): one pipeline. */
export async function loadHistory(redis: Redis, k: Keys, ips: readonly string[], since: number): Promise<Map<string, HistoryPoint[]>> {
  return guard('history', async () => {
    const out = new Map<string, HistoryPoint[]>();
    if (ips.length === 0) return out;
    const p = redis.pipeline();
    for (const ip of ips) p.zrangebyscore(k.history(ip), since, '+inf');
    const r = replies(await p.exec());
    ips.forEach((ip, i) => {
      const pts: HistoryPoint[] = [];
      for (const m of (r[i] as string[]) ?? []) {
        try {
          pts.push(JSON.parse(m) as HistoryPoint);
        } catch {
          /* a corrupt point is skipped: a chart gap, not a broken page */
        }
      }
      out.set(ip, pts);
    });
    return out;
  });
}
