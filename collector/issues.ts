/**
 * Each source's open issues, taken from what its run stored (pure). The judgement follows
 * lib/severity.ts (the dashboard's colours): a listing on a critical zone, a provider block, a DNS
 * mismatch, an SNDS block and a bad HTTP reputation are problems; a non-critical listing, SNDS
 * yellow/red, trap hits and a low SenderScore are warnings. Only fresh verdicts open or keep an
 * issue: a check that failed this run marks its ids undetermined, so the stored verdict stays (a
 * timeout never resolves anything). Ids of listings and blocks are lib/issues.ts's (acks attach to them).
 */
import type { Config } from '../lib/config/normalize.js';
import type { OpenIssue, SourceIssues } from '../lib/events.js';
import { blockIssueId, rblIssueId } from '../lib/issues.js';
import type { BlocksRecord, IpRecord } from '../lib/model.js';

type Seen = Omit<OpenIssue, 'firstSeen' | 'lastSeen' | 'source'>;

const stamp = (source: string, at: string) => (i: Seen): OpenIssue => ({ ...i, source, firstSeen: at, lastSeen: at });

/** Issue ids of the reputation source (besides lib/issues.ts's listing ids). */
export const reputationIds = {
  zone: (zone: string) => `zone:${zone}`,
  dns: (ip: string, part: string) => `dns:${ip}:${part}`,
  snds: (ip: string, what: 'filter' | 'traps' | 'blocked') => `snds:${ip}:${what}`,
  score: (ip: string) => `score:${ip}`,
  http: (ip: string) => `http:${ip}`,
};

/** The open issues of a reputation run from the IP records it stored. */
export function reputationIssues(records: readonly IpRecord[], config: Config, runId: string, at: string): SourceIssues {
  const open: Seen[] = [];
  const undetermined: string[] = [];
  const unhealthy = new Map<string, string>();
  const sev = config.severity;

  for (const rec of records) {
    const where = { host: rec.host, ip: rec.ip };
    for (const z of rec.dnsbl) {
      // The common case (not listed, nothing wrong) costs one comparison: 10,000 IPs x 20 zones pass here.
      if (z.state === 'not_listed' && z.unhealthy === undefined) continue;
      if (z.unhealthy !== undefined) unhealthy.set(z.zone, z.unhealthy);
      if (z.kind === 'allow') continue;
      const id = rblIssueId(z.zone, rec.ip);
      if (z.state === 'listed') {
        const labels = z.labels.filter((l) => !z.codes.includes(l));
        const what = [...z.codes, ...(labels.length ? [labels.join(', ')] : [])].join(' ');
        open.push({
          id,
          kind: 'listing',
          severity: z.critical ? 'problem' : 'warning',
          ...where,
          zone: z.zone,
          state: `listed: ${what}`,
          ...(z.txt !== undefined ? { detail: z.txt } : {}),
          ...(z.removalLink !== undefined ? { links: { removal: z.removalLink } } : {}),
        });
      } else if (z.state !== 'not_listed') undetermined.push(id);
    }

    const ss = rec.senderscore;
    if (ss.status === 'error') undetermined.push(reputationIds.score(rec.ip));
    else if (ss.status === 'ok' && typeof ss.value?.score === 'number' && ss.value.score < sev.senderscoreWarning) {
      open.push({ id: reputationIds.score(rec.ip), kind: 'score', severity: 'warning', ...where, state: `score ${ss.value.score}` });
    }

    const snds = rec.snds;
    if (snds.status === 'error') undetermined.push(`snds:${rec.ip}:`);
    else if (snds.status === 'ok' && snds.value) {
      const d = snds.value.data;
      if (d && (d.color === 'red' || d.color === 'yellow')) {
        open.push({ id: reputationIds.snds(rec.ip, 'filter'), kind: 'snds', severity: 'warning', ...where, provider: 'microsoft', state: d.color, detail: `complaint rate ${d.complaintRate}` });
      }
      if (d && d.traps >= sev.sndsTrapsWarning) {
        open.push({ id: reputationIds.snds(rec.ip, 'traps'), kind: 'snds_traps', severity: 'warning', ...where, provider: 'microsoft', state: `traps ${d.traps}` });
      }
      const b = snds.value.blocked;
      if (b?.blocked) {
        open.push({
          id: reputationIds.snds(rec.ip, 'blocked'),
          kind: 'snds',
          severity: 'problem',
          ...where,
          provider: 'microsoft',
          state: 'blocked',
          ...(b.reason !== undefined ? { detail: b.reason } : {}),
        });
      }
    }

    const m = rec.dnsMatch;
    if (m.status === 'error') undetermined.push(`dns:${rec.ip}:`);
    else if (m.status === 'ok' && m.value) {
      for (const [part, r] of [['rdns', m.value.rdns], ['fdns', m.value.fdns], ['helo', m.value.helo]] as const) {
        const id = reputationIds.dns(rec.ip, part);
        if (r.state === 'error') undetermined.push(id);
        else if (r.state === 'mismatch') {
          open.push({ id, kind: 'dns_mismatch', severity: 'problem', ...where, state: `${part} mismatch`, detail: r.found.length ? `found ${r.found.join(', ')}` : 'nothing found' });
        }
      }
    }

    const h = rec.httpReputation;
    if (h?.status === 'error') undetermined.push(reputationIds.http(rec.ip));
    else if (h?.status === 'ok' && h.value?.verdict === 'bad') {
      open.push({ id: reputationIds.http(rec.ip), kind: 'http_reputation', severity: 'problem', ...where, provider: config.httpReputation?.name ?? 'http', state: 'bad', detail: h.value.raw });
    }
  }
  for (const [zone, why] of unhealthy) {
    open.push({ id: reputationIds.zone(zone), kind: 'zone_unhealthy', severity: 'warning', zone, state: 'unhealthy', detail: why });
  }
  return { source: 'reputation', runId, at, open: open.map(stamp('reputation', at)), undetermined };
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
