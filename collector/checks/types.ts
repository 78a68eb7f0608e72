/**
 * The run half of a per-IP check (style note 2): targets + deps in, one `CheckResult` per target out.
 * A check never throws and never hangs: a failure is a result with status 'error' and a reason, and
 * every network wait has a bound. Its shared half (schema, judgement, display) is its `plugin`
 * (lib/checks/). The list of checks is a plain array (checks/index.ts).
 */
import type { CheckPlugin } from '../../lib/checks/types.js';
import type { Config, HostConfig } from '../../lib/config/normalize.js';
import type { Logger } from '../../lib/log.js';
import type { CheckResult } from '../../lib/model.js';
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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface Check<V = any> {
  /** The IpRecord field the result is stored under: the plugin's name. */
  name: string;
  plugin: CheckPlugin<V>;
  /** Null when the check runs with this config; else why it is skipped (stored as status 'skipped'). */
  skipReason(config: Config): string | null;
  /**
   * A result for every target, keyed by IP. Never rejects: a failure is data. Concurrency is bounded
   * by the check itself (config.dns.concurrency and friends).
   */
  run(targets: readonly Target[], deps: CheckDeps): Promise<Map<string, CheckResult<V>>>;
}
