/** Helpers most plugins share: the value to judge, stale carrying, default counting, generic cells. */
import type { CheckResult } from '../model.js';
import type { SeverityReason } from '../severity.js';
import { shortTime } from '../time-text.js';
import type { Cell, DetailRow, TallySink } from './types.js';

/** The value a check holds for judging: the fresh one, or the last good one when it failed. */
export function valueOf<T>(r: CheckResult<T> | undefined): T | undefined {
  if (r === undefined) return undefined;
  if (r.status === 'ok') return r.value;
  return r.stale?.value;
}

/** The fresh value only (history points, sort keys). */
export function freshValue<T>(r: CheckResult<T> | undefined): T | undefined {
  return r?.status === 'ok' ? r.value : undefined;
}

/** A failed check is "cannot tell", named. */
export function failedReason(label: string, r: CheckResult<unknown>): SeverityReason[] {
  return r.status === 'error' ? [{ level: 'unknown', text: `${label}: ${r.reason ?? 'error'}` }] : [];
}

/** An 'error' result gets the previous good value (or the previous stale one) beside it. */
export function carryStale<T>(next: CheckResult<T>, prev: CheckResult<T> | undefined): CheckResult<T> {
  if (next.status !== 'error' || prev === undefined) return next;
  const last = prev.status === 'ok' && prev.value !== undefined ? { value: prev.value, at: prev.at } : prev.stale;
  return last ? { ...next, stale: last } : next;
}

/** One count per IP; a failure grouped under the check's name and reason. */
export function defaultTally(name: string, r: CheckResult<unknown>, sink: TallySink): void {
  sink.bump(r.status);
  if (r.status === 'error') sink.error(name, r.reason ?? 'error');
}

/** The usual cell: the value shown by `show`, "—" when skipped, the stale value marked when failed. */
export function checkCell<T>(r: CheckResult<T> | undefined, show: (v: T) => Cell): Cell {
  if (r === undefined) return { text: 'no data', state: 'unknown' };
  if (r.status === 'skipped') return { text: '—', state: 'none', title: r.reason ?? 'not configured' };
  if (r.status === 'ok' && r.value !== undefined) return show(r.value);
  if (r.stale) {
    const c = show(r.stale.value);
    return { ...c, stale: true, state: 'unknown', title: `last good value from ${shortTime(r.stale.at)}; now: ${r.reason ?? 'error'}` };
  }
  return { text: 'error', state: 'unknown', title: r.reason ?? 'error' };
}

/** The host page's line for a single-value result. */
export function detailRow<T>(name: string, r: CheckResult<T> | undefined, show: (v: T) => string): DetailRow {
  if (r?.status === 'ok' && r.value !== undefined) return { name, text: show(r.value), state: 'none', at: r.at };
  if (r?.status === 'skipped') return { name, text: `skipped: ${r.reason ?? ''}`, state: 'none', at: r.at };
  if (r?.status === 'error') {
    return { name, text: `error: ${r.reason ?? ''}${r.stale ? ` (last good ${show(r.stale.value)} at ${shortTime(r.stale.at)})` : ''}`, state: 'unknown', at: r.at };
  }
  return { name, text: 'no data yet', state: 'unknown' };
}

/** The original API's string for a result: "no data" when absent or skipped, "error" when failed. */
export function apiString<T>(r: CheckResult<T> | undefined, show: (v: T) => string): string {
  if (r === undefined || r.status === 'skipped') return 'no data';
  if (r.status === 'error' || r.value === undefined) return 'error';
  return show(r.value);
}

/**
 * A value built at its first use, then kept: plugins' value schemas (read by the record store), which
 * `mtarep check-config` loads the plugin list without needing (zod schemas cost start time to build).
 */
export function once<T>(build: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= build());
}

/** 1 when a check has no usable fresh result (error, or never run), for the series' `*_error`. */
export const seriesError = (r: CheckResult<unknown> | undefined): number => (r === undefined || r.status === 'error' ? 1 : 0);
export const bit = (b: boolean): number => (b ? 1 : 0);
/** An Influx integer field. */
export const int = (n: number): { int: number } => ({ int: n });
