/**
 * One collector run. (Foundation placeholder: the collector issue fills in the checks.)
 */
import crypto from 'node:crypto';
import type { Config } from '../lib/config/normalize.js';
import type { Logger } from '../lib/log.js';
import type { Redis } from '../lib/redis.js';
import type { RunSummary } from '../lib/model.js';
import { keys } from '../lib/keys.js';

export interface Progress {
  update(done: number, total: number, label: string): void;
}

export class LockHeldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockHeldError';
  }
}

export interface CollectDeps {
  config: Config;
  redis: Redis;
  log: Logger;
  now?: () => Date;
  progress?: Progress;
}

export async function runCollect(deps: CollectDeps): Promise<RunSummary> {
  const now = deps.now ?? (() => new Date());
  const k = keys(deps.config.redis.prefix);
  const start = now();
  const token = crypto.randomUUID();
  const ok = await deps.redis.set(k.collectLock, token, 'PX', 60_000, 'NX');
  if (ok === null) throw new LockHeldError('another collector run holds the lock; this run exits');
  try {
    const end = now();
    const summary: RunSummary = {
      id: token,
      startedAt: start.toISOString(),
      finishedAt: end.toISOString(),
      durationMs: end.getTime() - start.getTime(),
      hosts: deps.config.hosts.length,
      ips: 0,
      status: 'ok',
      checks: {},
      unhealthyZones: [],
      errors: [],
    };
    await deps.redis.set(k.lastRun, JSON.stringify(summary));
    return summary;
  } finally {
    await deps.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, k.collectLock, token);
  }
}

export function formatSummaryLine(s: RunSummary): string {
  return `mtarep collect ${s.status}: ${s.hosts} hosts, ${s.ips} IPs in ${(s.durationMs / 1000).toFixed(1)} s${s.errors.length ? `, ${s.errors.length} errors` : ''}`;
}
