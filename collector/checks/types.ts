/**
 * The one contract every collector check follows (style note 2): targets + deps in, one typed result
 * per target out. A check never throws and never hangs: a failure is a result with status 'error' and
 * a reason, and every network wait has a bound. The list of checks is a plain array (checks/index.ts).
 */
import type { Config, HostConfig } from '../../lib/config/normalize.js';
import type { Logger } from '../../lib/log.js';
import type { IpRecord } from '../../lib/model.js';
import type { DnsClient } from '../dns/client.js';

/** One MTA IP to check. */
export interface Target {
  ip: string;
  family: 4 | 6;
  host: HostConfig;
}

/** Side effects are parameters (style note 5): tests pass local servers and a fixed clock. */
export interface CheckDeps {
  config: Config;
  log: Logger;
  now: () => Date;
  dns: DnsClient;
  fetch: typeof fetch;
}

/** The per-IP fields of IpRecord that checks fill. */
export type CheckName = 'dnsbl' | 'senderscore' | 'snds' | 'dnsMatch' | 'httpReputation';
export type CheckResultOf<N extends CheckName> = NonNullable<IpRecord[N]>;

export interface Check<N extends CheckName = CheckName> {
  name: N;
  /** Null when the check runs with this config; else why it is skipped (stored as status 'skipped'). */
  skipReason(config: Config): string | null;
  /**
   * A result for every target, keyed by IP. Never rejects: a failure is data. Concurrency is bounded
   * by the check itself (config.dns.concurrency and friends).
   */
  run(targets: readonly Target[], deps: CheckDeps): Promise<Map<string, CheckResultOf<N>>>;
}
