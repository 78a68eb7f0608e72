/**
 * The run summary's counts and error lines, from the stored records (pure): each check plugin counts
 * its own result (lib/checks/). Errors are grouped by check, zone and reason so a dead source across
 * 10,000 IPs is one line with a count, not 10,000. DNSBL counts are per IP x zone lookup; the other
 * checks count one result per IP.
 */
import { defaultTally } from '../lib/checks/common.js';
import { checkPlugins, resultOf, type AnyPlugin } from '../lib/checks/index.js';
import type { TallySink } from '../lib/checks/types.js';
import type { HostRecord, IpRecord, RunSummary } from '../lib/model.js';
import { partialPrefix } from './hosts.js';
import type { MaillogResult } from './maillog/index.js';
import type { SourcePart } from './sources/types.js';

export type Counts = RunSummary['checks'];

/** At most this many error lines are kept in a summary. */
export const maxErrorLines = 20;

interface ErrorGroup {
  label: string;
  reason: string;
  ips: number;
  example: string;
}

export interface Tally {
  checks: Counts;
  unhealthyZones: string[];
  errors: string[];
}

/**
 * Counts and error lines of a run. `skipped` names checks the config turned off: they count every IP
 * as skipped (DNSBL results alone cannot say so: a skipped DNSBL check leaves an empty list).
 */
export function tally(
  records: readonly IpRecord[],
  hosts: readonly HostRecord[],
  maillog: MaillogResult | null,
  skipped: readonly string[] = [],
  plugins: readonly AnyPlugin[] = checkPlugins,
): Tally {
  const checks: Counts = {};
  const bump = (name: string, what: 'ok' | 'error' | 'skipped') => {
    const c = (checks[name] ??= { ok: 0, error: 0, skipped: 0 });
    c[what]++;
  };
  const groups = new Map<string, ErrorGroup>();
  const group = (label: string, reason: string, ip: string) => {
    const key = `${label}\u0000${reason}`;
    const g = groups.get(key);
    if (g) g.ips++;
    else groups.set(key, { label, reason, ips: 1, example: ip });
  };
  const unhealthy = new Map<string, string>();

  // A host that resolved although one address family's lookup failed is an error too: it may have
  // addresses this run cannot see.
  const hostFailed = (h: HostRecord) => h.resolve.status === 'error' || (h.resolve.reason?.startsWith(partialPrefix) ?? false);
  for (const h of hosts) {
    bump('hosts', hostFailed(h) ? 'error' : 'ok');
  }
  // One sink per check, told the IP of the record it is fed (10,000 records x every check at scale).
  let ip = '';
  const sinks = plugins.map((p): TallySink => {
    let counts: Counts[string] | undefined;
    return {
      bump: (what, n = 1) => {
        counts ??= checks[p.name] ??= { ok: 0, error: 0, skipped: 0 };
        counts[what] += n;
      },
      error: (label, reason) => group(label, reason, ip),
      unhealthy: (name, why) => unhealthy.set(name, why),
    };
  });
  for (const rec of records) {
    ip = rec.ip;
    for (let i = 0; i < plugins.length; i++) {
      const p = plugins[i]!;
      const r = resultOf(rec, p);
      if (!r) continue;
      if (p.tally) p.tally(r, sinks[i]!);
      else defaultTally(p.name, r, sinks[i]!);
    }
  }
  for (const name of skipped) checks[name] = { ok: 0, error: 0, skipped: records.length };
  if (maillog) checks.maillog = { ok: maillog.ok, error: maillog.error, skipped: maillog.skipped };

  const lines: string[] = [];
  for (const h of hosts) {
    if (hostFailed(h)) lines.push(`host ${h.name}: ${h.resolve.reason ?? 'cannot resolve'}`);
  }
  for (const [zone, why] of unhealthy) lines.push(`dnsbl ${zone}: zone unhealthy: ${why}`);
  for (const g of [...groups.values()].sort((a, b) => b.ips - a.ips)) {
    lines.push(g.ips === 1 ? `${g.label} ${g.example}: ${g.reason}` : `${g.label}: ${g.reason} (${g.ips} IPs, e.g. ${g.example})`);
  }
  for (const e of maillog?.errors ?? []) lines.push(`maillog ${e}`);
  return { checks, unhealthyZones: [...unhealthy].map(([z, why]) => `${z}: ${why}`), errors: capErrors(lines) };
}

/** 'partial' when anything failed (a check result, a host, a zone, a maillog); 'ok' otherwise. */
export function statusOf(t: Tally): RunSummary['status'] {
  const failed = Object.values(t.checks).some((c) => c.error > 0) || t.unhealthyZones.length > 0;
  return failed ? 'partial' : 'ok';
}

const moreLine = /^\.\.\. and (\d+) more$/;

/** At most `maxErrorLines` lines; the last one then says how many more there were. Lists already capped count right. */
export function capErrors(...lists: readonly (readonly string[])[]): string[] {
  const lines: string[] = [];
  let hidden = 0;
  for (const list of lists) {
    for (const l of list) {
      const m = moreLine.exec(l);
      if (m) hidden += Number(m[1]);
      else lines.push(l);
    }
  }
  const total = lines.length + hidden;
  if (total <= maxErrorLines) return lines;
  return [...lines.slice(0, maxErrorLines - 1), `... and ${total - maxErrorLines + 1} more`];
}

const statusRank = { ok: 0, partial: 1, failed: 2 } as const;
const worst = (list: readonly RunSummary['status'][]) => list.reduce<RunSummary['status']>((a, b) => (statusRank[b] > statusRank[a] ? b : a), 'ok');

function mergeChecks(list: readonly RunSummary['checks'][]): RunSummary['checks'] {
  const out: RunSummary['checks'] = {};
  for (const checks of list) {
    for (const [name, c] of Object.entries(checks)) {
      const o = (out[name] ??= { ok: 0, error: 0, skipped: 0 });
      o.ok += c.ok;
      o.error += c.error;
      o.skipped += c.skipped;
    }
  }
  return out;
}

/** The sources' parts of one run as one summary's counts: hosts of the widest part, IPs summed, the worst status. */
export function mergeParts(parts: readonly SourcePart[]): Pick<RunSummary, 'hosts' | 'ips' | 'status' | 'checks' | 'unhealthyZones' | 'errors'> {
  return {
    hosts: Math.max(0, ...parts.map((p) => p.hosts)),
    ips: parts.reduce((n, p) => n + p.ips, 0),
    status: worst(parts.map((p) => p.status)),
    checks: mergeChecks(parts.map((p) => p.checks)),
    unhealthyZones: parts.flatMap((p) => p.unhealthyZones),
    errors: capErrors(...parts.map((p) => p.errors)),
  };
}

/**
 * The newest summary of each source as one (what the dashboard shows as the last run when the sources
 * run on their own schedules): the id of the newest, from the earliest start to the latest end.
 */
export function mergeSummaries(list: readonly RunSummary[]): RunSummary {
  const newest = [...list].sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))[0];
  if (!newest) throw new Error('mergeSummaries: nothing to merge');
  const startedAt = list.map((s) => s.startedAt).sort()[0]!;
  return {
    id: newest.id,
    startedAt,
    finishedAt: newest.finishedAt,
    durationMs: Math.max(...list.map((s) => s.durationMs)),
    ...mergeParts(list.map((s) => ({ ...s, status: s.status }))),
    sources: [...new Set(list.flatMap((s) => s.sources ?? []))],
  };
}
