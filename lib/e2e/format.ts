/**
 * The output formats of `mtarep e2e`, pure: JSON (the original email-end2end-test's fields), an
 * Influx line (its measurement, tags and fields) and a Nagios plugin line with perfdata.
 *
 * Units are the original's, read from its source: timestamps are ISO 8601 (Python's `isoformat()`,
 * here with microseconds and the local UTC offset), durations are integer microseconds. The original
 * took `timedelta.microseconds`, which drops whole seconds (a 2.5 s run read 500000); here the
 * durations are the whole delta in microseconds. `imap_duration` is end - start_time_imap, as its
 * README defines it.
 */
import { formatLine } from '../influx.js';
import { durations, type E2eRun, type E2eTarget } from './result.js';

/** The original's JSON plus `folder`, `junk`, `error`, `error_stage` (null when not applicable). */
export interface E2eJson {
  success: boolean;
  hash: string;
  start: string;
  start_time_smtp: string | null;
  start_time_imap: string | null;
  start_time_imap_search: string | null;
  tries: number;
  end: string;
  total_duration: number;
  smtp_duration: number;
  imap_duration: number;
  folder: string | null;
  junk: boolean;
  error: string | null;
  error_stage: string | null;
}

const pad = (n: number, w = 2) => String(Math.trunc(Math.abs(n))).padStart(w, '0');

/** `2024-05-01T14:00:00.123000+02:00`: local time, microseconds, offset (what Python's isoformat gives an aware datetime). */
export function isoLocal(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `.${pad(d.getMilliseconds(), 3)}000${sign}${pad(off / 60)}:${pad(off % 60)}`
  );
}

const micros = (ms: number) => Math.round(ms * 1000);
const iso = (ms: number | null) => (ms === null ? null : isoLocal(ms));

export function toJson(r: E2eRun): E2eJson {
  const d = durations(r);
  return {
    success: r.success,
    hash: r.hash,
    start: isoLocal(r.start),
    start_time_smtp: iso(r.startSmtp),
    start_time_imap: iso(r.startImap),
    start_time_imap_search: iso(r.startImapSearch),
    tries: r.tries,
    end: isoLocal(r.end),
    total_duration: micros(d.totalMs),
    smtp_duration: micros(d.smtpMs),
    imap_duration: micros(d.imapMs),
    folder: r.folder,
    junk: r.junk,
    error: r.error,
    error_stage: r.errorStage,
  };
}

export function formatJson(r: E2eRun): string {
  return JSON.stringify(toJson(r));
}

const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/**
 * The original's line: `mail-e2e,email-from=..,email-to=..,smtp=host:port,imap=host:port
 * success=1,total_dur=..,smtp_dur=..,imap_dur=..` (numbers as floats, as the original wrote them, so
 * existing series keep their field types), plus `junk` and, on failure, `error_stage` as a string.
 */
export function formatInflux(r: E2eRun, t: E2eTarget): string {
  const d = durations(r);
  return formatLine({
    measurement: 'mail-e2e',
    tags: {
      'email-from': t.emailFrom,
      'email-to': t.emailTo,
      smtp: hostPort(t.smtpHost, t.smtpPort),
      imap: hostPort(t.imapHost, t.imapPort),
    },
    fields: {
      success: r.success ? 1 : 0,
      total_dur: micros(d.totalMs),
      smtp_dur: micros(d.smtpMs),
      imap_dur: micros(d.imapMs),
      junk: r.junk ? 1 : 0,
      tries: r.tries,
      error_stage: r.errorStage ?? undefined,
    },
  });
}

/** Nagios plugin states and their exit codes. */
export const nagiosCodes = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 } as const;
export type NagiosState = keyof typeof nagiosCodes;

export interface NagiosThresholds {
  /** Total seconds above which the state is WARNING / CRITICAL. */
  warningS?: number | undefined;
  criticalS?: number | undefined;
}

/**
 * The state of a run: OK found in the inbox; WARNING found in Junk, or slower than --warning;
 * CRITICAL failed at any stage (including not found in time and the hard timeout), or slower than
 * --critical.
 */
export function nagiosState(r: E2eRun, th: NagiosThresholds = {}): NagiosState {
  if (!r.success) return 'CRITICAL';
  const total = durations(r).totalMs / 1000;
  if (th.criticalS !== undefined && total > th.criticalS) return 'CRITICAL';
  if (r.junk) return 'WARNING';
  if (th.warningS !== undefined && total > th.warningS) return 'WARNING';
  return 'OK';
}

const secs = (ms: number) => (ms / 1000).toFixed(3);
/** Plugin output text may not hold `|` (it starts the perfdata) or a line break. */
const text = (s: string) => s.replace(/\|/g, '/').replace(/[\r\n]+/g, ' ');

/** One line `MAIL-E2E <STATE> - <what> | perfdata`, and the exit code. */
export function formatNagios(r: E2eRun, th: NagiosThresholds = {}): { line: string; code: number } {
  const state = nagiosState(r, th);
  const d = durations(r);
  let what: string;
  if (!r.success) {
    what = `${r.errorStage ?? 'failed'}: ${r.error ?? 'unknown error'}`;
  } else {
    what = `mail ${r.hash.slice(0, 8)} found in ${r.folder ?? '?'}${r.junk ? ' (Junk)' : ''} after ${secs(d.totalMs)} s (SMTP ${secs(d.smtpMs)} s, ${r.tries} ${r.tries === 1 ? 'search' : 'searches'})`;
    if (state !== 'OK' && !r.junk) what += `, over the ${state === 'CRITICAL' ? 'critical' : 'warning'} threshold`;
  }
  const th2 = (v: number | undefined) => (v === undefined ? '' : String(v));
  const perf = [
    `total=${secs(d.totalMs)}s;${th2(th.warningS)};${th2(th.criticalS)};0;`,
    `smtp=${secs(d.smtpMs)}s;;;0;`,
    `imap=${secs(d.imapMs)}s;;;0;`,
    `tries=${r.tries};;;0;`,
    `success=${r.success ? 1 : 0};;;0;1`,
  ].join(' ');
  return { line: `MAIL-E2E ${state} - ${text(what)} | ${perf}`, code: nagiosCodes[state] };
}

/** A run that could not be attempted (bad options): UNKNOWN, exit 3. */
export function nagiosUnknown(message: string): { line: string; code: number } {
  return { line: `MAIL-E2E UNKNOWN - ${text(message)}`, code: nagiosCodes.UNKNOWN };
}
