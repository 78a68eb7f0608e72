/**
 * A source is a unit of collection with its own interval, lock and summary: the per-IP reputation
 * checks, the maillogs, and next the probes and webhook ingestion. Each one is a module exporting a
 * `Source`, listed once in sources/index.ts; `mtarep collect` runs them once, `mtarep start` and
 * `mtarep worker` schedule each on its own interval (collector/scheduler.ts).
 *
 * A source run writes its own records and returns its part of the run summary and the issues it
 * sees now (lib/events.ts); the runner (collector/run.ts) holds the source's lock, records the
 * issue events and stores the merged summary.
 */
import type { Config } from '../../lib/config/normalize.js';
import type { SourceName } from '../../lib/config/schema.js';
import type { OpenIssue, SourceIssues } from '../../lib/events.js';
import type { Logger } from '../../lib/log.js';
import type { RunSummary } from '../../lib/model.js';
import type { Redis } from '../../lib/redis.js';
import type { Keys } from '../../lib/keys.js';
import type { Lock } from '../lock.js';
import type { AnyPlugin, CheckDeps, Target } from '../../lib/checks/types.js';
import type { DnsClient } from '../../lib/net/dns/client.js';
import type { RunResults } from '../records.js';
import type { SshSession, SshTarget } from '../ssh/client.js';

/** Runs the per-IP checks over targets: in this process, or split into shards for several workers. */
export type CheckRunner = (checks: readonly AnyPlugin[], targets: readonly Target[], deps: CheckDeps, step: (label: string) => void) => Promise<RunResults>;

export interface SourceContext {
  config: Config;
  redis: Redis;
  k: Keys;
  log: Logger;
  now: () => Date;
  /** Id of this run (shared by the sources of one `mtarep collect`). */
  runId: string;
  /** The source's own lock: extend it before writing (a run that lost it must not write). */
  lock: Lock;
  dns: DnsClient;
  fetch: typeof fetch;
  /** One progress step done (the source announces `steps(config)` of them). */
  step: (label: string) => void;
  /** How per-IP checks run; default in this process. */
  runChecks: CheckRunner;
  /** The per-IP checks to run (default: lib/checks/index.ts; tests add their own). */
  checks?: readonly AnyPlugin[];
  /** SSH connector of the maillog source; default collector/ssh/client.ts (`mtarep collect` passes its early connections). */
  sshConnect?: (t: SshTarget) => Promise<SshSession>;
}

/** A source's part of the run summary (merged over the sources of a run by collector/run.ts). */
export interface SourcePart {
  /** Hosts and IPs this source looked at (the reputation source counts IPs; others give 0). */
  hosts: number;
  ips: number;
  checks: RunSummary['checks'];
  unhealthyZones: string[];
  errors: string[];
  status: 'ok' | 'partial' | 'failed';
}

export interface SourceOutcome {
  part: SourcePart;
  /** The open issues seen now, or null when this source reports none (then no events are recorded). */
  issues: Omit<SourceIssues, 'source' | 'runId'> | null;
}

export interface Source {
  /** Unique, lower case: used in `--only`, `sources.<name>` config, lock and issue ownership. One of
   * lib/source-names.ts's list, which the config is checked against. */
  readonly name: SourceName;
  /** How many progress steps a run reports (for the progress bar). */
  steps(config: Config): number;
  run(ctx: SourceContext): Promise<SourceOutcome>;
}

export type { OpenIssue };
