/**
 * Judgement of probes and domains: pure functions of records, a clock and the limits (mxtrax's
 * rules, plus the states its peers learned to tell apart). No I/O: the round, the API and the
 * dashboard all call these.
 */
import type { DayStat, DomainSummary, ProbeRecord, ProbeState, StateCounts } from './model.js';
import { probeStates } from './model.js';
import type { ProbesConfig } from '../config/probes.js';

/** The judgement limits: these keys of the `probes:` config (limitsOf takes them out of it). */
export type Limits = Pick<ProbesConfig, 'maxReturnS' | 'maxSecUntilFail' | 'maxFailNumber' | 'maxFailPercentage' | 'maxLateNumber' | 'maxLatePercentage' | 'window'>;

/** The judgement limits of a `probes:` config (the round, the API and the dashboard use the same). */
export function limitsOf(p: ProbesConfig): Limits {
  return {
    maxReturnS: p.maxReturnS,
    maxSecUntilFail: p.maxSecUntilFail,
    maxFailNumber: p.maxFailNumber,
    maxFailPercentage: p.maxFailPercentage,
    maxLateNumber: p.maxLateNumber,
    maxLatePercentage: p.maxLatePercentage,
    window: p.window,
  };
}

/** Round-trip seconds of a returned probe. */
export function rttS(p: ProbeRecord): number | undefined {
  if (p.returnedAt === undefined) return undefined;
  return Math.max(0, (p.returnedAt - p.sentAt) / 1000);
}

/**
 * The one state of a probe at `now`. `lastGoodRead` is when the mailbox was last read completely: a
 * probe is only "not back" as of that read, so an unreadable mailbox turns nothing overdue or lost.
 */
export function probeState(p: ProbeRecord, now: number, lastGoodRead: number | undefined, l: Limits): ProbeState {
  if (p.sendError) return 'send_failed';
  if (p.bounce) return 'bounced';
  const rtt = rttS(p);
  if (rtt !== undefined) {
    if (rtt > l.maxSecUntilFail) return 'lost';
    if (p.junk) return 'spam';
    return rtt > l.maxReturnS ? 'late' : 'on_time';
  }
  // Written before submission but no SMTP answer recorded: the round stopped while sending.
  if (p.submittedAt === undefined && now - p.sentAt > l.maxReturnS * 1000) return 'send_failed';
  const known = Math.min(now, lastGoodRead ?? -Infinity);
  const age = known - p.sentAt;
  if (age > l.maxSecUntilFail * 1000) return 'lost';
  if (age > l.maxReturnS * 1000) return 'overdue';
  return 'pending';
}

/** Why a probe is in its state, in a few words (the API's `reason`). */
export function stateReason(p: ProbeRecord, state: ProbeState): string | undefined {
  switch (state) {
    case 'send_failed':
      return p.sendError ? `${p.sendError.stage}: ${p.sendError.response ?? p.sendError.message}` : 'no SMTP answer recorded: the round stopped while sending';
    case 'bounced': {
      const text = [p.bounce?.status, p.bounce?.diagnostic].filter(Boolean).join(' ');
      // An ESP's webhook event: which provider said what ("sendgrid bounce: 5.1.1 user unknown").
      if (p.bounce?.esp) return `${p.bounce.esp.provider} ${p.bounce.esp.event}${text ? ': ' + text : ''}`;
      return text || 'delivery-status notification';
    }
    case 'spam':
      return `returned into ${p.folder ?? 'Junk'}`;
    default:
      return undefined;
  }
}

export function emptyCounts(): StateCounts {
  return Object.fromEntries(probeStates.map((s) => [s, 0])) as StateCounts;
}

const failedStates: readonly ProbeState[] = ['overdue', 'lost', 'bounced', 'spam', 'send_failed'];

/**
 * A domain over the window: counts per state, and failing when any of mxtrax's four limits is
 * passed (more than the number, or more than the percentage of judged probes). Maintenance domains
 * are never failing.
 */
