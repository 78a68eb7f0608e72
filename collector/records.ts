/**
 * Pure logic of a run's results: assemble each IP's record from the checks' maps, carry the last good
 * value forward as `stale` when a check fails (the last good data is never erased silently), derive
 * the history point, and decide which acknowledgements still name an issue. No I/O here.
 */
import type { CheckResult, DnsblResult, IpRecord } from '../lib/model.js';
import type { BlocksRecord } from '../lib/model.js';
import { currentIssues, rblIssueId } from '../lib/issues.js';
import type { CheckName, CheckResultOf, Target } from './checks/types.js';

/** Each check's results, keyed by IP. A check skipped by config has `skipped` set instead. */
export type RunResults = { [N in CheckName]: { results: Map<string, CheckResultOf<N>> } | { skipped: string } };

const missing = 'the check returned no result for this IP';

function resultFor<T>(r: { results: Map<string, CheckResult<T>> } | { skipped: string }, ip: string, at: string): CheckResult<T> {
  if ('skipped' in r) return { status: 'skipped', at, reason: r.skipped };
  return r.results.get(ip) ?? { status: 'error', at, reason: missing };
}

/** The record of one IP from this run's results (before stale values are added). */
export function buildIpRecord(t: Target, res: RunResults, runId: string, at: string): IpRecord {
  const dnsbl = 'skipped' in res.dnsbl ? [] : (res.dnsbl.results.get(t.ip) ?? []);
  const rec: IpRecord = {
    ip: t.ip,
    family: t.family,
    host: t.host.name,
    fqdn: t.host.fqdn,
    checkedAt: at,
    runId,
    dnsbl,
    senderscore: resultFor(res.senderscore, t.ip, at),
    snds: resultFor(res.snds, t.ip, at),
    dnsMatch: resultFor(res.dnsMatch, t.ip, at),
    httpReputation: resultFor(res.httpReputation, t.ip, at),
  };
  return rec;
}

/** An 'error' result gets the previous good value (or the previous stale one) beside it. */
export function carryStale<T>(next: CheckResult<T>, prev: CheckResult<T> | undefined): CheckResult<T> {
  if (next.status !== 'error' || prev === undefined) return next;
  const last = prev.status === 'ok' && prev.value !== undefined ? { value: prev.value, at: prev.at } : prev.stale;
  return last ? { ...next, stale: last } : next;
}

function carryZone(next: DnsblResult, prev: DnsblResult | undefined): DnsblResult {
  if (prev === undefined || next.state === 'listed' || next.state === 'not_listed') return next;
  const last: DnsblResult['stale'] =
    prev.state === 'listed' || prev.state === 'not_listed'
      ? { state: prev.state, codes: prev.codes, labels: prev.labels, at: prev.at, ...(prev.txt !== undefined ? { txt: prev.txt } : {}) }
      : prev.stale;
  return last ? { ...next, stale: last } : next;
}

/** Whether any result of the record failed: only then is the previous record needed (for stale values). */
export function hasFailure(rec: IpRecord): boolean {
  if (rec.dnsbl.some((z) => z.state === 'error' || z.state === 'unknown')) return true;
  return [rec.senderscore, rec.snds, rec.dnsMatch, rec.httpReputation].some((r) => r?.status === 'error');
}

/** The record to store: this run's results, with stale values from the previous record of the IP. */
export function withStale(next: IpRecord, prev: IpRecord | undefined): IpRecord {
  if (!prev) return next;
  const prevZones = new Map(prev.dnsbl.map((z) => [z.zone, z]));
  const out: IpRecord = {
    ...next,
    dnsbl: next.dnsbl.map((z) => carryZone(z, prevZones.get(z.zone))),
    senderscore: carryStale(next.senderscore, prev.senderscore),
    snds: carryStale(next.snds, prev.snds),
    dnsMatch: carryStale(next.dnsMatch, prev.dnsMatch),
  };
  if (next.httpReputation) out.httpReputation = carryStale(next.httpReputation, prev.httpReputation);
  return out;
}

export { historyPoint, listingCount } from '../lib/store/history.js';

/**
 * Ack fields to delete: those whose issue no longer exists. An issue exists when current data shows
 * it, or when a zone cannot tell this run (error/unknown) but its last clear verdict was a listing:
 * a timeout must not cost the user their acknowledgement.
 */
export function acksToRemove(ackIds: readonly string[], ips: readonly IpRecord[], blocks: readonly BlocksRecord[]): string[] {
  const live = new Set(currentIssues(ips, blocks).map((i) => i.id));
  for (const rec of ips) {
    for (const z of rec.dnsbl) {
      if ((z.state === 'error' || z.state === 'unknown') && z.stale?.state === 'listed' && z.kind !== 'allow') {
        live.add(rblIssueId(z.zone, rec.ip));
      }
    }
  }
  return ackIds.filter((id) => !live.has(id));
}
