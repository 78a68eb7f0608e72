/**
 * Splitting a large per-IP run into shards that several workers take (BullMQ queue `shards`), and
 * merging their results back into one RunResults for the run that asked. Pure helpers plus the
 * CheckRunner that queues the shards; the worker side is in collector/scheduler.ts.
 *
 * A run of at most one shard, or any run while this worker is the only one, runs in its own process
 * (no queue round trip): the shard path costs a single-process deployment nothing.
 */
import type { Job, Queue, QueueEvents } from 'bullmq';
import type { Config } from '../lib/config/normalize.js';
import { crashed, runChecks } from './check-runner.js';
import type { CheckResult } from '../lib/model.js';
import type { AnyPlugin, CheckDeps, Target } from '../lib/checks/types.js';
import type { RunResults } from './records.js';
import type { CheckRunner } from './sources/types.js';

/** A target as a shard job carries it (the host by name: the worker has the same config). */
export interface ShardTarget {
  ip: string;
  family: 4 | 6;
  host: string;
}

export interface ShardJobData {
  runId: string;
  index: number;
  of: number;
  targets: ShardTarget[];
}

/** RunResults as JSON: each check's map as [ip, result] pairs. */
export type ShardResult = Record<string, { results: [string, CheckResult<unknown>][] } | { skipped: string }>;

/** Targets in shards of at most `size`, in order. */
export function splitTargets<T>(targets: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < targets.length; i += size) out.push(targets.slice(i, i + size));
  return out;
}

export function toShardTargets(targets: readonly Target[]): ShardTarget[] {
  return targets.map((t) => ({ ip: t.ip, family: t.family, host: t.host.name }));
}

/** Shard targets back to targets; a host the worker's config does not know is an error naming it. */
export function fromShardTargets(list: readonly ShardTarget[], config: Config): Target[] {
  const hosts = new Map(config.hosts.map((h) => [h.name, h]));
  return list.map((t) => {
    const host = hosts.get(t.host);
    if (!host) throw new Error(`shard names host ${t.host}, which this worker's config does not have: run every worker with the same config`);
    return { ip: t.ip, family: t.family, host };
  });
}

export function serializeResults(r: RunResults): ShardResult {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(r)) out[name] = 'skipped' in v ? { skipped: v.skipped } : { results: [...v.results] };
  return out as ShardResult;
}

/**
 * Merge shard results into one RunResults. A shard that brought nothing (failed, timed out) gives
 * errors for its targets with the reason, never a clean verdict.
 */
export function mergeShardResults(
  list: readonly AnyPlugin[],
  shards: readonly { targets: readonly Target[]; result: ShardResult | null; why?: string }[],
  config: Config,
  at: string,
): RunResults {
  const out: RunResults = {};
  for (const check of list) {
    const skip = check.skipReason(config);
    if (skip !== null) {
      out[check.name] = { skipped: skip };
      continue;
    }
    const merged = new Map<string, CheckResult<unknown>>();
    for (const s of shards) {
      const part = s.result?.[check.name];
      if (part && 'results' in part) for (const [ip, r] of part.results) merged.set(ip, r);
      const lost = s.targets.filter((t) => !merged.has(t.ip));
      if (lost.length) for (const [ip, r] of crashed(check, lost, at, s.why ?? 'its shard returned no result for this IP')) merged.set(ip, r);
    }
    out[check.name] = { results: merged };
  }
  return out;
}

export interface ShardRunnerOptions {
  queue: Queue<ShardJobData, ShardResult>;
  events: QueueEvents;
  config: Config;
  runId: string;
  /** IPs per shard. */
  size: number;
  /** How long to wait for the shards before their IPs count as errors. */
  timeoutMs: number;
  /** How many workers take shards now; with one (this one) a run stays in this process. */
  workers: () => Promise<number>;
}

/** A CheckRunner that runs small runs here and queues a large one as shards for every worker to take. */
export function shardRunner(o: ShardRunnerOptions): CheckRunner {
  return async (list, targets, deps: CheckDeps, step) => {
    if (targets.length <= o.size) return runChecks(list, targets, deps, step);
    // Queuing shards only pays when another worker is there to take them.
    const workers = await o.workers().catch(() => 1);
    if (workers < 2) return runChecks(list, targets, deps, step);
    const parts = splitTargets(targets, o.size);
    const jobs: Job<ShardJobData, ShardResult>[] = await o.queue.addBulk(
      parts.map((p, index) => ({
        name: 'shard',
        data: { runId: o.runId, index, of: parts.length, targets: toShardTargets(p) },
        // A retried run (same id) finds its finished shards instead of queuing them again.
        opts: { jobId: `${o.runId}:${index}`, removeOnComplete: { age: 3600, count: 1000 }, removeOnFail: { age: 86_400, count: 1000 } },
      })),
    );
    deps.log.info(`reputation run split into ${parts.length} shards of up to ${o.size} IPs`, { runId: o.runId });
    const results = await Promise.all(
      jobs.map(async (job, i) => {
        try {
          return { targets: parts[i]!, result: await job.waitUntilFinished(o.events, o.timeoutMs) };
        } catch (e) {
          const why = `shard ${i + 1} of ${parts.length} not done: ${(e as Error).message}`;
          deps.log.error(why, { runId: o.runId });
          return { targets: parts[i]!, result: null, why };
        }
      }),
    );
    const merged = mergeShardResults(list, results, deps.config, deps.now().toISOString());
    for (const c of list) step(`${c.name} done`);
    return merged;
  };
}
