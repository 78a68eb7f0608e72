/**
 * Row severity: the one place that decides a dashboard row's colour. Pure: records in, verdict out.
 * Each check's result is judged by its plugin (lib/checks/); this adds what is not a check's: stale
 * data, failed host resolution and the maillog's provider blocks.
 * The original mtarep's rules are the defaults (config.severity): SNDS traps >= 10, SNDS red/yellow
 * and SenderScore < 70 are warnings; a listing on a critical zone, any provider block, a DNS mismatch
 * and a bad HTTP reputation are errors. "Cannot tell" (a failed check, an unhealthy zone, an unknown
 * answer, stale data, no data yet) is its own level so it never looks clean.
 */
import { checkPlugins, type AnyPlugin } from './checks/index.js';
import type { BlocksRecord, CheckResult, HostRecord, IpRecord, ProviderBlock } from './model.js';
import { shortTime } from './time-text.js';

export type SeverityLevel = 'error' | 'warning' | 'unknown' | 'ok';

export interface SeverityReason {
  level: Exclude<SeverityLevel, 'ok'>;
  text: string;
}

export interface Severity {
  /** The worst level among the reasons ('ok' when there is none). */
  level: SeverityLevel;
  reasons: SeverityReason[];
  /** The IP's data is older than the rules allow (a reason says so too). */
  stale?: boolean;
}

export interface SeverityRules {
  sndsTrapsWarning: number;
  senderscoreWarning: number;
  /** Data older than this is "cannot tell". */
  staleAfterMs: number;
}

export interface SeverityInput {
  /** The IP's record; undefined when the collector has not checked it yet. */
  ip?: IpRecord;
  host?: HostRecord;
  /** The maillog read of the row's host, and the blocks that concern this row. */
  blocksRecord?: BlocksRecord;
  blocks: readonly ProviderBlock[];
  now: Date;
  /** The check plugins that judge the record (default: every built-in one). */
  plugins?: readonly AnyPlugin[];
}

const rank: Record<SeverityLevel, number> = { error: 3, warning: 2, unknown: 1, ok: 0 };

/** Worst of two levels. */
export function worse(a: SeverityLevel, b: SeverityLevel): SeverityLevel {
  return rank[a] >= rank[b] ? a : b;
}

/** Default rules from a config's `severity` section and collect interval. */
export function severityRules(config: {
  severity: { sndsTrapsWarning: number; senderscoreWarning: number };
  collectInterval: number;
}): SeverityRules {
  return {
    sndsTrapsWarning: config.severity.sndsTrapsWarning,
    senderscoreWarning: config.severity.senderscoreWarning,
    // Three missed runs (and at least an hour) before a row is called stale.
    staleAfterMs: Math.max(3 * config.collectInterval, 3600) * 1000,
  };
}

/** Judge one dashboard row (one MTA IP, or a host whose resolution failed). */
export function rowSeverity(input: SeverityInput, rules: SeverityRules): Severity {
  const reasons: SeverityReason[] = [];
  const { ip, host } = input;
  let stale = false;

  if (host?.resolve.status === 'error') {
    reasons.push({ level: 'unknown', text: `resolution failed: ${host.resolve.reason ?? 'error'}` });
  }
  if (ip === undefined) {
    if (host?.resolve.status !== 'error') reasons.push({ level: 'unknown', text: 'not checked yet' });
  } else {
    const age = input.now.getTime() - Date.parse(ip.checkedAt);
    if (!(age <= rules.staleAfterMs)) {
      stale = true;
      reasons.push({ level: 'unknown', text: `data is stale (last checked ${shortTime(ip.checkedAt)})` });
    }

    // Each check's one judgement (lib/checks/): the overview, the host page and the API all use this.
    for (const p of input.plugins ?? checkPlugins) {
      const r = ip[p.name] as CheckResult<unknown> | undefined;
      if (r !== undefined) reasons.push(...p.judge(r, { rules }));
    }
  }

  for (const b of input.blocks) reasons.push({ level: 'error', text: `blocked by ${b.provider}` });
  if (input.blocksRecord?.status === 'error') {
    reasons.push({ level: 'unknown', text: `maillog: ${input.blocksRecord.reason ?? 'error'}` });
  }

  const level = reasons.reduce<SeverityLevel>((acc, r) => worse(acc, r.level), 'ok');
  return stale ? { level, reasons, stale } : { level, reasons };
}
