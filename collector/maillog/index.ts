/**
 * Maillog part of a collector run: provider blocks and delivery counters from each host's postfix
 * log, read incrementally over SSH (see host.ts), several hosts at a time. One host failing (down,
 * key refused, timeout, bad path) becomes that host's error record with the reason and its last good
 * blocks; the other hosts go on.
 */
import type { Config, HostConfig } from '../../lib/config/normalize.js';
import { mapLimit } from '../../lib/concurrency.js';
import { keys as makeKeys } from '../../lib/keys.js';
import type { Logger } from '../../lib/log.js';
import type { BlocksRecord } from '../../lib/model.js';
import { describeError, type Redis } from '../../lib/redis.js';
import { sshConnect, type SshSession, type SshTarget } from '../ssh/client.js';
import { mergeBlocks } from './blocks.js';
import { writeErrorRecord } from './commit.js';
import { readHost, type HostReadContext } from './host.js';
import { defaultQueueLimits, type QueueLimits } from './queue.js';
import { activeHosts, sshMaterial } from './ssh-setup.js';

export interface MaillogDeps {
  config: Config;
  redis: Redis;
  log: Logger;
  now: () => Date;
  hosts: HostConfig[];
  /** IPs of each host found by this run (to tell which IP a block concerns). */
  hostIps: Map<string, string[]>;
  /** SSH connector; default ssh2 (collector/ssh/client.ts). */
  connect?: (t: SshTarget) => Promise<SshSession>;
  /** Bounds of the expiry-correlation map per host. */
  queueLimits?: QueueLimits;
  /** Reads larger than this many bytes are scanned in a worker thread. Default 8 MiB. */
  workerThresholdBytes?: number;
  /** Test seam: called after a host's read, right before its commit. */
  beforeCommit?: (host: string) => Promise<void>;
}

export interface MaillogResult {
  hosts: number;
  ok: number;
  error: number;
  skipped: number;
  /** One line per failed host: "<host>: <reason>". */
  errors: string[];
}

/** Read every SSH-enabled host's maillog and commit its blocks and counters. Never throws for a host. */
export async function collectMaillogs(deps: MaillogDeps): Promise<MaillogResult> {
  const { config } = deps;
  const k = makeKeys(config.redis.prefix);
  const result: MaillogResult = { hosts: deps.hosts.length, ok: 0, error: 0, skipped: 0, errors: [] };
  const active = activeHosts(config, deps.hosts);
  result.skipped = deps.hosts.length - active.length;
  if (active.length === 0) return result;

  const { setupError, privateKey, knownHosts } = sshMaterial(config);
  const ctx: HostReadContext = {
    config,
    redis: deps.redis,
    keys: k,
    log: deps.log,
    now: deps.now,
    workerThresholdBytes: deps.workerThresholdBytes ?? 8 << 20,
    privateKey,
    knownHosts,
    connect: deps.connect ?? sshConnect,
    queueLimits: deps.queueLimits ?? defaultQueueLimits,
    ...(deps.beforeCommit ? { beforeCommit: deps.beforeCommit } : {}),
  };

  await mapLimit(active, config.ssh.concurrency, async (host) => {
    const log = deps.log.child({ host: host.name });
    const started = Date.now();
    try {
      if (setupError) throw new Error(setupError);
      const r = await readHost(ctx, host, deps.hostIps.get(host.name) ?? host.ips ?? []);
      for (const n of r.notes) log.warn(`maillog: ${n}`);
      log.info('maillog read', { lines: r.lines, unparsed: r.unparsed, blocks: r.blocks, ms: Date.now() - started });
      result.ok++;
    } catch (e) {
      const reason = describeError(e);
      result.error++;
      result.errors.push(`${host.name}: ${reason}`);
      log.warn('maillog read failed', { reason });
      try {
        await recordError(ctx, host, reason);
      } catch (e2) {
        log.error('cannot store maillog error record', { reason: describeError(e2) });
      }
    }
  });
  return result;
}

async function recordError(ctx: HostReadContext, host: HostConfig, reason: string): Promise<void> {
  const raw = await ctx.redis.get(ctx.keys.blocks(host.name));
  let prev: BlocksRecord | null = null;
  try {
    prev = raw ? (JSON.parse(raw) as BlocksRecord) : null;
  } catch {
    prev = null;
  }
  const now = ctx.now();
  const record: BlocksRecord = {
    host: host.name,
    status: 'error',
    reason,
    at: now.toISOString(),
    // The last good blocks stay (shown as of `blocksAt`), but a block past the window still goes.
    blocksAt: prev?.blocksAt ?? now.toISOString(),
    blocks: mergeBlocks(prev?.blocks ?? [], [], ctx.config.providerBlocks.map((r) => r.provider), now.getTime(), ctx.config.providerBlockWindowSec),
  };
  await writeErrorRecord(ctx.redis, ctx.keys, record);
}
