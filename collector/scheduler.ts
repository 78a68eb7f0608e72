/**
 * Sources on a schedule, on BullMQ (a job queue on the Redis mtarep already has): one job scheduler
 * per source (`sources.<name>.interval`, default `collect_interval`) adds a `run` job to the queue
 * `sources`; workers take them, each run under the source's own lock (a second run of one source
 * while one is going finds the lock and is skipped; a slow source never delays another: the worker
 * runs one job per source at a time, side by side). A reputation run larger than one shard
 * (`sources.reputation.shard_size` IPs) is queued as shard jobs on the queue `shards` that every
 * worker takes (when more than one worker is there); the run that queued them merges their results
 * and stores one summary.
 *
 * `mtarep start` runs the schedulers and a worker in one process; `mtarep worker` runs a worker only,
 * on as many machines as wanted. `close()` stops taking jobs and lets the running ones finish.
 */
import os from 'node:os';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import type { Config } from '../lib/config/normalize.js';
import { keys } from '../lib/keys.js';
import type { Logger } from '../lib/log.js';
import type { RunSummary } from '../lib/model.js';
import { duplicateRedis, type Redis } from '../lib/redis.js';
import { runChecks } from './check-runner.js';
import { checkPlugins as allChecks } from '../lib/checks/index.js';
import { createDnsClient, type DnsClient } from '../lib/net/dns/client.js';
import { LockHeldError, runCollect } from './run.js';
import { fromShardTargets, serializeResults, shardRunner, type ShardJobData, type ShardResult } from './shards.js';
import { defaultShardSize, intervalOf, sources } from './sources/index.js';

export const queueNames = { sources: 'sources', shards: 'shards' } as const;

export interface SourceJobData {
  source: string;
}

/** What a source job returns: the run's summary, or that the source's lock was held. */
export type SourceJobResult = { status: 'locked'; message: string } | RunSummary;

export interface SchedulerDeps {
  config: Config;
  redis: Redis;
  log: Logger;
  /** Add or update the job schedulers of every source (mtarep start). Default true. */
  schedule?: boolean;
  /** Take jobs (source runs and shards). Default true. */
  work?: boolean;
  /** Shard jobs taken at once by this worker. Default 1 (the checks inside a shard run concurrently). */
  shardConcurrency?: number;
  /** Worker name stored on each job it takes (default host:pid). */
  name?: string;
  now?: () => Date;
  dns?: DnsClient;
  fetch?: typeof fetch;
  lockTtlMs?: number;
}

export interface Scheduler {
  /** Queue a run of a source now (besides its schedule); resolves with the job id. */
  runNow(source: string): Promise<string>;
  /** Stop taking jobs, let running ones finish, close the connections. */
  close(): Promise<void>;
}

/**
 * BullMQ needs connections that retry forever and never time a command out (its blocking reads wait
 * longer than mtarep's 5 s command timeout): a duplicate of mtarep's connection with those settings
 * (closed for good if Redis ever refuses its database, like the original).
 */
function bullConnection(redis: Redis): Redis {
  return duplicateRedis(redis, {
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
    lazyConnect: false,
    enableOfflineQueue: true,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  });
}

