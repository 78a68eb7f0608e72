/**
 * One collector run of some or all sources (sources/index.ts): take each source's lock, run the
 * sources side by side (one failing or slow never holds the others), record each source's issue
 * events, and store and log one merged run summary. Library code: it throws LockHeldError and
 * returns a summary whose status the CLI turns into an exit code. `mtarep collect` calls it for all
 * sources; the scheduler's worker calls it for one source per job (collector/scheduler.ts).
 */
import crypto from 'node:crypto';
import type { Config } from '../lib/config/normalize.js';
import type { Logger } from '../lib/log.js';
import { describeError, type Redis } from '../lib/redis.js';
import type { RunSummary } from '../lib/model.js';
import { keys, type Keys } from '../lib/keys.js';
import { applySourceIssues } from '../lib/issue-store.js';
import { acquireLock, LockHeldError, type Lock } from './lock.js';
import { runChecks } from './check-runner.js';
import { createDnsClient, type DnsClient, type DnsStats } from '../lib/net/dns/client.js';
import { selectSources, sources as allSources } from './sources/index.js';
import type { AnyPlugin } from '../lib/checks/types.js';
import type { CheckRunner, Source, SourceContext, SourceOutcome, SourcePart } from './sources/types.js';
import { execNamed, readSourceLastRuns, removeAcks, storeSummary } from '../lib/store/index.js';
import { mergeParts, mergeSummaries } from './summary.js';
import { phase } from '../lib/phases.js';

export { LockHeldError } from './lock.js';
export { runChecks } from './check-runner.js';

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
  /** Names of the sources to run (`--only`); default all. */
  only?: readonly string[];
  /** How per-IP checks run; default in this process (the scheduler passes the shard runner). */
  runChecks?: CheckRunner;
  /** The per-IP checks to run (default: lib/checks/index.ts; tests add their own). */
  checks?: readonly AnyPlugin[];
  /** Run id; default a new UUID. A retried job passes the same one (its issue events are not recorded twice). */
  runId?: string;
  /** SSH connector of the maillog source (default collector/ssh/client.ts). */
  sshConnect?: SourceContext['sshConnect'];
  /**
   * The caller prints the summary line itself (`mtarep collect`, on stdout): a partial run's warning
   * then says what failed without repeating the line (under cron both streams go to one log).
   */
  summaryPrinted?: boolean;
}

const defaultLockTtlMs = 60_000;

/** Take every source's lock, or none: throws LockHeldError naming the holder. */
async function lockAll(deps: CollectDeps, k: Keys, list: readonly Source[], now: () => Date): Promise<Map<string, Lock>> {
  const locks = new Map<string, Lock>();
  try {
    for (const s of list) {
      locks.set(
        s.name,
        await acquireLock(deps.redis, k.sourceLock(s.name), {
          ttlMs: deps.lockTtlMs ?? defaultLockTtlMs,
          now,
          what: `the collector lock of source ${s.name}`,
          onLost: (why) => deps.log.warn(`${s.name}: ${why}`),
        }),
      );
    }
  } catch (e) {
    await Promise.all([...locks.values()].map((l) => l.release()));
    throw e;
  }
  return locks;
}

/** Diff a source's issues against its stored set and append the events (lib/issue-store.ts). */
async function recordIssues(deps: CollectDeps, k: Keys, source: string, runId: string, o: SourceOutcome, status: SourcePart['status']): Promise<void> {
  if (o.issues === null) return;
  const r = await applySourceIssues(deps.redis, k, { source, runId, ...o.issues }, { status, maxLen: deps.config.retention.events, warn: (m) => deps.log.warn(m) });
  // An acknowledgement lasts while its issue is open: a resolved issue's ack goes (a new opening of it
  // is new news). Listing and block acks are also dropped by their sources, from the records.
  const resolved = r.events.flatMap((e) => (e.type === 'resolved' && e.issue ? [e.issue.id] : []));
  if (resolved.length > 0) await removeAcks(deps.redis, k, resolved);
  const n = (type: string) => r.events.filter((e) => e.type === type).length;
  if (r.applied) deps.log.debug('issue events', { source, opened: n('opened'), changed: n('changed'), resolved: n('resolved'), open: r.open.length });
}

