/**
 * Pure parsers of Microsoft SNDS exports (../shared/notes/sources.md), kept apart from the fetch so a
 * future REST fetch can reuse them:
 * - `data.aspx`: CSV, no header, CRLF, 14 columns, one row per IP per activity period;
 * - `ipStatus.aspx`: CSV, 4 columns, one row per blocked range (first IP, last IP, blocked, reason).
 * A row that does not have that shape is reported as a problem with its line number and reason; it is
 * never guessed at and never silently dropped.
 */
import { isIP } from '../net/ip.js';
import { createRequire } from 'node:module';
import type { SndsColor, SndsData } from '../model.js';
import { ipv4ToInt } from '../net/ip.js';

/**
 * csv-parse, loaded on the first export parsed: this module is part of every config load (the check
 * plugins own their config keys), and `mtarep check-config` should not pay for a CSV parser.
 */
const requireLazy = createRequire(import.meta.url);
let csvLib: typeof import('csv-parse/sync') | undefined;
const csv = () => (csvLib ??= requireLazy('csv-parse/sync') as typeof import('csv-parse/sync'));

export class SndsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SndsFormatError';
  }
}

export interface SndsRow extends SndsData {
  ip: string;
  /** 1-based line number in the export. */
  line: number;
}

export interface RowProblem {
  line: number;
  /** The row's IP when its first column is one (the problem then concerns that IP only). */
  ip?: string;
  reason: string;
}

export interface SndsDataExport {
  rows: SndsRow[];
  problems: RowProblem[];
}

export interface BlockedRange {
  first: string;
  last: string;
  firstInt: number;
  lastInt: number;
  blocked: boolean;
  reason: string;
}

export interface SndsStatusExport {
  ranges: BlockedRange[];
  problems: RowProblem[];
}

/**
 * Throws SndsFormatError when the body is not a CSV export at all (an HTML login or error page):
 * what SNDS sends for a bad or expired key, instead of an HTTP error.
 */
export function assertNotHtml(body: string, what: string): void {
  const head = body.trimStart().slice(0, 200).toLowerCase();
  if (head.startsWith('<') || head.includes('<html') || head.includes('<!doctype')) {
    const title = /<title[^>]*>([^<]{0,80})/i.exec(body)?.[1]?.trim();
    throw new SndsFormatError(`${what} returned an HTML page instead of CSV${title ? ` ("${title}")` : ''}: the key may be wrong or expired`);
  }
}

/** A CSV record and the line of the export it starts on (1-based). */
interface CsvRecord {
  fields: string[];
  line: number;
}

/**
 * The export's CSV records (RFC 4180, through csv-parse: quoted fields may hold commas, quotes and line
 * breaks). Blank lines are skipped. Text that is not CSV (an unterminated quote) ends the readable part:
 * the records before it are returned and the rest is one problem at the line where it starts.
 */
function csvRecords(body: string): { records: CsvRecord[]; problem?: RowProblem } {
  const records: CsvRecord[] = [];
  // csv-parse counts a CRLF inside a quoted field as two lines, so lines are counted here: a record
  // spans one line plus the line breaks inside its fields.
  let line = 1;
  try {
    csv().parse(body, {
      bom: true,
      record_delimiter: ['\r\n', '\n'],
      relax_column_count: true,
      relax_quotes: true,
      on_record: (fields: string[]) => {
        const start = line;
        line += 1 + fields.reduce((n, f) => n + (f.match(/\r\n|\n/g)?.length ?? 0), 0);
        if (!(fields.length === 1 && fields[0]!.trim() === '')) records.push({ fields, line: start });
        return null;
      },
    });
  } catch (e) {
    const message = (e as { code?: string }).code === 'CSV_QUOTE_NOT_CLOSED' ? 'unterminated quoted field' : (e as Error).message;
    return { records, problem: { line, reason: `${message}: the export is not readable from here to its end` } };
  }
  return { records };
}

const sndsDate = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))? ?(AM|PM)$/i;

/**
 * SNDS writes times as `12/31/2019 8:00 AM`. Returns epoch ms read as UTC (for ordering periods only;
 * the stored strings stay as SNDS wrote them), or null when the text is not such a time.
 */
export function parseSndsTime(text: string): number | null {
  const m = sndsDate.exec(text.trim());
  if (!m) return null;
  const [, mo, d, y, h, mi, s, ampm] = m;
  let hour = Number(h);
  if (hour < 1 || hour > 12) return null;
  if (ampm!.toUpperCase() === 'AM') hour = hour === 12 ? 0 : hour;
  else hour = hour === 12 ? 12 : hour + 12;
  const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), hour, Number(mi), Number(s ?? 0));
  const check = new Date(t);
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d)) return null;
  return t;
}

/**
 * An SNDS period as the dashboard writes times, `2026-11-20 00:00 - 23:59` (the end's date only when
 * it differs), 24-hour. No zone: SNDS does not say which clock its times are on. A time that is not
 * SNDS's shape is shown as it is.
 */
export function sndsPeriodText(start: string, end: string): string {
  const [a, b] = [start, end].map(parseSndsTime).map((t) => (t === null ? null : new Date(t).toISOString().slice(0, 16).replace('T', ' ')));
  if (a == null || b == null) return `${a ?? start} - ${b ?? end}`;
  return a.slice(0, 10) === b.slice(0, 10) ? `${a} - ${b.slice(11)}` : `${a} - ${b}`;
}

function count(text: string, name: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new SndsFormatError(`${name} "${text}" is not a whole number`);
  return Number(t);
}

const colors: Record<string, SndsColor> = { GREEN: 'green', YELLOW: 'yellow', RED: 'red' };

