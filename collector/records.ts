/**
 * Pure logic of a run's results: assemble each IP's record from the checks' maps, carry the last good
 * value forward as `stale` when a check fails (each plugin's own `carry`: the last good data is never
 * erased silently), derive the history point, and decide which acknowledgements still name an issue.
 * No I/O here.
 */
import { carryStale } from '../lib/checks/common.js';
import { cannotTell, dnsblZones } from '../lib/checks/dnsbl.js';
import { currentIssues, rblIssueId } from '../lib/issues.js';
import type { BlocksRecord, CheckResult, IpRecord } from '../lib/model.js';
import type { AnyPlugin, Target } from '../lib/checks/types.js';

/** Each check's results by IP, by check name. A check skipped by config has `skipped` set instead. */
export type RunResults = Record<string, { results: Map<string, CheckResult<unknown>> } | { skipped: string }>;

const missing = 'the check returned no result for this IP';

/** A skipped check's result, one frozen object per check and run: the records of a run share it. */
const skippedResults = new WeakMap<object, CheckResult<unknown>>();

function resultFor(r: RunResults[string] | undefined, ip: string, at: string): CheckResult<unknown> {
  if (r === undefined) return { status: 'skipped', at, reason: 'not part of this build' };
  if ('skipped' in r) {
    let shared = skippedResults.get(r);
    if (shared === undefined || shared.at !== at) skippedResults.set(r, (shared = Object.freeze({ status: 'skipped' as const, at, reason: r.skipped })));
    return shared;
  }
  return r.results.get(ip) ?? { status: 'error', at, reason: missing };
}

/** The record of one IP from this run's results (before stale values are added). */
export function buildIpRecord(t: Target, res: RunResults, runId: string, at: string, checks: readonly AnyPlugin[]): IpRecord {
  const rec = { ip: t.ip, family: t.family, host: t.host.name, fqdn: t.host.fqdn, checkedAt: at, runId } as IpRecord;
  for (const c of checks) rec[c.name] = resultFor(res[c.name], t.ip, at);
  return rec;
}

export { carryStale };

/** Whether any result of the record failed: only then is the previous record needed (for stale values). */
export function hasFailure(rec: IpRecord, checks: readonly AnyPlugin[]): boolean {
  return checks.some((c) => {
    const r = rec[c.name] as CheckResult<unknown> | undefined;
    if (r === undefined) return false;
    return c.failed ? c.failed(r) : r.status === 'error';
  });
}

/** The record to store: this run's results, with stale values from the previous record of the IP. */
export function withStale(next: IpRecord, prev: IpRecord | undefined, checks: readonly AnyPlugin[]): IpRecord {
  if (!prev) return next;
  const out: IpRecord = { ...next };
  for (const c of checks) {
    const r = next[c.name] as CheckResult<unknown> | undefined;
    if (r === undefined) continue;
    const before = prev[c.name] as CheckResult<unknown> | undefined;
    out[c.name] = c.carry ? c.carry(r, before) : carryStale(r, before);
  }
  return out;
}

export { historyPoint, listingCount } from '../lib/store/history.js';

/**
 * Ack fields to delete: those whose issue no longer exists. An issue exists when current data shows
 * it, or when a zone cannot tell this run (error/unknown) but its last clear verdict was a listing:
 * a timeout must not cost the user their acknowledgement.
 */
export function acksToRemove(ackIds: readonly string[], ips: readonly IpRecord[], blocks: readonly BlocksRecord[]): string[] {
  // Most runs have no acknowledgement to judge: then no walk over every zone of every record.
  if (ackIds.length === 0) return [];
  const live = new Set(currentIssues(ips, blocks).map((i) => i.id));
  for (const rec of ips) {
    for (const z of dnsblZones(rec)) {
      if ((cannotTell(z) || rec.dnsbl.status === 'error') && z.stale?.state === 'listed' && z.kind !== 'allow') live.add(rblIssueId(z.zone, rec.ip));
      // The check failed as a whole: the last known listings stand.
      if (rec.dnsbl.status === 'error' && z.state === 'listed' && z.kind !== 'allow') live.add(rblIssueId(z.zone, rec.ip));
    }
  }
  return ackIds.filter((id) => !live.has(id));
}
