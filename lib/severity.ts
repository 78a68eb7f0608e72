/**
 * Row severity: the one place that decides a dashboard row's colour. Pure: records in, verdict out.
 * The original mtarep's rules are the defaults (config.severity): SNDS traps >= 10, SNDS red/yellow
 * and SenderScore < 70 are warnings; a listing on a critical zone, any provider block, a DNS mismatch
 * and a bad HTTP reputation are errors. "Cannot tell" (a failed check, an unhealthy zone, an unknown
 * answer, stale data, no data yet) is its own level so it never looks clean.
 */
import type { BlocksRecord, CheckResult, HostRecord, IpRecord, ProviderBlock } from './model.js';

export type SeverityLevel = 'error' | 'warning' | 'unknown' | 'ok';

export interface SeverityReason {
  level: Exclude<SeverityLevel, 'ok'>;
  text: string;
}

export interface Severity {
  /** The worst level among the reasons ('ok' when there is none). */
  level: SeverityLevel;
  reasons: SeverityReason[];
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
}

const rank: Record<SeverityLevel, number> = { error: 3, warning: 2, unknown: 1, ok: 0 };

/** Worst of two levels. */
export function worse(a: SeverityLevel, b: SeverityLevel): SeverityLevel {
  return rank[a] >= rank[b] ? a : b;
}

/** The value a check holds for judging: the fresh one, or the last good one when it failed. */
function valueOf<T>(r: CheckResult<T> | undefined): T | undefined {
  if (r === undefined) return undefined;
  if (r.status === 'ok') return r.value;
  return r.stale?.value;
}

function failed(name: string, r: CheckResult<unknown> | undefined, out: SeverityReason[]): void {
  if (r?.status === 'error') out.push({ level: 'unknown', text: `${name}: ${r.reason ?? 'error'}` });
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

  if (host?.resolve.status === 'error') {
    reasons.push({ level: 'unknown', text: `resolution failed: ${host.resolve.reason ?? 'error'}` });
  }
  if (ip === undefined) {
    if (host?.resolve.status !== 'error') reasons.push({ level: 'unknown', text: 'not checked yet' });
  } else {
    const age = input.now.getTime() - Date.parse(ip.checkedAt);
    if (!(age <= rules.staleAfterMs)) {
      reasons.push({ level: 'unknown', text: `data is stale (last checked ${ip.checkedAt})` });
    }

    for (const d of ip.dnsbl) {
      if (d.state === 'listed' && d.kind !== 'allow') {
        const what = `listed on ${d.zone}${d.labels.length ? ` (${d.labels.join(', ')})` : ''}`;
        reasons.push({ level: d.critical ? 'error' : 'warning', text: what });
      } else if (d.state === 'error' || d.state === 'unknown' || d.unhealthy !== undefined) {
        const why = d.unhealthy ?? d.reason ?? d.state;
        reasons.push({ level: 'unknown', text: `${d.zone}: cannot tell (${why})` });
        // As for the other checks, a failed lookup keeps judging the last clear verdict: a timeout
        // must not turn a known critical listing into a milder colour.
        if (d.stale?.state === 'listed' && d.kind !== 'allow') {
          reasons.push({ level: d.critical ? 'error' : 'warning', text: `last known: listed on ${d.zone} (at ${d.stale.at})` });
        }
      }
    }

    const score = valueOf(ip.senderscore)?.score;
    if (typeof score === 'number' && score < rules.senderscoreWarning) {
      reasons.push({ level: 'warning', text: `SenderScore ${score} < ${rules.senderscoreWarning}` });
    }
    failed('SenderScore', ip.senderscore, reasons);

    const snds = valueOf(ip.snds);
    if (snds?.data) {
      if (snds.data.color === 'red' || snds.data.color === 'yellow') {
        reasons.push({ level: 'warning', text: `SNDS filter ${snds.data.color}` });
      }
      if (snds.data.traps >= rules.sndsTrapsWarning) {
        reasons.push({ level: 'warning', text: `SNDS trap hits ${snds.data.traps} >= ${rules.sndsTrapsWarning}` });
      }
    }
    if (snds?.blocked?.blocked) {
      reasons.push({ level: 'error', text: `blocked by Microsoft${snds.blocked.reason ? `: ${snds.blocked.reason}` : ''}` });
    }
    failed('SNDS', ip.snds, reasons);

    const match = valueOf(ip.dnsMatch);
    if (match) {
      for (const [part, m] of [['rDNS', match.rdns], ['fDNS', match.fdns], ['HELO', match.helo]] as const) {
        if (m.state === 'mismatch') reasons.push({ level: 'error', text: `${part} mismatch${m.found.length ? ` (found ${m.found.join(', ')})` : ''}` });
        else if (m.state === 'error') reasons.push({ level: 'unknown', text: `${part}: ${m.reason ?? 'error'}` });
      }
    }
    failed('DNS match', ip.dnsMatch, reasons);

    const rep = valueOf(ip.httpReputation);
    if (rep?.verdict === 'bad') reasons.push({ level: 'error', text: `HTTP reputation bad (${rep.raw})` });
    else if (rep?.verdict === 'unknown') reasons.push({ level: 'unknown', text: `HTTP reputation unknown (${rep.raw})` });
    failed('HTTP reputation', ip.httpReputation, reasons);
  }

  for (const b of input.blocks) reasons.push({ level: 'error', text: `blocked by ${b.provider}` });
  if (input.blocksRecord?.status === 'error') {
    reasons.push({ level: 'unknown', text: `maillog: ${input.blocksRecord.reason ?? 'error'}` });
  }

  const level = reasons.reduce<SeverityLevel>((acc, r) => worse(acc, r.level), 'ok');
  return { level, reasons };
}
