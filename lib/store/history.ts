/** The chart point a stored IP record adds to its history (pure). */
import type { HistoryPoint, IpRecord } from '../model.js';

/** Listings that count as issues (allow-list "listings" are good news). */
export function listingCount(rec: IpRecord): number {
  return rec.dnsbl.filter((z) => z.state === 'listed' && z.kind !== 'allow').length;
}

/** The chart point of this run: only fresh values (a stale value is not a new measurement). */
export function historyPoint(rec: IpRecord, t: number): HistoryPoint {
  const score = rec.senderscore.status === 'ok' ? (rec.senderscore.value?.score ?? null) : null;
  const snds = rec.snds.status === 'ok' ? (rec.snds.value?.data ?? null) : null;
  return { t, score, listings: listingCount(rec), traps: snds ? snds.traps : null, color: snds ? snds.color : null };
}