export function judgeDomain(
  domain: string,
  probes: readonly ProbeRecord[],
  now: number,
  lastGoodRead: number | undefined,
  l: Limits,
  maintenance: boolean,
): DomainSummary {
  const counts = emptyCounts();
  const from = now - l.window * 1000;
  let newest: ProbeRecord | undefined;
  let newestBack: { sentAt: number; rttS: number; state: 'on_time' | 'late' } | undefined;
  let rttSum = 0;
  let rttN = 0;
  for (const p of probes) {
    if (p.sentAt < from || p.sentAt > now) continue;
    const s = probeState(p, now, lastGoodRead, l);
    counts[s]++;
    if (s === 'on_time' || s === 'late') {
      const r = rttS(p)!;
      rttSum += r;
      rttN++;
      if (!newestBack || p.sentAt > newestBack.sentAt) newestBack = { sentAt: p.sentAt, rttS: r, state: s };
    }
    if (!newest || p.sentAt > newest.sentAt) newest = p;
  }
  const judged = probeStates.reduce((n, s) => n + (s === 'pending' ? 0 : counts[s]), 0);
  const failed = failedStates.reduce((n, s) => n + counts[s], 0);
  const late = counts.late;
  const pct = (n: number) => (judged === 0 ? 0 : (n / judged) * 100);
  const reasons: string[] = [];
  if (failed > l.maxFailNumber) reasons.push(`${failed} not returned > max_fail_number ${l.maxFailNumber}`);
  if (pct(failed) > l.maxFailPercentage) reasons.push(`${pct(failed).toFixed(1)}% not returned > max_fail_percentage ${l.maxFailPercentage}`);
  if (late > l.maxLateNumber) reasons.push(`${late} late > max_late_number ${l.maxLateNumber}`);
  if (pct(late) > l.maxLatePercentage) reasons.push(`${pct(late).toFixed(1)}% late > max_late_percentage ${l.maxLatePercentage}`);
  const out: DomainSummary = {
    domain,
    counts,
    judged,
    onTimePct: judged === 0 ? null : (counts.on_time / judged) * 100,
    failed,
    avgRttS: rttN === 0 ? null : rttSum / rttN,
    failing: !maintenance && reasons.length > 0,
    reasons: maintenance ? [] : reasons,
    judgedAt: now,
    ...(newestBack ? { lastBack: newestBack } : {}),
  };
  if (newest) {
    const s = probeState(newest, now, lastGoodRead, l);
    const r = rttS(newest);
    out.last = {
      token: newest.token,
      state: s,
      sentAt: newest.sentAt,
      ...(newest.returnedAt !== undefined ? { returnedAt: newest.returnedAt } : {}),
      ...(r !== undefined ? { rttS: r } : {}),
    };
  }
  return out;
}

/** `YYYY-MM-DD` (UTC) of an epoch-ms time. */
export function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * mxtrax Stat for each day (UTC, by send time) of a domain's probes: recomputed from the records each
 * time, so a probe is counted exactly once however often rounds run. failed = lost + bounced + spam +
 * send_failed; delivery times over the probes that came back (on time, late, spam); all_done once the
 * day is past and every probe of it is settled.
 */
export function dayStats(probes: readonly ProbeRecord[], now: number, lastGoodRead: number | undefined, l: Limits): DayStat[] {
  const byDay = new Map<string, { s: DayStat; sum: number; n: number }>();
  const today = utcDate(now);
  for (const p of probes) {
    const date = utcDate(p.sentAt);
    let d = byDay.get(date);
    if (!d) {
      d = { s: { date, on_time: 0, late: 0, failed: 0, total: 0, min_s: null, max_s: null, avg_s: null, all_done: false }, sum: 0, n: 0 };
      byDay.set(date, d);
    }
    d.s.total++;
    const st = probeState(p, now, lastGoodRead, l);
    if (st === 'on_time') d.s.on_time++;
    else if (st === 'late') d.s.late++;
    else if (st === 'lost' || st === 'bounced' || st === 'spam' || st === 'send_failed') d.s.failed++;
    const r = st === 'on_time' || st === 'late' || st === 'spam' ? rttS(p) : undefined;
    if (r !== undefined) {
      d.s.min_s = d.s.min_s === null ? r : Math.min(d.s.min_s, r);
      d.s.max_s = d.s.max_s === null ? r : Math.max(d.s.max_s, r);
      d.sum += r;
      d.n++;
    }
  }
  return [...byDay.values()]
    .map(({ s, sum, n }) => ({ ...s, avg_s: n === 0 ? null : sum / n, all_done: s.date < today && s.on_time + s.late + s.failed === s.total }))
    .sort((a, b) => a.date.localeCompare(b.date));
}
