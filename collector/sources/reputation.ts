/**
 * The reputation source: resolve every host of mta_map, run every per-IP check of lib/checks/index.ts
 * over all its IPs (in this process, or in shards taken by several workers), then write the IP and
 * host records (with stale values), remove records of hosts and IPs that left, and drop
 * acknowledgements of listings that have gone.
 */
import type { Config, HostConfig } from '../../lib/config/normalize.js';
import type { HostRecord, IpRecord } from '../../lib/model.js';
import { checkPlugins as allChecks } from '../../lib/checks/index.js';
import type { CheckDeps, Target } from '../../lib/checks/types.js';
import { ipFamily } from '../../lib/net/dns/names.js';
import { resolveHosts } from '../hosts.js';
import { reputationIssues } from '../issues.js';
import { acksToRemove, buildIpRecord, hasFailure, withStale } from '../records.js';
import { readAckIds, readIps, readPreviousHosts, removeAcks, writeResults, type Problems } from '../../lib/store/index.js';
import { phase } from '../../lib/phases.js';
import { statusOf, tally } from '../summary.js';
import type { Source, SourceContext, SourceOutcome } from './types.js';

/**
 * A host whose name does not resolve this run keeps its previous IPs (checked and shown, with the
 * resolution error on the host), so a DNS hiccup never deletes an MTA's data. The same holds for one
 * address family: when the A (or AAAA) lookup fails while the other answers, the previous IPs of the
 * failed family are kept.
 */
function keepPreviousIps(
  records: HostRecord[],
  targets: Target[],
  prev: Map<string, HostRecord>,
  hosts: readonly HostConfig[],
  failed: Map<string, (4 | 6)[]>,
): void {
  const seen = new Set(targets.map((t) => t.ip));
  const byName = new Map(hosts.map((h) => [h.name, h]));
  for (const r of records) {
    const old = prev.get(r.name);
    if (!old) continue;
    const families = r.resolve.status === 'error' ? [4, 6] : (failed.get(r.name) ?? []);
    const kept = old.ips.filter((ip) => families.includes(ipFamily(ip)) && !r.ips.includes(ip));
    if (kept.length === 0) continue;
    r.ips = [...r.ips, ...kept];
    r.resolve.reason = `${r.resolve.reason ?? 'cannot resolve'}; still checking the ${kept.length} IP(s) it had before`;
    const host = byName.get(r.name)!;
    for (const ip of kept) {
      if (seen.has(ip)) continue;
      seen.add(ip);
      targets.push({ ip, family: ipFamily(ip), host });
    }
  }
}

async function run(ctx: SourceContext): Promise<SourceOutcome> {
  const { config, redis, log, now, k } = ctx;

  const t0 = performance.now();
  // Stored records that cannot be read are named in the log; the run overwrites them.
  const problems: Problems = [];
  const prevHosts = await readPreviousHosts(redis, k, config.hosts.map((h) => h.name), problems);
  const { records: hosts, targets, failed } = await resolveHosts(config.hosts, ctx.dns, now, ctx.runId);
  keepPreviousIps(hosts, targets, prevHosts.hosts, config.hosts, failed);
  ctx.step(`${targets.length} IPs of ${hosts.length} hosts`);

  const t1 = performance.now();
  phase('reputation: hosts resolved');
  const checkDeps: CheckDeps = { config, log, now, dns: ctx.dns, fetch: ctx.fetch };
  const plugins = ctx.checks ?? allChecks;
  const results = await ctx.runChecks(plugins, targets, checkDeps, ctx.step);

  const t2 = performance.now();
  phase('reputation: checked');
  const at = now();
  const fresh = targets.map((t) => buildIpRecord(t, results, ctx.runId, at.toISOString(), plugins));
  // Previous records matter only where something failed (stale values): a healthy run reads none.
  const prevIps = await readIps(redis, k, fresh.filter((r) => hasFailure(r, plugins)).map((r) => r.ip), problems);
  const records: IpRecord[] = fresh.map((r) => withStale(r, prevIps.get(r.ip), plugins));
  const current = new Set(targets.map((t) => t.ip));
  const configured = new Set(config.hosts.map((h) => h.name));
  const removedIps = [...new Set([...prevHosts.hosts.values()].flatMap((h) => h.ips))].filter((ip) => !current.has(ip));
  const removedHosts = prevHosts.indexed.filter((n) => !configured.has(n));

  // A run that lost its lock (stalled past the TTL) may overlap a newer run: it must not write.
  if (!(await ctx.lock.extend())) throw new Error('the collector lock was lost (the run stalled longer than the lock TTL): results not written');
  await writeResults(redis, k, { records, hosts, removedHosts, removedIps, t: at.getTime(), historyDays: config.retention.historyDays, plugins });
  phase('reputation: written');

  // Only listing acks are judged here: provider blocks are the maillog source's to drop, and the acks
  // of every other issue kind (SNDS, probes, ...) go when their issue resolves (collector/run.ts).
  const gone = acksToRemove((await readAckIds(redis, k, problems)).filter((id) => id.startsWith('rbl:')), records, []);
  for (const p of problems) log.warn(`stored record not read: ${p}`);
  await removeAcks(redis, k, gone);
  if (gone.length) log.info(`removed ${gone.length} acknowledgement(s) whose issue has gone`, { acks: gone.slice(0, 20) });
  if (removedIps.length || removedHosts.length) {
    log.info('removed records no longer configured or resolved', { ips: removedIps.length, hosts: removedHosts });
  }
  ctx.step('written');
  const ms = (a: number, b: number) => Math.round(b - a);
  log.debug('reputation run phases', { resolveMs: ms(t0, t1), checksMs: ms(t1, t2), writeMs: ms(t2, performance.now()), stale: prevIps.size });

  const skipped = Object.entries(results).flatMap(([name, r]) => ('skipped' in r ? [name] : []));
  const t = tally(records, hosts, null, skipped, plugins);
  const issues = reputationIssues(records, config, ctx.runId, at.toISOString(), plugins);
  phase('reputation: issues');
  return {
    part: { hosts: hosts.length, ips: records.length, checks: t.checks, unhealthyZones: t.unhealthyZones, errors: t.errors, status: statusOf(t) === 'ok' ? 'ok' : 'partial' },
    issues: { at: issues.at, open: issues.open, undetermined: issues.undetermined },
  };
}

export const reputationSource: Source = {
  name: 'reputation',
  // resolution, one per check, written
  steps: (_config: Config) => allChecks.length + 2,
  run,
};
