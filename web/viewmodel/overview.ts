/**
 * The overview's view model: one row per MTA IP (a host with no IP gets one row showing why), every
 * cell as display text + state + sort value, the summary line and the issue modals. Pure: snapshot,
 * config and clock in; plain data out. The severity comes from lib/severity.ts only.
 */
import type { Config, HostConfig } from '../../lib/config/normalize.js';
import { blockIssueId, rblIssueId, type Ack } from '../../lib/issues.js';
import type { BlocksRecord, CheckResult, IpRecord, RunSummary } from '../../lib/model.js';
import { severityRules, type Severity } from '../../lib/severity.js';
import type { Snapshot } from '../data.js';
import { hostIps } from '../data.js';
import { buildIssueViews, type IssueView } from './issues.js';
import { ageText } from './format.js';
import { blocksFor, rowSeverityOf } from './severity.js';

export const sortKeys = ['severity', 'host', 'ip', 'dns', 'score', 'snds', 'traps', 'http', 'blocks', 'listings', 'checked'] as const;
export type SortKey = (typeof sortKeys)[number];
export type SortDir = 'asc' | 'desc';

/** A cell: text shown, a state for its colour class, an optional tooltip. */
export interface Cell {
  text: string;
  state: 'good' | 'warn' | 'bad' | 'unknown' | 'none';
  title?: string;
  stale?: boolean;
}

export interface IssueRef {
  id: string;
  domId: string;
  label: string;
  ack?: Ack;
  /** A listing on a non-critical zone (a warning, drawn lighter than a critical one). */
  minor?: boolean;
}

export interface OverviewRow {
  host: string;
  fqdn: string;
  ip: string | null;
  severity: Severity;
  /** Set when the host's IPs could not be resolved. */
  resolveError?: string;
  dns: { parts: { label: string; state: 'match' | 'mismatch' | 'error' }[]; cell: Cell };
  score: Cell;
  snds: Cell;
  traps: Cell;
  http: Cell | null;
  blocks: IssueRef[];
  /** What the blocks cell says beside (or instead of) the badges: "no blocks" only after a good maillog read. */
  blocksNote: Cell | null;
  listings: IssueRef[];
  /** What the listings cell says when nothing is listed: "unlisted" only when the IP was checked. */
  listingsNote: Cell;
  /** Zones that could not be checked for this IP (error, unknown answer, unhealthy zone). */
  cannotTell: string[];
  checked: Cell & { iso: string | null };
  sort: Record<SortKey, string | number>;
}

export interface Summary {
  hosts: number;
  ips: number;
  listed: number;
  blocked: number;
  acknowledged: number;
  issues: number;
  errors: number;
  bySeverity: Record<Severity['level'], number>;
  lastRun: (RunSummary & { age: string }) | null;
}

export interface OverviewModel {
  firstTime: boolean;
  rows: OverviewRow[];
  issues: IssueView[];
  summary: Summary;
  showHttp: boolean;
  httpName: string;
  sort: SortKey;
  dir: SortDir;
  problems: string[];
}

function checkCell<T>(r: CheckResult<T> | undefined, show: (v: T) => Cell): Cell {
  if (r === undefined) return { text: 'no data', state: 'unknown' };
  if (r.status === 'skipped') return { text: '—', state: 'none', title: r.reason ?? 'not configured' };
  if (r.status === 'ok' && r.value !== undefined) return show(r.value);
  if (r.stale) {
    const c = show(r.stale.value);
    return { ...c, stale: true, state: 'unknown', title: `last good value from ${r.stale.at}; now: ${r.reason ?? 'error'}` };
  }
  return { text: 'error', state: 'unknown', title: r.reason ?? 'error' };
}

/**
 * The blocks cell's text: "no blocks" only after a good maillog read; a failed read says so (beside
 * the blocks of the last good read, if any); a host whose maillog is not read says that.
 */
function blocksCell(hostConfig: HostConfig, rec: BlocksRecord | undefined, hasBlocks: boolean): Cell | null {
  if (rec?.status === 'error') return { text: hasBlocks ? '?' : 'error', state: 'unknown', title: `maillog read failed: ${rec.reason ?? 'error'}` };
  if (hasBlocks) return null;
  if (rec?.status === 'ok') return { text: 'no blocks', state: 'none' };
  if (rec?.status === 'skipped') return { text: '—', state: 'none', title: rec.reason ?? 'maillog not read' };
  return hostConfig.ssh
    ? { text: 'no data', state: 'unknown', title: 'no maillog read stored yet' }
    : { text: '—', state: 'none', title: 'maillog not read (needs ssh_key)' };
}

const sevRank = { error: 3, warning: 2, unknown: 1, ok: 0 } as const;

