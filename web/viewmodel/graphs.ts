/**
 * View models for charts: the day's delivery counters per graph domain, and an IP's history. Pure.
 * Chart data travels to the browser in a data- attribute (escaped), never as inline script.
 */
import { counterTypes, type CounterType } from '../../lib/keys.js';
import type { HistoryPoint } from '../../lib/model.js';
import type { DayCounters } from '../counters.js';
import type { CountersModel } from '../../views/graphs.js';
import type { HistoryModel } from '../../views/host.js';

export type { CountersModel, HistoryModel };


/** Parse `?day=YYYY-MM-DD` (or YYYYMMDD); null when absent or not a real date. */
export function parseDay(s: string | undefined): string | null {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(s ?? '');
  if (!m) return null;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  if (d.getUTCDate() !== Number(m[3]) || d.getUTCMonth() !== Number(m[2]) - 1) return null;
  return `${m[1]}${m[2]}${m[3]}`;
}

function dashed(yyyymmdd: string): string {
  return `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
}

function shift(yyyymmdd: string, days: number): string {
  const d = new Date(Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8)) + days));
  return d.toISOString().slice(0, 10);
}

export function countersModel(day: string, domains: readonly string[], c: DayCounters): CountersModel {
  const series = counterTypes.map((t) => ({ name: t, data: domains.map((d) => c[t][d] ?? 0) }));
  return {
    day: dashed(day),
    prev: shift(day, -1),
    next: shift(day, 1),
    domains: [...domains],
    series,
    total: series.reduce((a, s) => a + s.data.reduce((x, y) => x + y, 0), 0),
  };
}


export function historyModel(ip: string, pts: readonly HistoryPoint[]): HistoryModel {
  const sorted = [...pts].sort((a, b) => a.t - b.t);
  return {
    ip,
    points: sorted.length,
    score: sorted.map((p) => [p.t, p.score]),
    listings: sorted.map((p) => [p.t, p.listings]),
    traps: sorted.map((p) => [p.t, p.traps]),
  };
}
