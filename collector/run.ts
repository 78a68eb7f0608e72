/**
 * One collector run: take the lock, resolve the hosts, run every check of checks/index.ts over all
 * targets at once (each bounded by its own timeouts, so one dead source never holds the others) and
 * the maillog part beside them, then write the records (with stale values), remove acknowledgements
 * whose issue has gone, and store and log the run summary. Library code: it throws LockHeldError and
 * returns a summary whose status the CLI turns into an exit code.
 */
import type { Config, HostConfig } from '../lib/config/normalize.js';
import { scrub, secretsOf, type Logger } from '../lib/log.js';
import { describeError, type Redis } from '../lib/redis.js';
import type { HostRecord, IpRecord, RunSummary } from '../lib/model.js';
import { keys, type Keys } from '../lib/keys.js';
import { acquireLock, type Lock } from './lock.js';
import { checks as allChecks } from './checks/index.js';
import type { Check, CheckDeps, CheckName, Target } from './checks/types.js';
import { createDnsClient, type DnsClient } from './dns/client.js';
import { ipFamily } from './dns/names.js';
import { resolveHosts } from './hosts.js';
import { collectMaillogs, type MaillogResult } from './maillog/index.js';
import { acksToRemove, buildIpRecord, hasFailure, withStale, type RunResults } from './records.js';
import { readAckIds, readBlocks, readIps, readPreviousHosts, removeAcks, storeSummary, writeResults, type Problems } from '../lib/store/index.js';
import { statusOf, tally } from './summary.js';
import { maillogIssues, reputationIssues } from './issues.js';
import { applySourceIssues } from '../lib/issue-store.js';
import type { SourceIssues } from '../lib/events.js';

export { LockHeldError } from './lock.js';

export interface Progress {
  update(done: number, total: number, label: string): void;
}

export interface CollectDeps {
  config: Config;
  redis: Redis;
  log: Logger;
  now?: () => Date;
  progress?: Progress;
  /** DNS client for host resolution and the DNS checks; default one from config (closed after the run). */
  dns?: DnsClient;
  /** HTTP client of SNDS and the HTTP reputation lookup; default the global fetch. */
  fetch?: typeof fetch;
  /** Lock TTL; extended every third of it while the run lives. Default 60 s. */
  lockTtlMs?: number;
}

const defaultLockTtlMs = 60_000;

/** Results for every target when a check broke its contract and threw: errors, never clean. */
function crashed(check: Check, targets: readonly Target[], config: Config, at: string, why: string): Map<string, unknown> {
  const reason = `${check.name} check failed: ${why}`;
  const out = new Map<string, unknown>();
  for (const t of targets) {
    if (check.name === 'dnsbl') {
      out.set(
        t.ip,
        config.zones
          .filter((z) => !z.domainOnly && (t.family === 4 || z.ipv6))
          .map((z) => ({ zone: z.zone, kind: z.kind, state: 'error', critical: z.critical, codes: [], labels: [], reason, at })),
      );
    } else out.set(t.ip, { status: 'error', at, reason });
  }
  return out;
}

/**
 * Run every check over all targets at once. A check that breaks its contract (throws, or leaves a
 * target without a result) gives errors for those targets, never a clean verdict (an IP without
 * DNSBL results would look unlisted). Exported for tests.
 */
export async function runChecks(list: readonly Check[], targets: readonly Target[], deps: CheckDeps, step: (label: string) => void): Promise<RunResults> {
  // A thrown message may carry anything (a DQS query name, a URL with a key): it is stored and shown.
  const secrets = secretsOf(deps.config);
  const entries = await Promise.all(
    list.map(async (check) => {
      const skip = check.skipReason(deps.config);
      if (skip !== null) {
        step(`${check.name} skipped`);
        return [check.name, { skipped: skip }] as const;
      }
      let results: Map<string, unknown>;
      try {
        results = await check.run(targets, deps);
      } catch (e) {
        const why = scrub((e as Error).message, secrets);
        deps.log.error(`${check.name} check threw instead of reporting errors as data`, { error: why });
        results = crashed(check, targets, deps.config, deps.now().toISOString(), why);
      }
      const lost = targets.filter((t) => !results.has(t.ip));
      if (lost.length > 0) {
        deps.log.error(`${check.name} check returned no result for ${lost.length} IP(s)`, { ips: lost.slice(0, 20).map((t) => t.ip) });
        for (const [ip, r] of crashed(check, lost, deps.config, deps.now().toISOString(), 'it returned no result for this IP')) results.set(ip, r);
      }
      step(`${check.name} done`);
      return [check.name, { results }] as const;
    }),
  );
  const out = Object.fromEntries(entries) as Partial<RunResults>;
  const missing = (['dnsbl', 'senderscore', 'snds', 'dnsMatch', 'httpReputation'] as CheckName[]).filter((n) => !(n in out));
  for (const n of missing) (out as Record<string, unknown>)[n] = { skipped: 'not part of this build' };
  return out as RunResults;
}