function buildRow(
  config: Config,
  now: Date,
  hostConfig: HostConfig,
  ip: string | null,
  snap: Snapshot,
  blocksRec: BlocksRecord | undefined,
  issueByKey: Map<string, IssueView>,
): OverviewRow {
  const rules = severityRules(config);
  const host = hostConfig.name;
  const hostRec = snap.hosts.get(host);
  const rec: IpRecord | undefined = ip === null ? undefined : snap.ips.get(ip);
  const fqdn = hostConfig.fqdn;
  const blocks = blocksFor(blocksRec, ip);
  const severity = rowSeverityOf(snap, host, ip, now, rules);

  const parts: OverviewRow['dns']['parts'] = [];
  const dnsCell = checkCell(rec?.dnsMatch, (v) => {
    parts.push({ label: 'rDNS', state: v.rdns.state }, { label: 'fDNS', state: v.fdns.state }, { label: 'HELO', state: v.helo.state });
    const bad = parts.some((p) => p.state === 'mismatch');
    const err = parts.some((p) => p.state === 'error');
    // Only a row with something to explain carries the (long) tooltip: 2,000 clean rows stay small.
    const title = !bad && !err ? undefined : [v.rdns, v.fdns, v.helo]
      .map((m, i) => `${parts[i]!.label}: ${m.state}${m.found.length ? ` (${m.found.join(', ')})` : ''}${m.reason ? ` - ${m.reason}` : ''}`)
      .join('\n');
    return { text: bad ? 'mismatch' : err ? 'incomplete' : 'match', state: bad ? 'bad' : err ? 'unknown' : 'good', ...(title ? { title } : {}) };
  });

  const score = checkCell(rec?.senderscore, (v) =>
    v.score === null
      ? { text: 'no score', state: 'none' }
      : { text: String(v.score), state: v.score < rules.senderscoreWarning ? 'warn' : 'good' },
  );
  const sndsValue = rec?.snds.status === 'ok' ? rec.snds.value : rec?.snds.stale?.value;
  const snds = checkCell(rec?.snds, (v) => {
    if (v.blocked?.blocked) return { text: 'blocked', state: 'bad', title: v.blocked.reason ?? 'blocked by Microsoft' };
    if (!v.data) return { text: 'no data', state: 'none', title: 'SNDS has no row for this IP' };
    return {
      text: v.data.color,
      state: v.data.color === 'green' ? 'good' : 'warn',
      title: `complaints ${v.data.complaintRate}, ${v.data.recipients} rcpts`,
    };
  });
  const traps = checkCell(rec?.snds, (v) =>
    v.data ? { text: String(v.data.traps), state: v.data.traps >= rules.sndsTrapsWarning ? 'warn' : 'good' } : { text: 'no data', state: 'none' },
  );
  const http = config.httpReputation
    ? checkCell(rec?.httpReputation, (v) => ({
        text: v.verdict,
        state: v.verdict === 'good' ? 'good' : v.verdict === 'bad' ? 'bad' : v.verdict === 'neutral' ? 'none' : 'unknown',
        title: v.raw,
      }))
    : null;

  const listings: IssueRef[] = [];
  const cannotTell: string[] = [];
  for (const d of rec?.dnsbl ?? []) {
    if (d.state === 'listed' && d.kind !== 'allow') {
      const iv = (ip === null ? undefined : issueByKey.get(rblIssueId(d.zone, ip)));
      if (iv) listings.push({ id: iv.id, domId: iv.domId, label: d.zone, ...(iv.ack ? { ack: iv.ack } : {}), ...(d.critical ? {} : { minor: true }) });
    } else if (d.state === 'error' || d.state === 'unknown' || d.unhealthy !== undefined) {
      cannotTell.push(`${d.zone}: ${d.unhealthy ?? d.reason ?? d.state}${d.stale?.state === 'listed' ? ` (last known: listed at ${d.stale.at})` : ''}`);
    }
  }
  const blockRefs: IssueRef[] = [];
  for (const b of blocks) {
    const iv = issueByKey.get(blockIssueId(b.provider, host));
    if (iv) blockRefs.push({ id: iv.id, domId: iv.domId, label: b.provider, ...(iv.ack ? { ack: iv.ack } : {}) });
  }

  const listingsNote: Cell =
    rec === undefined
      ? { text: 'no data', state: 'unknown', title: 'not checked yet' }
      : rec.dnsbl.length === 0
        ? { text: '—', state: 'none', title: 'no DNSBL zones configured (rbls)' }
        : { text: 'unlisted', state: 'none' };
  const blocksNote = blocksCell(hostConfig, blocksRec, blockRefs.length > 0);

  const iso = rec?.checkedAt ?? null;
  const stale = severity.reasons.some((r) => r.text.startsWith('data is stale'));
  const checked = {
    iso,
    text: iso ? ageText(now, iso) : 'never',
    state: (iso === null || stale ? 'unknown' : 'none') as Cell['state'],
    stale,
  };

  const sndsSort = sndsValue?.blocked?.blocked ? 4 : sndsValue?.data ? { green: 1, yellow: 2, red: 3 }[sndsValue.data.color] : 0;
  return {
    host,
    fqdn,
    ip,
    severity,
    ...(hostRec?.resolve.status === 'error' ? { resolveError: hostRec.resolve.reason ?? 'resolution failed' } : {}),
    dns: { parts, cell: dnsCell },
    score,
    snds,
    traps,
    http,
    blocks: blockRefs,
    blocksNote,
    listings,
    listingsNote,
    cannotTell,
    checked,
    sort: {
      severity: sevRank[severity.level],
      host: host.toLowerCase(),
      ip: ip ?? '~',
      dns: dnsCell.state === 'bad' ? 2 : dnsCell.state === 'unknown' ? 1 : 0,
      score: rec?.senderscore.value?.score ?? -1,
      snds: sndsSort,
      traps: sndsValue?.data?.traps ?? -1,
      http: http?.text ?? '',
      blocks: blockRefs.length,
      listings: listings.length * 100 + cannotTell.length,
      checked: iso ? Date.parse(iso) : 0,
    },
  };
}

