/**
 * View models of the Delivery page (one row per probe domain) and the per-domain page (recent probes,
 * daily chart, maintenance). Pure: domains, the round's summaries, probe records and daily stats in;
 * the views' props (views/delivery-model.ts) out. Probe states come from lib/probes/judge.ts, as in
 * the round and the API.
 */
import type { ProbeDomain } from '../../lib/probes/domains.js';
import { emptyCounts, probeState, rttS, stateReason, type Limits } from '../../lib/probes/judge.js';
import type { DayStat, DomainSummary, ProbeRecord, ProbeRoundState } from '../../lib/probes/model.js';
import {
  deliverySortKeys,
  stateText,
  type ChartDay,
  type DeliveryLevel,
  type DeliveryPageModel,
  type DeliveryRow,
  type DeliverySortKey,
  type DomainPageModel,
  type ProbeRow,
  type SortDir,
} from '../../views/delivery-model.js';
import { ageText, durationText, secText, shortTime } from '../../views/format.js';

export type { DeliveryPageModel, DomainPageModel } from '../../views/delivery-model.js';

const levelRank: Record<DeliveryLevel, number> = { error: 4, warning: 3, unknown: 2, ok: 1, maint: 0 };

const iso = (ms: number) => new Date(ms).toISOString();
/**
 * The last-probe cells: its state, and its round trip; while it is out (or never came back) the
 * round trip of the newest probe that did come back, marked as that one's.
 */
function lastCell(last: NonNullable<DomainSummary['last']>, back: DomainSummary['lastBack']): NonNullable<DeliveryRow['last']> {
  const cell = { state: last.state, text: stateText[last.state], sent: shortTime(iso(last.sentAt)), rtt: secText(last.rttS) };
  if (last.rttS !== undefined || !back) return cell;
  return { ...cell, rtt: secText(back.rttS), rttNote: `the newest probe that came back (${back.state === 'late' ? 'late' : 'on time'}), sent ${shortTime(iso(back.sentAt))}` };
}

/** ?sort=&dir= of the Delivery page: unknown keys fall back to failing-first. */
export function parseDeliverySort(sort: string | undefined, dir: string | undefined): { sort: DeliverySortKey; dir: SortDir } {
  const key = (deliverySortKeys as readonly string[]).includes(sort ?? '') ? (sort as DeliverySortKey) : 'status';
  const d: SortDir = dir === 'asc' || dir === 'desc' ? dir : key === 'status' ? 'desc' : 'asc';
  return { sort: key, dir: d };
}

function maintenanceNote(d: ProbeDomain): string {
  if (!d.maintenanceAt) return '';
  return `${d.maintenance ? 'on' : 'off'} since ${shortTime(d.maintenanceAt)} by ${d.maintenanceBy ?? 'unknown'}`;
}

