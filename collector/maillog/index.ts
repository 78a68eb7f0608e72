/**
 * Maillog part of a collector run: provider blocks and delivery counters from each host's postfix
 * log over SSH. (Foundation placeholder: the maillog issue fills this in.)
 */
import type { Config, HostConfig } from '../../lib/config/normalize.js';
import type { Logger } from '../../lib/log.js';
import type { Redis } from '../../lib/redis.js';

export interface MaillogDeps {
  config: Config;
  redis: Redis;
  log: Logger;
  now: () => Date;
  hosts: HostConfig[];
  /** IPs of each host found by this run (to tell which IP a block concerns). */
  hostIps: Map<string, string[]>;
}

export interface MaillogResult {
  hosts: number;
  ok: number;
  error: number;
  skipped: number;
  /** One line per failed host: "<host>: <reason>". */
  errors: string[];
}

export async function collectMaillogs(deps: MaillogDeps): Promise<MaillogResult> {
  const skipped = deps.hosts.length;
  return { hosts: deps.hosts.length, ok: 0, error: 0, skipped, errors: [] };
}
