/**
 * The dashboard's reads, through the record store (lib/store): a snapshot in a fixed number of Redis
 * round trips whatever the fleet size, history points, and the data version. A failure of Redis
 * itself becomes RedisUnavailableError, which the app turns into a 503 page; a record or key that
 * cannot be read is named in the snapshot's `problems` and the rest of the page still shows.
 */
import type { Config } from '../lib/config/normalize.js';
import type { Keys } from '../lib/keys.js';
import type { HistoryPoint, HostRecord } from '../lib/model.js';
import { RedisUnavailableError, type Redis } from '../lib/redis.js';
import { readHistory, readSnapshot, readVersion as storedVersion, WrongTypeError, type Snapshot } from '../lib/store/index.js';

export type { Snapshot } from '../lib/store/index.js';

/** Run a Redis call; a failure of the connection becomes RedisUnavailableError. */
export async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    // Redis answered: a key of the wrong type is that key's problem, not an outage.
    if (e instanceof RedisUnavailableError || e instanceof WrongTypeError) throw e;
    throw new RedisUnavailableError(`Redis did not answer (${what}): ${(e as Error).message}`, { cause: e });
  }
}

/** The one cheap read per request that decides whether a cached page is still current. */
export function readVersion(redis: Redis, k: Keys): Promise<string> {
  return guard('data version', () => storedVersion(redis, k));
}

/**
 * readVersion shared by concurrent requests: requests arriving while a GET is in flight join it, so
 * a burst of N requests costs one round trip, not N. `invalidate()` (after this process writes)
 * makes the next request start a fresh read.
 *
 * While a watch is live (web/version-watch.ts: Redis tells this process each time the version key
 * changes) the version is known without asking: the last GET's answer stays true until the next
 * change notice, so a cached request costs no round trip. Any notice, `invalidate()` or loss of the
 * watch forgets it (the next request reads again); an answer is kept only when no notice came while
 * it was on its way, and only while the watch is live.
 */
export class VersionReader {
  private inflight: Promise<string> | null = null;
  private known: string | undefined;
  /** Bumped by every notice, invalidate() and change of the watch: answers of older reads are not kept. */
  private generation = 0;
  private watching = false;

  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
  ) {}

  read(): Promise<string> {
    if (this.known !== undefined) return Promise.resolve(this.known);
    if (this.inflight) return this.inflight;
    const g = this.generation;
    const p = readVersion(this.redis, this.k)
      .then((v) => {
        if (this.watching && this.generation === g) this.known = v;
        return v;
      })
      .finally(() => {
        if (this.inflight === p) this.inflight = null;
      });
    this.inflight = p;
    return p;
  }

  /** The version when known without a round trip (a live watch and no change since the last read), else undefined. */
  current(): string | undefined {
    return this.known;
  }

  /** True while the watch is live (a notice arrives for every change). */
  get live(): boolean {
    return this.watching;
  }

  /** Forget what is known: the next read asks Redis (after this process writes, or on a change notice). */
  invalidate(): void {
    this.generation++;
    this.known = undefined;
    this.inflight = null;
  }

  /** The watch went live (true) or was lost (false); either way the next read asks Redis. */
  setWatching(on: boolean): void {
    this.watching = on;
    this.invalidate();
  }

  /** The generation (tests and the watch's check compare it across a read). */
  get changes(): number {
    return this.generation;
  }
}

/** The IPs a host's rows show: the stored record's, else the ones given in config. */
export function hostIps(config: Config, name: string, rec: HostRecord | undefined): string[] {
  return rec?.ips ?? config.hosts.find((h) => h.name === name)?.ips ?? [];
}

/** Everything the overview, the API and acknowledgements need: two round trips. */
export async function loadSnapshot(redis: Redis, k: Keys, config: Config): Promise<Snapshot> {
  return guard('load', () =>
    readSnapshot(
      redis,
      k,
      config.hosts.map((h) => h.name),
      (n, rec) => hostIps(config, n, rec),
    ),
  );
}

/** History points of some IPs since `since` (epoch ms): one pipeline. */
export async function loadHistory(redis: Redis, k: Keys, ips: readonly string[], since: number): Promise<Map<string, HistoryPoint[]>> {
  return guard('history', () => readHistory(redis, k, ips, since));
}
