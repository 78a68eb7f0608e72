/**
 * Postfix maillog line parser. Pure: a line (decoded as latin1, so one char is one byte and any byte
 * sequence is accepted) and a HostClock in, plain data out. Understands both syslog timestamp styles,
 * any service prefix (`postfix-out/smtp`, `postfix/submission/smtpd`), short and long queue ids, and
 * the two line shapes that feed the counters: a delivery agent's `to=<..>, ..., status=..` line and
 * qmgr's `status=expired`. Anything else is 'other' (a postfix line of no interest) or 'unparsed'
 * (not a syslog line); the caller counts those and moves on.
 */
import type { HostClock } from './time.js';

export interface Header {
  /** Epoch ms of the line. */
  ms: number;
  /** `YYYYMMDD` in the host's zone: the day the line counts into. */
  day: string;
  /** Program as logged, e.g. `postfix-out/smtp`. */
  program: string;
  /** Last component of the program: `smtp`, `qmgr`, ... */
  service: string;
  /** Index where the message (after `program[pid]: `) starts. */
  msg: number;
}

export type DeliveryStatus = 'sent' | 'bounced' | 'deferred';

export type ParsedLine =
  | { kind: 'delivery'; header: Header; qid: string; rcpt: string; domain: string; status: DeliveryStatus; agent: string }
  | { kind: 'expired'; header: Header; qid: string }
  | { kind: 'other'; header: Header }
  | { kind: 'unparsed'; reason: string };

/** Delivery agents whose `status=` lines count (postfix's `retry` re-logs deferrals, too). */
export const deliveryAgents: ReadonlySet<string> = new Set(['smtp', 'lmtp', 'local', 'virtual', 'pipe', 'error', 'discard', 'retry']);

const MONTHS: Record<string, number> = { Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12 };

function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  return v;
}

/** Timestamp at the start of a line: returns [epoch ms, day, index after the stamp + space] or null. */
function parseStamp(line: string, clock: HostClock): [number, string, number] | null {
  const c0 = line.charCodeAt(0);
  if (c0 >= 48 && c0 <= 57) {
    // RFC 3339: 2026-11-03T07:30:01.123456+00:00 (fraction and offset optional parts vary)
    const y = digits(line, 0, 4);
    const mo = digits(line, 5, 2);
    const d = digits(line, 8, 2);
    const h = digits(line, 11, 2);
    const mi = digits(line, 14, 2);
    const s = digits(line, 17, 2);
    if (line[4] !== '-' || line[7] !== '-' || (line[10] !== 'T' && line[10] !== ' ') || line[13] !== ':' || line[16] !== ':') return null;
    if (Number.isNaN(y + mo + d + h + mi + s) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
    let i = 19;
    let frac = 0;
    if (line[i] === '.' || line[i] === ',') {
      i++;
      const start = i;
      while (i < line.length && line.charCodeAt(i) >= 48 && line.charCodeAt(i) <= 57) i++;
      if (i === start) return null;
      frac = Math.floor(Number('0.' + line.slice(start, i)) * 1000);
    }
    let ms: number;
    const z = line[i];
    if (z === 'Z' || z === 'z') {
      ms = Date.UTC(y, mo - 1, d, h, mi, s, frac);
      i++;
    } else if (z === '+' || z === '-') {
      const oh = digits(line, i + 1, 2);
      const om = line[i + 3] === ':' ? digits(line, i + 4, 2) : digits(line, i + 3, 2);
      if (Number.isNaN(oh + om)) return null;
      const off = (oh * 60 + om) * 60_000 * (z === '+' ? 1 : -1);
      ms = Date.UTC(y, mo - 1, d, h, mi, s, frac) - off;
      i += line[i + 3] === ':' ? 6 : 5;
    } else {
      // No zone: the host's local time.
      ms = clock.wallToEpoch(y, mo, d, h, mi, s, frac);
    }
    if (line[i] !== ' ') return null;
    return [ms, clock.dayOf(ms), i + 1];
  }
  // Traditional: "Nov  3 07:30:01 " or "Nov 3 07:30:01 ".
  const mo = MONTHS[line.slice(0, 3)];
  if (mo === undefined || line[3] !== ' ') return null;
  let i = 4;
  if (line[i] === ' ') i++;
  let d = digits(line, i, 2);
  if (Number.isNaN(d)) {
    d = digits(line, i, 1);
    i += 1;
  } else i += 2;
  if (Number.isNaN(d) || d < 1 || d > 31 || line[i] !== ' ') return null;
  const h = digits(line, i + 1, 2);
  const mi = digits(line, i + 4, 2);
  const s = digits(line, i + 7, 2);
  if (line[i + 3] !== ':' || line[i + 6] !== ':' || Number.isNaN(h + mi + s) || h > 23 || mi > 59 || s > 60) return null;
  i += 9;
  let frac = 0;
  if (line[i] === '.') {
    const start = ++i;
    while (i < line.length && line.charCodeAt(i) >= 48 && line.charCodeAt(i) <= 57) i++;
    frac = Math.floor(Number('0.' + line.slice(start, i)) * 1000) || 0;
  }
  if (line[i] !== ' ') return null;
  const year = clock.inferYear(mo, d, h, mi, s);
  const ms = clock.wallToEpoch(year, mo, d, h, mi, s, frac);
  // The line's own calendar date is its day: the stamp is already the host's wall clock.
  const day = `${year}${mo < 10 ? '0' : ''}${mo}${d < 10 ? '0' : ''}${d}`;
  return [ms, day, i + 1];
}


/** Timestamp, host and `program[pid]: ` of a syslog line, or null when it is not one. */
export function parseHeader(line: string, clock: HostClock): Header | null {
  let ms: number;
  let day: string;
  let afterStamp: number;
  // A log has many lines per second: comparing the last stamp's text is far cheaper than parsing.
  const cached = clock.lastStamp;
  if (cached !== null && startsWithText(line, cached.prefix)) {
    ms = cached.ms;
    day = cached.day;
    afterStamp = cached.prefix.length;
  } else {
    const stamp = parseStamp(line, clock);
    if (stamp === null) return null;
    [ms, day, afterStamp] = stamp;
    clock.lastStamp = { prefix: line.slice(0, afterStamp), ms, day };
  }
  const hostEnd = line.indexOf(' ', afterStamp);
  if (hostEnd <= afterStamp) return null;
  const colon = line.indexOf(': ', hostEnd + 1);
  if (colon < 0) return null;
  let progEnd = colon;
  const bracket = line.lastIndexOf('[', colon);
  if (bracket > hostEnd && line[colon - 1] === ']') progEnd = bracket;
  const program = line.slice(hostEnd + 1, progEnd);
  if (program.length === 0 || program.includes(' ')) return null;
  const slash = program.lastIndexOf('/');
  return { ms, day, program, service: slash < 0 ? program : program.slice(slash + 1), msg: colon + 2 };
}

function isQueueIdChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** A queue id (`3F2A81234` or long `4Nz8pW1bG7z9sQk`) followed by `: ` at `at`; returns its end. */
function queueIdEnd(line: string, at: number): number {
  let i = at;
  while (i < line.length && isQueueIdChar(line.charCodeAt(i))) i++;
  const n = i - at;
  if (n < 5 || n > 20 || line[i] !== ':' || line[i + 1] !== ' ') return -1;
  return i;
}

/** After `<...>` starting at `open` (index of `<`): index just past `>, ` or -1. */
function addrEnd(line: string, open: number): number {
  const close = line.indexOf('>, ', open + 1);
  return close < 0 ? -1 : close;
}

function statusWord(line: string, at: number): string {
  let i = at;
  while (i < line.length) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 44 || c === 10 || c === 13) break;
    i++;
  }
  return line.slice(at, i);
}