async function runMaillogs(config: Config, redis: Redis, log: Logger, now: () => Date, hostIps: Map<string, string[]>): Promise<MaillogResult> {
  try {
    return await collectMaillogs({ config, redis, log, now, hosts: config.hosts, hostIps });
  } catch (e) {
    const why = describeError(e);
    log.error('maillog part failed', { error: why });
    return { hosts: config.hosts.length, ok: 0, error: config.hosts.length, skipped: 0, errors: [`all hosts: ${why}`] };
  }
}

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

interface Phase {
  k: Keys;
  lock: Lock;
  runId: string;
  start: Date;
}

async function collect(deps: CollectDeps, now: () => Date, dns: DnsClient, p: Phase): Promise<RunSummary> {
  const { config, redis, log } = deps;
  const { k } = p;
  const total = allChecks.length + 3;
  let done = 0;
  const step = (label: string) => deps.progress?.update(++done, total, label);
  deps.progress?.update(0, total, 'resolving hosts');

  const t0 = performance.now();
  // Stored records that cannot be read are named in the log; the run overwrites them.
  const problems: Problems = [];
  const prevHosts = await readPreviousHosts(redis, k, config.hosts.map((h) => h.name), problems);
  const { records: hosts, targets, failed } = await resolveHosts(config.hosts, dns, now, p.runId);
  keepPreviousIps(hosts, targets, prevHosts.hosts, config.hosts, failed);
  step(`${targets.length} IPs of ${hosts.length} hosts`);

  const t1 = performance.now();
  const checkDeps: CheckDeps = { config, log, now, dns, fetch: deps.fetch ?? fetch };
  const hostIps = new Map(hosts.map((h) => [h.name, h.ips]));
  const [results, maillog] = await Promise.all([
    runChecks(allChecks, targets, checkDeps, step),
    runMaillogs(config, redis, log, now, hostIps).finally(() => step('maillogs read')),
  ]);

  const t2 = performance.now();
  const at = now();
  const fresh = targets.map((t) => buildIpRecord(t, results, p.runId, at.toISOString()));
  // Previous records matter only where something failed (stale values): a healthy run reads none.
  const prevIps = await readIps(redis, k, fresh.filter(hasFailure).map((r) => r.ip), problems);
  const records: IpRecord[] = fresh.map((r) => withStale(r, prevIps.get(r.ip)));
  const current = new Set(targets.map((t) => t.ip));
  const configured = new Set(config.hosts.map((h) => h.name));
  const removedIps = [...new Set([...prevHosts.hosts.values()].flatMap((h) => h.ips))].filter((ip) => !current.has(ip));
  const removedHosts = prevHosts.indexed.filter((n) => !configured.has(n));

  // A run that lost its lock (stalled past the TTL) may overlap a newer run: it must not write.
  if (!(await p.lock.extend())) throw new Error('the collector lock was lost (the run stalled longer than the lock TTL): results not written');
  await writeResults(redis, k, { records, hosts, removedHosts, removedIps, t: at.getTime(), historyDays: config.retention.historyDays });

  const blocks = [...(await readBlocks(redis, k, config.hosts.map((h) => h.name), problems)).values()];
  const gone = acksToRemove(await readAckIds(redis, k, problems), records, blocks);
  for (const p of problems) log.warn(`stored record not read: ${p}`);
  await removeAcks(redis, k, gone);
  if (gone.length) log.info(`removed ${gone.length} acknowledgement(s) whose issue has gone`, { acks: gone.slice(0, 20) });
  if (removedIps.length || removedHosts.length) {
    log.info('removed records no longer configured or resolved', { ips: removedIps.length, hosts: removedHosts });
  }
  step('written');
  const ms = (a: number, b: number) => Math.round(b - a);
  log.debug('collector run phases', { resolveMs: ms(t0, t1), checksMs: ms(t1, t2), writeMs: ms(t2, performance.now()), stale: prevIps.size });

  const skipped = Object.entries(results).flatMap(([name, r]) => ('skipped' in r ? [name] : []));
  const t = tally(records, hosts, maillog, skipped);
  const atIso = at.toISOString();
  const read = new Set(maillogHosts(config));
  await recordIssues(deps, k, reputationIssues(records, config, p.runId, atIso), statusOf(t));
  await recordIssues(deps, k, maillogIssues(blocks.filter((b) => read.has(b.host)), p.runId, atIso), maillog.error > 0 ? 'partial' : 'ok');
  const end = now();
  return {
    id: p.runId,
    startedAt: p.start.toISOString(),
    finishedAt: end.toISOString(),
    durationMs: end.getTime() - p.start.getTime(),
    hosts: hosts.length,
    ips: records.length,
    status: statusOf(t),
    checks: t.checks,
    unhealthyZones: t.unhealthyZones,
    errors: t.errors,
  };
}