function parseDataRow(fields: string[]): Omit<SndsRow, 'line'> {
  if (fields.length !== 14) throw new SndsFormatError(`expected 14 columns, found ${fields.length}`);
  const f = fields.map((x) => x.trim());
  const [ip, start, end, rcpt, data, recipients, filter, complaint, trapStart, trapEnd, traps, helo, mailFrom, comments] =
    f as [string, string, string, string, string, string, string, string, string, string, string, string, string, string];
  if (isIP(ip) !== 4) throw new SndsFormatError(`column 1 "${ip}" is not an IPv4 address`);
  if (parseSndsTime(start) === null) throw new SndsFormatError(`activity start "${start}" is not a date`);
  if (parseSndsTime(end) === null) throw new SndsFormatError(`activity end "${end}" is not a date`);
  const color = colors[filter.toUpperCase()];
  if (color === undefined) throw new SndsFormatError(`filter result "${filter}" is not GREEN, YELLOW or RED`);
  if (trapStart !== '' && parseSndsTime(trapStart) === null) throw new SndsFormatError(`trap period start "${trapStart}" is not a date`);
  if (trapEnd !== '' && parseSndsTime(trapEnd) === null) throw new SndsFormatError(`trap period end "${trapEnd}" is not a date`);
  // An empty trap-hit column means no trap period (SNDS leaves the three trap columns blank together).
  if (traps === '' && (trapStart !== '' || trapEnd !== '')) throw new SndsFormatError('trap hits empty although a trap period is given');
  const row: Omit<SndsRow, 'line'> = {
    ip,
    color,
    traps: traps === '' ? 0 : count(traps, 'trap hits'),
    complaintRate: complaint,
    rcptCommands: count(rcpt, 'RCPT commands'),
    dataCommands: count(data, 'DATA commands'),
    recipients: count(recipients, 'message recipients'),
    periodStart: start,
    periodEnd: end,
  };
  if (trapStart !== '') row.trapPeriodStart = trapStart;
  if (trapEnd !== '') row.trapPeriodEnd = trapEnd;
  if (helo !== '') row.heloSample = helo;
  if (mailFrom !== '') row.mailFromSample = mailFrom;
  if (comments !== '') row.comments = comments;
  return row;
}

function firstColumnIp(fields: readonly string[]): string | undefined {
  const first = fields[0]?.trim() ?? '';
  return isIP(first) === 4 ? first : undefined;
}

/**
 * Parse a `data.aspx` export. Throws SndsFormatError for an HTML page; an empty body parses to no
 * rows (the caller decides what that means). Bad rows go to `problems`.
 */
export function parseSndsData(body: string): SndsDataExport {
  assertNotHtml(body, 'SNDS data export');
  const rows: SndsRow[] = [];
  const problems: RowProblem[] = [];
  const { records, problem } = csvRecords(body);
  for (const { fields, line } of records) {
    try {
      rows.push({ ...parseDataRow(fields), line });
    } catch (e) {
      const ip = firstColumnIp(fields);
      problems.push({ line, reason: (e as Error).message, ...(ip !== undefined ? { ip } : {}) });
    }
  }
  if (problem) problems.push(problem);
  return { rows, problems };
}

/** Parse an `ipStatus.aspx` export (4 columns: first IP, last IP, blocked, reason). */
export function parseSndsIpStatus(body: string): SndsStatusExport {
  assertNotHtml(body, 'SNDS IP status export');
  const ranges: BlockedRange[] = [];
  const problems: RowProblem[] = [];
  const { records, problem } = csvRecords(body);
  for (const { fields, line } of records) {
    try {
      const f = fields.map((x) => x.trim());
      if (f.length !== 4) throw new SndsFormatError(`expected 4 columns, found ${f.length}`);
      const [first, last, blocked, reason] = f as [string, string, string, string];
      if (isIP(first) !== 4) throw new SndsFormatError(`first IP "${first}" is not an IPv4 address`);
      if (isIP(last) !== 4) throw new SndsFormatError(`last IP "${last}" is not an IPv4 address`);
      const firstInt = ipv4ToInt(first);
      const lastInt = ipv4ToInt(last);
      if (lastInt < firstInt) throw new SndsFormatError(`range ${first}-${last} ends before it starts`);
      const b = blocked.toLowerCase();
      if (b !== 'yes' && b !== 'no') throw new SndsFormatError(`blocked column "${blocked}" is not Yes or No`);
      ranges.push({ first, last, firstInt, lastInt, blocked: b === 'yes', reason });
    } catch (e) {
      problems.push({ line, reason: (e as Error).message });
    }
  }
  if (problem) problems.push(problem);
  return { ranges, problems };
}

/**
 * The row to show for each IP. When several activity periods exist for one IP, the newest period
 * (latest end, then latest start) is kept; rows are never summed.
 */
export function newestRowPerIp(rows: readonly SndsRow[]): Map<string, SndsRow> {
  const out = new Map<string, SndsRow>();
  for (const r of rows) {
    const prev = out.get(r.ip);
    if (!prev || comparePeriods(r, prev) > 0) out.set(r.ip, r);
  }
  return out;
}

function comparePeriods(a: SndsRow, b: SndsRow): number {
  const d = parseSndsTime(a.periodEnd)! - parseSndsTime(b.periodEnd)!;
  return d !== 0 ? d : parseSndsTime(a.periodStart)! - parseSndsTime(b.periodStart)!;
}

/** The ranges containing an IPv4 address. */
export function rangesFor(ip: string, ranges: readonly BlockedRange[]): BlockedRange[] {
  const n = ipv4ToInt(ip);
  return ranges.filter((r) => n >= r.firstInt && n <= r.lastInt);
}