/** One domain's row: figures over the window as the last round judged them, maintenance as it is now. */
export function deliveryRow(d: ProbeDomain, s: DomainSummary | undefined): DeliveryRow {
  const c = s?.counts ?? emptyCounts();
  const failing = !d.maintenance && (s?.failing ?? false);
  const judged = s?.judged ?? 0;
  const level: DeliveryLevel = d.maintenance
    ? 'maint'
    : failing
      ? 'error'
      : judged === 0
        ? 'unknown'
        : c.late + c.overdue + c.lost + c.bounced + c.spam + c.send_failed > 0
          ? 'warning'
          : 'ok';
  const last = s?.last;
  const pct = s?.onTimePct ?? null;
  return {
    domain: d.domain,
    address: d.address,
    customer: d.customer,
    customerName: d.customerName,
    level,
    failing,
    reasons: failing ? (s?.reasons ?? []) : [],
    maintenance: d.maintenance,
    maintenanceNote: maintenanceNote(d),
    last: last ? lastCell(last, s?.lastBack) : null,
    counts: {
      pending: c.pending,
      on_time: c.on_time,
      late: c.late,
      overdue: c.overdue,
      lost: c.lost,
      bounced: c.bounced,
      spam: c.spam,
      send_failed: c.send_failed,
    },
    judged,
    onTimePct: pct === null ? '—' : `${pct.toFixed(pct === 100 || pct === 0 ? 0 : 1)} %`,
    avgRtt: secText(s?.avgRttS),
    sort: {
      status: levelRank[level],
      customer: d.customer.toLowerCase(),
      domain: d.domain,
      address: d.address.toLowerCase(),
      maintenance: d.maintenance ? 1 : 0,
      state: last ? last.state : '~',
      rtt: last?.rttS ?? s?.lastBack?.rttS ?? -1,
      on_time: c.on_time,
      late: c.late,
      overdue: c.overdue,
      lost: c.lost,
      bounced: c.bounced,
      spam: c.spam,
      send_failed: c.send_failed,
      pct: pct ?? -1,
    },
  };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** By a key, then customer and domain (stable, as app.js sorts in the browser). */
export function compareDeliveryRows(a: DeliveryRow, b: DeliveryRow, key: DeliverySortKey, dir: SortDir): number {
  const x = a.sort[key];
  const y = b.sort[key];
  let c = typeof x === 'number' && typeof y === 'number' ? x - y : cmp(String(x), String(y));
  if (dir === 'desc') c = -c;
  return c || cmp(String(a.sort.customer), String(b.sort.customer)) || cmp(a.domain, b.domain);
}

/** The Delivery page: one pass over the domains. */
export function buildDeliveryPage(
  domains: readonly ProbeDomain[],
  summaries: ReadonlyMap<string, DomainSummary>,
  state: ProbeRoundState,
  o: { configured: boolean; window: number; now: Date; sort: { sort: DeliverySortKey; dir: SortDir }; version: string },
): DeliveryPageModel {
  const rows: DeliveryRow[] = [];
  const summary = { domains: domains.length, failing: 0, maintenance: 0, notJudged: 0 };
  for (const d of domains) {
    const r = deliveryRow(d, summaries.get(d.domain));
    if (r.failing) summary.failing++;
    if (r.maintenance) summary.maintenance++;
    else if (r.judged === 0) summary.notJudged++;
    rows.push(r);
  }
  rows.sort((a, b) => compareDeliveryRows(a, b, o.sort.sort, o.sort.dir));
  const lr = state.lastRound;
  return {
    configured: o.configured,
    rows,
    sort: o.sort.sort,
    dir: o.sort.dir,
    summary,
    window: durationText(o.window),
    lastRound: lr
      ? {
          text: `${ageText(o.now, lr.finishedAt)} (${shortTime(lr.finishedAt)}, ${lr.status}, ${lr.sent} sent, ${lr.matched} back, ${lr.bounced} bounced)`,
          status: lr.status,
          title: lr.errors.slice(0, 5).join(' | '),
          receiveError: lr.receiveError ?? null,
        }
      : null,
    version: o.version,
  };
}

export function probeRow(p: ProbeRecord, now: number, lastGoodRead: number | undefined, l: Limits): ProbeRow {
  const state = probeState(p, now, lastGoodRead, l);
  return {
    token: p.token,
    state,
    stateText: stateText[state],
    sent: shortTime(iso(p.sentAt)),
    returned: p.returnedAt !== undefined ? shortTime(iso(p.returnedAt)) : p.bounce ? shortTime(iso(p.bounce.at)) : '',
    rtt: secText(rttS(p)),
    folder: p.folder ?? '',
    reason: stateReason(p, state) ?? '',
    provider: p.provider ?? '',
    smtp: p.smtp ?? p.sendError?.response ?? '',
  };
}

/** Every day of [from, to] (UTC dates), with the stored stat or an empty day. */
export function chartDays(stats: readonly DayStat[], from: string, to: string): ChartDay[] {
  const byDate = new Map(stats.map((s) => [s.date, s]));
  const out: ChartDay[] = [];
  for (let t = Date.parse(from + 'T00:00:00Z'); t <= Date.parse(to + 'T00:00:00Z'); t += 86_400_000) {
    const date = iso(t).slice(0, 10);
    const s = byDate.get(date);
    const r = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(v * 10) / 10);
    out.push(
      s
        ? { date, min_s: r(s.min_s), avg_s: r(s.avg_s), max_s: r(s.max_s), on_time: s.on_time, late: s.late, failed: s.failed, total: s.total, all_done: s.all_done }
        : { date, min_s: null, avg_s: null, max_s: null, on_time: 0, late: 0, failed: 0, total: 0, all_done: false },
    );
  }
  return out;
}

/** `?days=`: 7 to 400, 30 when absent or not a number. */
export function parseSpan(q: string | undefined): number {
  const n = Number(q);
  return Number.isInteger(n) && n >= 7 && n <= 400 ? n : 30;
}

/** The range of the chart: the `span` days up to today (UTC). */
export function spanRange(now: Date, span: number): { from: string; to: string } {
  const to = iso(now.getTime()).slice(0, 10);
  const from = iso(Date.parse(to + 'T00:00:00Z') - (span - 1) * 86_400_000).slice(0, 10);
  return { from, to };
}

export function buildDomainPage(
  d: ProbeDomain,
  s: DomainSummary | undefined,
  probes: readonly ProbeRecord[],
  stats: readonly DayStat[],
  state: ProbeRoundState,
  o: { limits: Limits | undefined; now: Date; span: number },
): DomainPageModel {
  const t = o.now.getTime();
  const rows = o.limits ? probes.map((p) => probeRow(p, t, state.lastGoodReadAt, o.limits!)) : [];
  const { from, to } = spanRange(o.now, o.span);
  return {
    configured: o.limits !== undefined,
    row: deliveryRow(d, s),
    window: o.limits ? durationText(o.limits.window) : '',
    maxReturn: o.limits ? durationText(o.limits.maxReturnS) : '',
    judgedAt: s ? `${ageText(o.now, iso(s.judgedAt))} (${shortTime(iso(s.judgedAt))})` : 'not judged yet',
    probes: rows,
    showProvider: rows.some((r) => r.provider !== ''),
    days: chartDays(stats, from, to),
    span: o.span,
    from,
    to,
  };
}