/** Plain code-point order: localeCompare is far slower and the values are host names and IPs. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compare two rows by a key, then by host and IP so the order is stable. */
export function compareRows(a: OverviewRow, b: OverviewRow, key: SortKey, dir: SortDir): number {
  const x = a.sort[key];
  const y = b.sort[key];
  let c = typeof x === 'number' && typeof y === 'number' ? x - y : cmp(String(x), String(y));
  if (dir === 'desc') c = -c;
  return c || cmp(String(a.sort.host), String(b.sort.host)) || cmp(String(a.ip), String(b.ip));
}

export function parseSort(sort: string | undefined, dir: string | undefined): { sort: SortKey; dir: SortDir } {
  const key = (sortKeys as readonly string[]).includes(sort ?? '') ? (sort as SortKey) : 'severity';
  const d: SortDir = dir === 'asc' || dir === 'desc' ? dir : key === 'severity' ? 'desc' : 'asc';
  return { sort: key, dir: d };
}

export function buildOverview(config: Config, snap: Snapshot, now: Date, sortBy: { sort: SortKey; dir: SortDir }): OverviewModel {
  const ipRecords = [...snap.ips.values()];
  const blockRecords = [...snap.blocks.values()];
  const issues = buildIssueViews(config, ipRecords, blockRecords, snap.acks);
  const issueByKey = new Map(issues.map((i) => [i.id, i]));
  const rows: OverviewRow[] = [];
  for (const h of config.hosts) {
    const ips = hostIps(config, h.name, snap.hosts.get(h.name));
    const blocksRec = snap.blocks.get(h.name);
    if (ips.length === 0) rows.push(buildRow(config, now, h, null, snap, blocksRec, issueByKey));
    for (const ip of ips) rows.push(buildRow(config, now, h, ip, snap, blocksRec, issueByKey));
  }
  rows.sort((a, b) => compareRows(a, b, sortBy.sort, sortBy.dir));

  const bySeverity = { error: 0, warning: 0, unknown: 0, ok: 0 };
  for (const r of rows) bySeverity[r.severity.level]++;
  const summary: Summary = {
    hosts: config.hosts.length,
    ips: rows.filter((r) => r.ip !== null).length,
    listed: rows.filter((r) => r.listings.length > 0).length,
    blocked: new Set(issues.filter((i) => i.kind === 'block').map((i) => i.host)).size,
    acknowledged: issues.filter((i) => i.ack).length,
    issues: issues.length,
    errors: rows.filter((r) => r.severity.reasons.some((x) => x.level === 'unknown')).length,
    bySeverity,
    lastRun: snap.lastRun ? { ...snap.lastRun, age: ageText(now, snap.lastRun.finishedAt) } : null,
  };
  const anyData = snap.lastRun !== null || [...snap.hosts.values()].some((h) => h !== undefined) || snap.ips.size > 0;
  return {
    firstTime: config.hosts.length === 0 || !anyData,
    rows,
    issues,
    summary,
    showHttp: config.httpReputation !== undefined,
    httpName: config.httpReputation?.name ?? 'HTTP reputation',
    sort: sortBy.sort,
    dir: sortBy.dir,
    problems: snap.problems,
  };
}
