/**
 * The overview's view model: one row per MTA IP (a host with no IP gets one row showing why), every
 * cell as display text + state + sort value, the summary line and the issue modals. Pure: snapshot,
 * config and clock in; plain data out. The severity comes from lib/severity.ts only; each check's
 * cells come from its plugin's columns (lib/checks/).
 */
import type { Config, HostConfig } from '../../lib/config/normalize.js';
import { blockIssueId, rblIssueId } from '../../lib/issues.js';
import { dnsblZones } from '../../lib/checks/dnsbl.js';
import { checkPlugins, resultOf, type AnyPlugin } from '../../lib/checks/index.js';
import type { Cell, Column } from '../../lib/checks/types.js';
import type { BlocksRecord, IpRecord } from '../../lib/model.js';
import { severityRules, type Severity } from '../../lib/severity.js';
import type { Snapshot } from '../data.js';
import { hostIps } from '../data.js';
import { ageText, shortTime } from '../../views/format.js';
import type { IssueView } from '../../views/issue.js';
import type { ColumnHead, IssueRef, OverviewModel, OverviewRow, SortDir, SortKey, Summary } from '../../views/overview-model.js';
import { buildIssueViews } from './issues.js';
import { maillogNotReadReason } from './maillog-off.js';
import { blocksFor, rowSeverityOf } from './severity.js';

export type { Cell, ColumnHead, IssueRef, OverviewModel, OverviewRow, SortDir, SortKey, Summary };

/** Sort keys besides the check plugins' columns. */
export const fixedSortKeys = ['severity', 'host', 'ip', 'blocks', 'listings', 'checked'] as const;

/** The table's columns between IP and Checked: the plugins' columns and the two issue columns. */
export function overviewColumns(config: Config, plugins: readonly AnyPlugin[]): { heads: ColumnHead[]; cols: Column<unknown>[]; owner: AnyPlugin[] } {
  const cols: Column<unknown>[] = [];
  const owner: AnyPlugin[] = [];
  for (const p of plugins) for (const c of p.columns(config)) (cols.push(c), owner.push(p));
  const heads: ColumnHead[] = [
    ...cols.map((c) => ({ key: c.key, header: c.header, order: c.order, plugin: true, ...(c.numeric ? { numeric: true } : {}) })),
    { key: 'blocks', header: 'Provider blocks', order: 60, plugin: false },
    { key: 'listings', header: 'DNSBL listings', order: 70, plugin: false },
  ];
  heads.sort((a, b) => a.order - b.order);
  return { heads, cols, owner };
}





/**
 * The blocks cell's text: "no blocks" only after a good maillog read; a failed read says so (beside
 * the blocks of the last good read, if any); a host whose maillog is not read says that.
 */
