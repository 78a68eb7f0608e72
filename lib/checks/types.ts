/**
 * A per-IP check plugin: everything about one check in one object (style note 2), in one file
 * `lib/checks/<name>.ts`. Its run (targets + deps in, one `CheckResult` per target out: the network
 * part, which the collector calls) and everything the collector and the dashboard need to know about a
 * result: its value schema, stale handling, its judgement (the one place its severity is decided),
 * summary counting, open issues, how it is shown, and its metrics. A result is always a
 * `CheckResult<V>` stored under the check's name in the IpRecord. The list is lib/checks/index.ts.
 */
import type * as z from 'zod';
import type { Config, HostConfig, Problem } from '../config/normalize.js';
import type { FieldValue, Point } from '../influx.js';
import type { OpenIssue } from '../events.js';
import type { Logger } from '../log.js';
import type { CheckResult, HistoryPoint } from '../model.js';
import type { DnsClient } from '../net/dns/client.js';
import type { SeverityReason, SeverityRules } from '../severity.js';

/** One MTA IP to check. */
export interface Target {
  ip: string;
  family: 4 | 6;
  host: HostConfig;
}

/** Side effects of a run are parameters (style note 5): tests pass local servers and a fixed clock. */
export interface CheckDeps {
  config: Config;
  log: Logger;
  now: () => Date;
  dns: DnsClient;
  fetch: typeof fetch;
}

/** What a judgement may consult besides the result. */
export interface JudgeContext {
  rules: SeverityRules;
}

/** An open issue as a plugin sees it (the source stamps source and times). */
export type SeenIssue = Omit<OpenIssue, 'firstSeen' | 'lastSeen' | 'source'>;

export interface IssueContext extends JudgeContext {
  host: string;
  ip: string;
  /** Display name of a configured provider (the HTTP reputation lookup's name). */
  httpName?: string;
}

/** Where a plugin's summary counting goes. */
export interface TallySink {
  /** Count `n` (default 1) results as `what`. */
  bump(what: 'ok' | 'error' | 'skipped', n?: number): void;
  /** One failed result: grouped by label + reason over IPs in the run summary. */
  error(label: string, reason: string): void;
  /** A zone (or other part) that failed its self-test: one line, and the run is partial. */
  unhealthy(name: string, why: string): void;
}

/** A cell of the overview: text shown, a state for its colour class, an optional tooltip. */
export interface Cell {
  text: string;
  state: 'good' | 'warn' | 'bad' | 'unknown' | 'none';
  title?: string;
  stale?: boolean;
  /** Small labelled marks drawn instead of the text (DNS match: rDNS / fDNS / HELO). */
  marks?: { label: string; state: 'match' | 'mismatch' | 'error' }[];
}

/** One overview column a plugin contributes. */
export interface Column<V> {
  /** Sort key (URL ?sort=) and data-key; unique over all columns. */
  key: string;
  header: string;
  /** Place among the columns (smaller = further left); provider blocks sit at 60, DNSBL listings at 70. */
  order: number;
  /** Right-aligned numbers. */
  numeric?: boolean;
  /** The cell of one IP (r undefined: not checked yet). */
  cell(r: CheckResult<V> | undefined, ctx: JudgeContext): Cell;
  /** Sort value (numbers sort numerically). */
  sort(r: CheckResult<V> | undefined, cell: Cell): number | string;
}

/** One line of the host page's check table. */
export interface DetailRow {
  name: string;
  text: string;
  /** c-none (fine or not run) or c-unknown (failed / no data). */
  state: 'none' | 'unknown';
  at?: string;
}

/** What a plugin's series of one IP may consult. */
export interface SeriesContext {
  config: Config;
  /** The IP is IPv6 (zones without IPv6 support do not apply). */
  v6: boolean;
  /** Zones that failed their self-test in the newest run (they cannot tell for any IP). */
  unhealthyZones: ReadonlySet<string>;
}

/** One Prometheus sample of an IP: the `host` and `ip` labels are added by the caller. */
export interface Sample {
  name: string;
  labels?: Record<string, string>;
  value: number;
}

/**
 * A check's figures for monitoring stacks (GET /metrics and `collect --output-format influx`). A check
 * that failed or never ran says so (`*_error` 1, value NaN or left out): never a clean value.
 */