/** A source's summary on its own (stored as its last run; the runner merges them). */
function partSummary(p: SourcePart, source: string, runId: string, start: Date, end: Date): RunSummary {
  return {
    id: runId,
    startedAt: start.toISOString(),
    finishedAt: end.toISOString(),
    durationMs: end.getTime() - start.getTime(),
    hosts: p.hosts,
    ips: p.ips,
    status: p.status,
    checks: p.checks,
    unhealthyZones: p.unhealthyZones,
    errors: p.errors,
    sources: [source],
  };
}

/**
 * One collector run. Throws LockHeldError when another run holds a source's lock (nothing is run
 * then); any other failure ends in a summary with status 'failed' (stored and logged when Redis
 * still answers).
 */
export async function runCollect(deps: CollectDeps): Promise<RunSummary> {
  const { config, redis, log } = deps;
  const now = deps.now ?? (() => new Date());
  const k = keys(config.redis.prefix);
  const list = selectSources(deps.only);
  const locks = await lockAll(deps, k, list, now);
  phase('locked');
  const start = now();
  const runId = deps.runId ?? crypto.randomUUID();
  const total = list.reduce((n, s) => n + s.steps(config), 0);
  let done = 0;
  deps.progress?.update(0, total, 'starting');
  const step = (label: string) => deps.progress?.update(++done, total, label);

  let ownDns: DnsClient | undefined;
  const parts: { source: string; part: SourcePart; summary: RunSummary }[] = [];
  let counted: { dns: DnsClient; before: DnsStats } | undefined;
  try {
    const dns = deps.dns ?? (ownDns = createDnsClient(config));
    // The scheduler's client lives across runs: this run's figures are the difference.
    counted = { dns, before: dns.stats() };
    await Promise.all(
      list.map(async (source) => {
        const t0 = now();
        let outcome: SourceOutcome;
        try {
          outcome = await source.run({
            config,
            redis,
            k,
            log,
            now,
            runId,
            lock: locks.get(source.name)!,
            dns,
            fetch: deps.fetch ?? fetch,
            step,
            runChecks: deps.runChecks ?? runChecks,
            ...(deps.checks ? { checks: deps.checks } : {}),
            ...(deps.sshConnect ? { sshConnect: deps.sshConnect } : {}),
          });
        } catch (e) {
          const why = describeError(e);
          log.error('collector run failed', { error: why, source: source.name });
          outcome = {
            part: { hosts: config.hosts.length, ips: 0, status: 'failed', checks: {}, unhealthyZones: [], errors: [`run failed: ${why}`] },
            // A failed run resolves nothing: every stored issue stays; the `run` event says it failed.
            issues: { at: now().toISOString(), open: [], undetermined: ['*'] },
          };
        }
        try {
          await recordIssues(deps, k, source.name, runId, outcome, outcome.part.status);
        } catch (e) {
          const why = describeError(e);
          log.error('cannot record the issue events', { source: source.name, error: why });
          outcome.part.errors.push(`issue events not recorded: ${why}`);
          if (outcome.part.status === 'ok') outcome.part.status = 'partial';
        }
        parts.push({ source: source.name, part: outcome.part, summary: partSummary(outcome.part, source.name, runId, t0, now()) });
      }),
    );
  } finally {
    if (counted) {
      const after = counted.dns.stats();
      const note = dnsResendNote(after.queries - counted.before.queries, after.resent - counted.before.resent);
      if (note) log[note.level](note.message, note.fields);
    }
    ownDns?.close();
  }
  phase('sources done');
  // In the order of the source list, whatever order they finished in.
  parts.sort((a, b) => list.findIndex((s) => s.name === a.source) - list.findIndex((s) => s.name === b.source));
  const end = now();
  let summary: RunSummary = {
    id: runId,
    startedAt: start.toISOString(),
    finishedAt: end.toISOString(),
    durationMs: end.getTime() - start.getTime(),
    ...mergeParts(parts.map((p) => p.part)),
    sources: list.map((s) => s.name),
  };
  try {
    const perSource = parts.map((p) => p.summary);
    const merged = await lastOfAll(redis, k, summary, perSource);
    await storeSummary(redis, k, summary, config.retention.runs, { last: merged.last, perSource });
    await settleLast(redis, k, perSource, merged.others).catch((e: unknown) =>
      log.warn('cannot check the last run shown against the other sources', { error: describeError(e) }),
    );
  } catch (e) {
    log.error('cannot store the run summary', { error: describeError(e) });
    if (summary.status !== 'failed') summary = { ...summary, status: 'failed', errors: [...summary.errors, `summary not stored: ${describeError(e)}`] };
  } finally {
    await Promise.all([...locks.values()].map((l) => l.release()));
  }
  phase('summary stored');
  logSummary(log, summary, deps.summaryPrinted === true);
  return summary;
}

