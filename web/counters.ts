/**
 * The graph counters of one day, summed over every identifier: the original's
 * `<id>:<YYYYMMDD>:<type>` hashes (field = recipient domain). Identifiers come from the set mtarep
 * writes plus a SCAN for external writers (Logstash and friends); the SCAN result is cached briefly
 * so a page view costs one pipeline of HMGETs, not a keyspace walk.
 */
import { counterTypes, type CounterType, type Keys } from '../lib/keys.js';
import type { Redis } from '../lib/redis.js';
import { guard } from './data.js';

export type DayCounters = Record<CounterType, Record<string, number>>;

const SCAN_TTL_MS = 60_000;

export class CounterReader {
  private idCache = new Map<string, { at: number; keys: string[] }>();

  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every counter key of a day, any identifier and type. */
  private async keysOf(day: string): Promise<string[]> {
    const hit = this.idCache.get(day);
    if (hit && this.now() - hit.at < SCAN_TTL_MS) return hit.keys;
    const found = new Set<string>();
    const ids = await this.redis.smembers(this.k.counterIds);
    for (const id of ids) for (const t of counterTypes) found.add(this.k.counter(id, day, t));
    for (const t of counterTypes) {
      let cursor = '0';
      do {
        const [next, batch] = await this.redis.scan(cursor, 'MATCH', this.k.counterPattern(day, t), 'COUNT', 1000);
        cursor = next;
        for (const key of batch) found.add(key);
      } while (cursor !== '0');
    }
    const keys = [...found];
    this.idCache.set(day, { at: this.now(), keys });
    if (this.idCache.size > 32) this.idCache.delete(this.idCache.keys().next().value!);
    return keys;
  }

  /** Sums per type and domain for the given domains. */
  async day(day: string, domains: readonly string[]): Promise<DayCounters> {
    return guard('counters', async () => {
      const out = Object.fromEntries(counterTypes.map((t) => [t, Object.fromEntries(domains.map((d) => [d, 0]))])) as DayCounters;
      if (domains.length === 0) return out;
      const keys = await this.keysOf(day);
      if (keys.length === 0) return out;
      const p = this.redis.pipeline();
      for (const key of keys) p.hmget(key, ...domains);
      const res = (await p.exec()) ?? [];
      keys.forEach((key, i) => {
        const type = key.slice(key.lastIndexOf(':') + 1) as CounterType;
        const [err, vals] = res[i] ?? [null, null];
        // A key of another type (WRONGTYPE) written by someone else is skipped, not fatal; any other
        // error fails the page rather than showing a count that is silently too low.
        if (err && !/^WRONGTYPE/.test(err.message)) throw err;
        if (err || !Array.isArray(vals) || !(type in out)) return;
        domains.forEach((d, j) => {
          const n = Number(vals[j] ?? 0);
          if (Number.isFinite(n)) out[type][d] = (out[type][d] ?? 0) + n;
        });
      });
      return out;
    });
  }
}