function blocksCell(config: Config, hostConfig: HostConfig, rec: BlocksRecord | undefined, hasBlocks: boolean): Cell | null {
  if (rec?.status === 'error') return { text: hasBlocks ? '?' : 'error', state: 'unknown', title: `maillog read failed: ${rec.reason ?? 'error'}` };
  if (hasBlocks) return null;
  if (rec?.status === 'ok') return { text: 'no blocks', state: 'none' };
  if (rec?.status === 'skipped') return { text: '—', state: 'none', title: rec.reason ?? 'maillog not read' };
  const notRead = maillogNotReadReason(config, hostConfig);
  return notRead === null
    ? { text: 'no data', state: 'unknown', title: 'no maillog read stored yet' }
    : { text: '—', state: 'none', title: `maillog not read (${notRead})` };
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
  table: ReturnType<typeof overviewColumns>,
  plugins: readonly AnyPlugin[],
): OverviewRow {
  const rules = severityRules(config);
  const host = hostConfig.name;
  const hostRec = snap.hosts.get(host);
  const rec: IpRecord | undefined = ip === null ? undefined : snap.ips.get(ip);
  const fqdn = hostConfig.fqdn;
  const blocks = blocksFor(blocksRec, ip);
  const severity = rowSeverityOf(snap, host, ip, now, rules, plugins);

  const ctx = { rules };
  const cells: Record<string, Cell> = {};
  const sortCells: Record<string, string | number> = {};
  table.cols.forEach((col, i) => {
    const r = resultOf(rec, table.owner[i]!);
    const cell = col.cell(r, ctx);
    cells[col.key] = cell;
    sortCells[col.key] = col.sort(r, cell);
  });

  const listings: IssueRef[] = [];
  const cannotTell: string[] = [];
  for (const d of dnsblZones(rec)) {
    if (d.state === 'listed' && d.kind !== 'allow') {
      const iv = (ip === null ? undefined : issueByKey.get(rblIssueId(d.zone, ip)));
      if (iv) listings.push({ id: iv.id, domId: iv.domId, label: d.zone, ...(iv.ack ? { ack: iv.ack } : {}), ...(d.critical ? {} : { minor: true }) });
    } else if (d.state === 'error' || d.state === 'unknown' || d.unhealthy !== undefined) {
      cannotTell.push(`${d.zone}: ${d.unhealthy ?? d.reason ?? d.state}${d.stale?.state === 'listed' ? ` (last known: listed at ${shortTime(d.stale.at)})` : ''}`);
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
      : rec.dnsbl?.status === 'error'
        ? { text: 'error', state: 'unknown', title: rec.dnsbl.reason ?? 'error' }
        : dnsblZones(rec).length === 0
        ? { text: '—', state: 'none', title: 'no DNSBL zones configured (rbls)' }
        : { text: 'unlisted', state: 'none' };
  const blocksNote = blocksCell(config, hostConfig, blocksRec, blockRefs.length > 0);

  const iso = rec?.checkedAt ?? null;
  const stale = severity.stale === true;
  const checked = {
    iso,
    text: iso ? ageText(now, iso) : 'never',
    state: (iso === null || stale ? 'unknown' : 'none') as Cell['state'],
    stale,
  };

  return {
    host,
    fqdn,
    ip,
    severity,
    ...(hostRec?.resolve.status === 'error' ? { resolveError: hostRec.resolve.reason ?? 'resolution failed' } : {}),
    cells,
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
      ...sortCells,
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

/** The sort keys of a table: the fixed columns' and the plugins' columns'. */
export function sortKeysOf(config: Config, plugins: readonly AnyPlugin[] = checkPlugins): string[] {
  return [...fixedSortKeys, ...plugins.flatMap((p) => p.columns(config).map((c) => c.key))];
}

export function parseSort(sort: string | undefined, dir: string | undefined, keys: readonly string[]): { sort: SortKey; dir: SortDir } {
  const key = keys.includes(sort ?? '') ? (sort as SortKey) : 'severity';
  const d: SortDir = dir === 'asc' || dir === 'desc' ? dir : key === 'severity' ? 'desc' : 'asc';
  return { sort: key, dir: d };
}

export function buildOverview(config: Config, snap: Snapshot, now: Date, sortBy: { sort: SortKey; dir: SortDir }, plugins: readonly AnyPlugin[] = checkPlugins): OverviewModel {
  const table = overviewColumns(config, plugins);
  const ipRecords = [...snap.ips.values()];
  const blockRecords = [...snap.blocks.values()];
  const issues = buildIssueViews(config, ipRecords, blockRecords, snap.acks);
  const issueByKey = new Map(issues.map((i) => [i.id, i]));
  const rows: OverviewRow[] = [];
  for (const h of config.hosts) {
    const ips = hostIps(config, h.name, snap.hosts.get(h.name));
    const blocksRec = snap.blocks.get(h.name);
    if (ips.length === 0) rows.push(buildRow(config, now, h, null, snap, blocksRec, issueByKey, table, plugins));
    for (const ip of ips) rows.push(buildRow(config, now, h, ip, snap, blocksRec, issueByKey, table, plugins));
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
    columns: table.heads,
    sort: sortBy.sort,
    dir: sortBy.dir,
    problems: snap.problems,
  };
}
