/** The chart point a stored IP record adds to its history (pure): each check's plugin gives its fields. */
import { checkPlugins, type AnyPlugin } from '../checks/index.js';
import type { CheckResult, HistoryPoint, IpRecord } from '../model.js';

/** Listings that count as issues (allow-list "listings" are good news). */
export function listingCount(rec: IpRecord): number {
  return (rec.dnsbl?.value?.zones ?? []).filter((z) => z.state === 'listed' && z.kind !== 'allow').length;
}

/** The chart point of this run: only fresh values (a stale value is not a new measurement). */
export function historyPoint(rec: IpRecord, t: number, plugins: readonly AnyPlugin[] = checkPlugins): HistoryPoint {
  const p: HistoryPoint = { t, score: null, listings: 0, traps: null, color: null };
  for (const pl of plugins) {
    const r = rec[pl.name] as CheckResult<unknown> | undefined;
    if (r && pl.history) Object.assign(p, pl.history(r));
  }
  return p;
}