/** Start the schedulers and/or a worker (a `sources.<name>` naming no source was rejected by the config load). */
export async function startScheduler(deps: SchedulerDeps): Promise<Scheduler> {
  const { config, log } = deps;
  const k = keys(config.redis.prefix);
  const connection = bullConnection(deps.redis);
  connection.on('error', (e: Error) => log.warn('redis connection error (job queue)', { error: e.message }));
  const base = { connection, prefix: k.bullPrefix };
  const sourceQueue = new Queue<SourceJobData, SourceJobResult>(queueNames.sources, base);
  const shardQueue = new Queue<ShardJobData, ShardResult>(queueNames.shards, base);
  const shardEvents = new QueueEvents(queueNames.shards, base);
  const name = deps.name ?? `${os.hostname()}:${process.pid}`;
  const now = deps.now ?? (() => new Date());
  const workers: Worker[] = [];
  let dns: DnsClient | undefined;

  if (deps.schedule !== false) {
    for (const s of sources) {
      const every = intervalOf(config, s.name) * 1000;
      await sourceQueue.upsertJobScheduler(
        `source:${s.name}`,
        { every },
        { name: 'run', data: { source: s.name }, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
      );
      log.info(`source ${s.name} runs every ${every / 1000} s`);
    }
    // A source that left the list leaves no scheduler behind.
    for (const js of await sourceQueue.getJobSchedulers()) {
      if (js.key.startsWith('source:') && !sources.some((s) => `source:${s.name}` === js.key)) await sourceQueue.removeJobScheduler(js.key);
    }
  }

  if (deps.work !== false) {
    dns = deps.dns ?? createDnsClient(config);
    const shardDns = dns;
    await shardEvents.waitUntilReady();
    const sourceWorker = new Worker<SourceJobData, SourceJobResult>(
      queueNames.sources,
      async (job: Job<SourceJobData>) => {
        const source = job.data.source;
        const runId = `${source}:${job.id ?? 'x'}`;
        try {
          return await runCollect({
            config,
            redis: deps.redis,
            log,
            now,
            only: [source],
            runId,
            dns: shardDns,
            ...(deps.fetch ? { fetch: deps.fetch } : {}),
            ...(deps.lockTtlMs !== undefined ? { lockTtlMs: deps.lockTtlMs } : {}),
            runChecks: shardRunner({
              queue: shardQueue,
              events: shardEvents,
              config,
              runId,
              size: config.sources.reputation?.shardSize ?? defaultShardSize,
              // A shard not done within the source's interval counts as failed for its IPs.
              timeoutMs: intervalOf(config, source) * 1000,
              workers: () => shardQueue.getWorkersCount(),
            }),
          });
        } catch (e) {
          if (e instanceof LockHeldError) {
            log.warn(`${source}: ${e.message}`);
            return { status: 'locked', message: e.message };
          }
          throw e;
        }
      },
      // One run per source at a time in this worker; the sources side by side.
      { ...base, name, concurrency: sources.length, lockDuration: 60_000 },
    );
    const shardWorker = new Worker<ShardJobData, ShardResult>(
      queueNames.shards,
      async (job: Job<ShardJobData>) => {
        const targets = fromShardTargets(job.data.targets, config);
        const res = await runChecks(allChecks, targets, { config, log, now, dns: shardDns, fetch: deps.fetch ?? fetch }, () => {});
        log.debug('shard done', { runId: job.data.runId, shard: `${job.data.index + 1}/${job.data.of}`, ips: targets.length });
        return serializeResults(res);
      },
      { ...base, name, concurrency: deps.shardConcurrency ?? 1, lockDuration: 60_000 },
    );
    for (const w of [sourceWorker, shardWorker]) {
      w.on('error', (e) => log.warn('job worker error', { error: e.message }));
      w.on('failed', (job, e) => log.error('job failed', { queue: w.name, job: job?.id, error: e.message }));
      workers.push(w);
    }
    await Promise.all(workers.map((w) => w.waitUntilReady()));
    log.info('worker ready', { name, sources: sources.map((s) => s.name) });
  }

  return {
    async runNow(source) {
      if (!sources.some((s) => s.name === source)) throw new Error(`unknown source '${source}'`);
      const job = await sourceQueue.add('run', { source }, { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } });
      return job.id!;
    },
    async close() {
      // Source runs first (they may wait for shards, which this worker still takes), then shards.
      if (workers[0]) await workers[0].close();
      if (workers[1]) await workers[1].close();
      await Promise.all([shardEvents.close(), sourceQueue.close(), shardQueue.close()]);
      if (!deps.dns) dns?.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