/** Hosts whose maillog a run reads (SSH on, a key configured). */
function maillogHosts(config: Config): string[] {
  return config.ssh.keyFile === undefined ? [] : config.hosts.filter((h) => h.ssh).map((h) => h.name);
}

/** Diff a source's issues against the stored set and append the events (lib/issue-store.ts). */
async function recordIssues(deps: CollectDeps, k: Keys, issues: SourceIssues, status: RunSummary['status']): Promise<void> {
  const r = await applySourceIssues(deps.redis, k, issues, { status, maxLen: deps.config.retention.events, warn: (m) => deps.log.warn(m) });
  const n = (type: string) => r.events.filter((e) => e.type === type).length;
  if (r.applied) deps.log.debug('issue events', { source: issues.source, opened: n('opened'), changed: n('changed'), resolved: n('resolved'), open: r.open.length });
}

/** A failed run resolves nothing: every stored issue stays; the `run` event says it failed. */
async function recordFailedRun(deps: CollectDeps, k: Keys, runId: string, at: string): Promise<void> {
  for (const source of ['reputation', 'maillog']) {
    try {
      await recordIssues(deps, k, { source, runId, at, open: [], undetermined: ['*'] }, 'failed');
    } catch (e) {
      deps.log.error('cannot record the failed run in the issue events', { source, error: describeError(e) });
    }
  }
}

/**
 * One collector run. Throws LockHeldError when another run holds the lock; any other failure ends in
 * a summary with status 'failed' (stored and logged when Redis still answers).
 */
export async function runCollect(deps: CollectDeps): Promise<RunSummary> {
  const { config, redis, log } = deps;
  const now = deps.now ?? (() => new Date());
  const k = keys(config.redis.prefix);
  const lock = await acquireLock(redis, k.collectLock, {
    ttlMs: deps.lockTtlMs ?? defaultLockTtlMs,
    now,
    onLost: (why) => log.warn(why),
  });
  const start = now();
  const phase: Phase = { k, lock, runId: lock.token, start };
  let ownDns: DnsClient | undefined;
  let summary: RunSummary;
  try {
    const dns = deps.dns ?? (ownDns = createDnsClient(config));
    summary = await collect(deps, now, dns, phase);
  } catch (e) {
    const end = now();
    const why = describeError(e);
    log.error('collector run failed', { error: why });
    summary = {
      id: phase.runId,
      startedAt: start.toISOString(),
      finishedAt: end.toISOString(),
      durationMs: end.getTime() - start.getTime(),
      hosts: config.hosts.length,
      ips: 0,
      status: 'failed',
      checks: {},
      unhealthyZones: [],
      errors: [`run failed: ${why}`],
    };
    await recordFailedRun(deps, k, phase.runId, end.toISOString());
  } finally {
    ownDns?.close();
  }
  try {
    await storeSummary(redis, k, summary, config.retention.runs);
  } catch (e) {
    log.error('cannot store the run summary', { error: describeError(e) });
    if (summary.status !== 'failed') summary = { ...summary, status: 'failed', errors: [...summary.errors, `summary not stored: ${describeError(e)}`] };
  } finally {
    await lock.release();
  }
  logSummary(log, summary);
  return summary;
}

/** 'ok' runs log at info (silent under cron); anything that failed logs a warning with its errors. */
function logSummary(log: Logger, s: RunSummary): void {
  const fields = { runId: s.id, durationMs: s.durationMs, hosts: s.hosts, ips: s.ips, checks: s.checks };
  if (s.status === 'ok') log.info(formatSummaryLine(s), fields);
  else if (s.status === 'partial') log.warn(formatSummaryLine(s), { ...fields, errors: s.errors, unhealthyZones: s.unhealthyZones });
  // 'failed' was logged as an error where it happened.
}

/** The one line printed under cron. Errors counted are failed results (DNSBL: per IP x zone). */
export function formatSummaryLine(s: RunSummary): string {
  const failed = Object.values(s.checks).reduce((n, c) => n + c.error, 0) || s.errors.length;
  return `mtarep collect ${s.status}: ${s.hosts} hosts, ${s.ips} IPs in ${(s.durationMs / 1000).toFixed(1)} s${failed ? `, ${failed} ${failed === 1 ? 'error' : 'errors'}` : ''}`;
}