/** Latin1 text of UTF-8 bytes -> the real characters (addresses may be SMTPUTF8). */
export function fromLatin1(s: string): string {
  // A loop, not a regex: it runs once per delivery line, on short text.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'latin1').toString('utf8');
  return s;
}

/** `line` starts with `prefix` (compared by char codes: cheaper than startsWith for a short prefix, per line). */
function startsWithText(line: string, prefix: string): boolean {
  if (line.length < prefix.length) return false;
  for (let i = prefix.length - 1; i >= 0; i--) if (line.charCodeAt(i) !== prefix.charCodeAt(i)) return false;
  return true;
}

/** Parse one line (no trailing newline). Never throws. */
export function parseLine(line: string, clock: HostClock): ParsedLine {
  const header = parseHeader(line, clock);
  if (header === null) return { kind: 'unparsed', reason: 'not a syslog line' };
  const qEnd = queueIdEnd(line, header.msg);
  if (qEnd < 0) return { kind: 'other', header };
  const qid = line.slice(header.msg, qEnd);
  const body = qEnd + 2;
  if (deliveryAgents.has(header.service) && line.startsWith('to=<', body)) {
    const end = addrEnd(line, body + 3);
    if (end < 0) return { kind: 'unparsed', reason: 'to=<...> not closed' };
    let after = end + 3;
    if (line.startsWith('orig_to=<', after)) {
      const oEnd = addrEnd(line, after + 8);
      if (oEnd < 0) return { kind: 'unparsed', reason: 'orig_to=<...> not closed' };
      after = oEnd + 3;
    }
    const st = line.indexOf(', status=', after - 2);
    if (st < 0) return { kind: 'other', header }; // e.g. a to= line without a status
    const word = statusWord(line, st + 9);
    if (word !== 'sent' && word !== 'bounced' && word !== 'deferred') return { kind: 'other', header }; // verify probes etc.
    const rcpt = fromLatin1(line.slice(body + 4, end)).toLowerCase();
    const at = rcpt.lastIndexOf('@');
    const domain = at < 0 ? '' : rcpt.slice(at + 1);
    return { kind: 'delivery', header, qid, rcpt, domain, status: word, agent: header.service };
  }
  if (header.service === 'qmgr' && line.startsWith('from=<', body)) {
    const end = addrEnd(line, body + 5);
    if (end >= 0 && line.startsWith(', status=expired', end + 1)) return { kind: 'expired', header, qid };
  }
  return { kind: 'other', header };
}