export interface CheckSeries<V> {
  /** Its Prometheus gauges: name -> help and label names (README "Metrics"). */
  help: Record<string, [string, string[]]>;
  /** The samples of one IP (r undefined: not checked yet; labels host and ip added by the caller); none when the check is off. */
  samples(r: CheckResult<V> | undefined, ctx: SeriesContext): Sample[];
  /** Fields on the IP's `mtarep_ip` Influx line, and lines of its own (tags host and ip added by the caller). */
  influx(r: CheckResult<V> | undefined, ctx: SeriesContext): { fields: Record<string, FieldValue | undefined>; points?: Omit<Point, 'timestamp'>[] };
}

/**
 * The config keys a check owns: top-level and flat like the Ruby mtarep's (`snds_key`,
 * `senderscore_zone`), part of the one schema (lib/config/schema.ts merges them) so that a typo
 * anywhere in the file is still an error naming the key, and documented in mtarep.example.yml.
 */
export interface ConfigSlice<S> {
  keys: z.ZodRawShape;
  /** Its settings from the parsed values of its keys (defaults applied); problems and warnings name the key. */
  normalize(raw: Record<string, unknown>, out: { problems: Problem[]; warnings: string[] }): S;
  /** Secret values in its settings (scrubbed from every log line, page and error). */
  secrets?(settings: S): string[];
}

/** A check's settings, as its ConfigSlice made them (config.checks[name]). */
export function settingsOf<S>(config: Config, name: string): S {
  const s = config.checks[name];
  if (s === undefined) throw new Error(`no settings for check ${name}: its plugin has no config slice or the config was not normalised with it`);
  return s as S;
}

export interface CheckPlugin<V = unknown> {
  /** The IpRecord field and the run summary's check name ('dnsbl', 'senderscore', ...). */
  name: string;
  /** Display name ('SenderScore'). */
  label: string;
  /** Null when the check runs with this config; else why it is skipped (stored as status 'skipped'). */
  skipReason(config: Config): string | null;
  /**
   * The run: a result for every target, keyed by IP. Never rejects and never hangs: a failure is a
   * result with status 'error' and a reason, every network wait has a bound, and concurrency is bounded
   * by the check itself (config.dns.concurrency and friends).
   */
  run(targets: readonly Target[], deps: CheckDeps): Promise<Map<string, CheckResult<V>>>;
  /** Schema of the result's value, for the record store. */
  value: z.ZodType;
  /** This run's result with the previous record's last good value carried as `stale` (default: carryStale). */
  carry?(next: CheckResult<V>, prev: CheckResult<V> | undefined): CheckResult<V>;
  /** Whether the result needs the previous record (for stale values). Default: status 'error'. */
  failed?(r: CheckResult<V>): boolean;
  /** The one judgement of a result: severity reasons (none = clean). */
  judge(r: CheckResult<V>, ctx: JudgeContext): SeverityReason[];
  /** Summary counting (default: one ok/error/skipped per IP, errors grouped by reason). */
  tally?(r: CheckResult<V>, sink: TallySink): void;
  /** Open issues of the result, and ids (or prefixes ending in ':') this result cannot judge. */
  issues(r: CheckResult<V>, ctx: IssueContext): { open: SeenIssue[]; undetermined: string[] };
  /** Fields of the run's history point (fresh values only). */
  history?(r: CheckResult<V>): Partial<Omit<HistoryPoint, 't'>>;
  /** Overview columns for this config (none: the check is shown on the host page and in the API only). */
  columns(config: Config): Column<V>[];
  /** The host page's line(s) for the result. */
  detail(r: CheckResult<V> | undefined): DetailRow[];
  /** The API's flat string fields (the original mtarep's keys) for one IP. */
  api(r: CheckResult<V> | undefined): Record<string, string>;
  /** Its Prometheus and Influx figures (none: the check is not exported). */
  series?: CheckSeries<V>;
  /** The config keys it owns, and its settings from them (none: it has no keys of its own). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  config?: ConfigSlice<any>;
  /** One line for `mtarep check-config`: how the check runs with this config. */
  describe(config: Config): string;
}

/** A plugin of any value type: what lists of checks hold. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPlugin = CheckPlugin<any>;
