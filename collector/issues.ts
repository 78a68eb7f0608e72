/**
 * Each source's open issues, taken from what its run stored (pure). The per-IP checks' issues come
 * from their plugins (lib/checks/), judged as the dashboard colours them: a listing on a critical
 * zone, a provider block, a DNS mismatch, an SNDS block and a bad HTTP reputation are problems; a
 * non-critical listing, SNDS yellow/red, trap hits and a low SenderScore are warnings. Only fresh verdicts open or keep an
 * issue: a check that failed this run marks its ids undetermined, so the stored verdict stays (a
 * timeout never resolves anything). Ids of listings and blocks are lib/issues.ts's (acks attach to them).
 */
import { httpReputationSettings } from '../lib/checks/http-reputation.js';
import { checkPlugins, resultOf, type AnyPlugin } from '../lib/checks/index.js';
import type { Config } from '../lib/config/normalize.js';
import type { OpenIssue, SourceIssues } from '../lib/events.js';
import { blockIssueId } from '../lib/issues.js';
import { severityRules } from '../lib/severity.js';
import type { BlocksRecord, IpRecord } from '../lib/model.js';

type Seen = Omit<OpenIssue, 'firstSeen' | 'lastSeen' | 'source'>;

const stamp = (source: string, at: string) => (i: Seen): OpenIssue => ({ ...i, source, firstSeen: at, lastSeen: at });

/** Issue ids of the reputation source (besides lib/issues.ts's listing ids); each plugin builds its own. */
export const reputationIds = {
  zone: (zone: string) => `zone:${zone}`,
  dns: (ip: string, part: string) => `dns:${ip}:${part}`,
  snds: (ip: string, what: 'filter' | 'traps' | 'blocked') => `snds:${ip}:${what}`,
  score: (ip: string) => `score:${ip}`,
  http: (ip: string) => `http:${ip}`,
};

/**
 * The open issues of a reputation run from the IP records it stored: each check plugin's `issues` of
 * its result (lib/checks/), with the severity of its one judgement. An issue seen on several IPs
 * (an unhealthy zone) is one issue.
 */
export function reputationIssues(records: readonly IpRecord[], config: Config, runId: string, at: string, plugins: readonly AnyPlugin[] = checkPlugins): SourceIssues {
  const open = new Map<string, Seen>();
  const undetermined: string[] = [];
  const rules = severityRules(config);
  const httpName = httpReputationSettings(config).lookup?.name;
  for (const rec of records) {
    const ctx = { rules, host: rec.host, ip: rec.ip, ...(httpName !== undefined ? { httpName } : {}) };
    for (const p of plugins) {
      const r = resultOf(rec, p);
      if (r === undefined) continue;
      const found = p.issues(r, ctx);
      for (const i of found.open) if (!open.has(i.id)) open.set(i.id, i);
      undetermined.push(...found.undetermined);
    }
  }
  // Per-IP issues first, then those of no one IP (an unhealthy zone).
  const all = [...open.values()];
  const ordered = [...all.filter((i) => i.ip !== undefined), ...all.filter((i) => i.ip === undefined)];
  return { source: 'reputation', runId, at, open: ordered.map(stamp('reputation', at)), undetermined };
}

/** Issue id of an unreadable maillog. */
export const maillogId = (host: string) => `maillog:${host}`;

/**
 * The open issues of a maillog run from the blocks records of the hosts it read. A host that could
 * not be read is an issue itself; its blocks are the last good ones (aged out by the window), so a
 * block still goes when its window passes.
 */
export function maillogIssues(records: readonly BlocksRecord[], runId: string, at: string): SourceIssues {
  const open: Seen[] = [];
  for (const r of records) {
    for (const b of r.blocks) {
      open.push({
        id: blockIssueId(b.provider, r.host),
        kind: 'block',
        severity: 'problem',
        host: r.host,
        provider: b.provider,
        ...(b.ip !== undefined ? { ip: b.ip } : {}),
        ...(b.recipientDomain !== undefined ? { domain: b.recipientDomain } : {}),
        state: 'blocked',
        detail: b.line,
      });
    }
    if (r.status === 'error') {
      open.push({ id: maillogId(r.host), kind: 'maillog_unreadable', severity: 'warning', host: r.host, state: 'unreadable', detail: r.reason ?? 'error' });
    }
  }
  return { source: 'maillog', runId, at, open: open.map(stamp('maillog', at)), undetermined: [] };
}