/**
 * What the dashboard shows as the last run: this run when it covered every source, else this run's
 * source summaries merged with the newest stored summary of each other source; `others` is the id of
 * each other source's summary that went into the merge (undefined: it had none).
 */
async function lastOfAll(redis: Redis, k: Keys, summary: RunSummary, perSource: RunSummary[]): Promise<{ last: RunSummary; others: Map<string, string | undefined> }> {
  const names = allSources.map((s) => s.name).filter((n) => !perSource.some((p) => p.sources?.includes(n)));
  if (names.length === 0) return { last: summary, others: new Map() };
  const stored = await readSourceLastRuns(redis, k, names);
  return { last: mergeSummaries([...perSource, ...stored.values()]), others: new Map(names.map((n) => [n, stored.get(n)?.id])) };
}

/**
 * Another source's run may store its summary between this run's read of the others and its write
 * (runs of different sources go on at the same time): then the merged last run would miss it. So,
 * once this run's summaries are stored, the others are read again and, when one changed, the merge is
 * stored again. A run that stores after that read reads this run's summary itself, so whichever run
 * writes last has the newest of every source.
 */
async function settleLast(redis: Redis, k: Keys, perSource: RunSummary[], others: ReadonlyMap<string, string | undefined>): Promise<void> {
  let seen = others;
  for (let i = 0; i < 5 && seen.size > 0; i++) {
    const now = await readSourceLastRuns(redis, k, [...seen.keys()]);
    if ([...seen].every(([n, id]) => now.get(n)?.id === id)) return;
    const m = redis.multi().set(k.lastRun, JSON.stringify(mergeSummaries([...perSource, ...now.values()]))).incr(k.dataVersion);
    await execNamed(m, 'storing the last run', (j) => [k.lastRun, k.dataVersion][j]);
    seen = new Map([...seen.keys()].map((n) => [n, now.get(n)?.id]));
  }
}

/**
 * What to say about the DNS datagrams a run had to send again (lib/net/dns/udp.ts: no answer within
 * 5x the server's average time): nothing when none; a warning when 1% or more were, since the
 * resolver or the network is then dropping queries (each costing at least 250 ms, or a failed try),
 * and a lower `dns.concurrency` or a look at the resolver is due; a debug line otherwise.
 */
export function dnsResendNote(queries: number, resent: number): { level: 'warn' | 'debug'; message: string; fields: Record<string, number> } | null {
  if (resent <= 0) return null;
  const fields = { queries, resent };
  if (queries > 0 && resent * 100 >= queries) {
    return {
      level: 'warn',
      message: `DNS: ${resent} datagram(s) of ${queries} queries had to be sent again (no answer in time): the resolver or the network is dropping queries; check the resolver, or lower dns.concurrency`,
      fields,
    };
  }
  return { level: 'debug', message: 'DNS datagrams sent again (no answer in time)', fields };
}

/**
 * 'ok' runs log at info (silent under cron); anything that failed logs a warning with its errors:
 * the summary line with them, or, when the caller prints that line itself, only what failed.
 */
function logSummary(log: Logger, s: RunSummary, summaryPrinted: boolean): void {
  const fields = { runId: s.id, durationMs: s.durationMs, hosts: s.hosts, ips: s.ips, checks: s.checks, ...(s.sources ? { sources: s.sources } : {}) };
  if (s.status === 'ok') log.info(formatSummaryLine(s), fields);
  else if (s.status === 'partial' && summaryPrinted) log.warn('what failed in this run', { runId: s.id, errors: s.errors, unhealthyZones: s.unhealthyZones });
  else if (s.status === 'partial') log.warn(formatSummaryLine(s), { ...fields, errors: s.errors, unhealthyZones: s.unhealthyZones });
  // 'failed' was logged as an error where it happened.
}

/** The one line printed under cron. Errors counted are failed results (DNSBL: per IP x zone). */
export function formatSummaryLine(s: RunSummary): string {
  const failed = Object.values(s.checks).reduce((n, c) => n + c.error, 0) || s.errors.length;
  return `mtarep collect ${s.status}: ${s.hosts} hosts, ${s.ips} IPs in ${(s.durationMs / 1000).toFixed(1)} s${failed ? `, ${failed} ${failed === 1 ? 'error' : 'errors'}` : ''}`;
}
