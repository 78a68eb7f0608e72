/**
 * Postfix log lines for tests and the maillog benchmark, in both timestamp styles, with a tally of
 * the counters each written line should produce (so tests compare against what they wrote, not a
 * hard-coded answer).
 */
const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => String(n).padStart(2, '0');

/** Syslog stamp of a UTC instant ("Nov  3 07:30:01"), or RFC 3339 with +00:00. */
export function stamp(d: Date, style: 'syslog' | 'rfc3339' = 'syslog'): string {
  if (style === 'rfc3339') return d.toISOString().replace('Z', '000+00:00');
  return `${MON[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
}

export const dayOf = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, '');

export type Status = 'sent' | 'deferred' | 'bounced';

export interface LineOpts {
  style?: 'syslog' | 'rfc3339';
  host?: string;
  service?: string;
  reply?: string;
  relayIp?: string;
}

export function deliveryLine(d: Date, qid: string, rcpt: string, status: Status, o: LineOpts = {}): string {
  const reply =
    o.reply ?? (status === 'sent' ? '250 2.0.0 OK 1700000000 x1si123' : status === 'deferred' ? 'connect to mx.example.org[198.51.100.7]:25: Connection timed out' : 'host mx[203.0.113.5] said: 550 5.1.1 user unknown (in reply to RCPT TO command)');
  const dsn = status === 'sent' ? '2.0.0' : status === 'deferred' ? '4.4.1' : '5.1.1';
  return `${stamp(d, o.style)} ${o.host ?? 'mta1'} ${o.service ?? 'postfix/smtp'}[4154]: ${qid}: to=<${rcpt}>, relay=mx.${rcpt.split('@')[1]}[${o.relayIp ?? '203.0.113.5'}]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=${dsn}, status=${status} (${reply})`;
}

export function expiredLine(d: Date, qid: string, o: LineOpts = {}): string {
  return `${stamp(d, o.style)} ${o.host ?? 'mta1'} ${o.service ?? 'postfix/qmgr'}[1234]: ${qid}: from=<bounce@news.example.com>, status=expired, returned to sender`;
}

export function noiseLines(d: Date, qid: string, o: LineOpts = {}): string[] {
  const s = stamp(d, o.style);
  const h = o.host ?? 'mta1';
  return [
    `${s} ${h} postfix/smtpd[2001]: connect from app1.example.net[198.51.100.20]`,
    `${s} ${h} postfix/smtpd[2001]: ${qid}: client=app1.example.net[198.51.100.20]`,
    `${s} ${h} postfix/cleanup[2002]: ${qid}: message-id=<${qid}@news.example.com>`,
    `${s} ${h} postfix/qmgr[1234]: ${qid}: from=<bounce@news.example.com>, size=8731, nrcpt=1 (queue active)`,
  ];
}

export function removedLine(d: Date, qid: string, o: LineOpts = {}): string {
  return `${stamp(d, o.style)} ${o.host ?? 'mta1'} postfix/qmgr[1234]: ${qid}: removed`;
}

/** Builds a log and tallies `<day>:<type>` -> domain -> count as the collector should count it. */
export class LogBuilder {
  readonly lines: string[] = [];
  readonly expected = new Map<string, Map<string, number>>();
  private pending = new Map<string, Set<string>>();
  private n = 0;

  constructor(private readonly o: LineOpts = {}) {}

  private tally(day: string, type: string, domain: string): void {
    const k = `${day}:${type}`;
    const m = this.expected.get(k) ?? new Map<string, number>();
    m.set(domain, (m.get(domain) ?? 0) + 1);
    this.expected.set(k, m);
  }

  nextQid(): string {
    this.n++;
    return (0x10000000 + this.n).toString(16).toUpperCase();
  }

  delivery(d: Date, qid: string, rcpt: string, status: Status, o: LineOpts = {}): this {
    this.lines.push(deliveryLine(d, qid, rcpt, status, { ...this.o, ...o }));
    this.tally(dayOf(d), status, rcpt.split('@')[1]!.toLowerCase());
    const set = this.pending.get(qid) ?? new Set<string>();
    if (status === 'deferred') set.add(rcpt.toLowerCase());
    else set.delete(rcpt.toLowerCase());
    this.pending.set(qid, set);
    return this;
  }

  expired(d: Date, qid: string): this {
    this.lines.push(expiredLine(d, qid, this.o));
    for (const r of this.pending.get(qid) ?? []) this.tally(dayOf(d), 'expired', r.split('@')[1]!);
    this.pending.delete(qid);
    return this;
  }

  /** A whole message: noise, one delivery line, removal. */
  message(d: Date, rcpt: string, status: Status): string {
    const qid = this.nextQid();
    this.lines.push(...noiseLines(d, qid, this.o));
    this.delivery(d, qid, rcpt, status);
    if (status !== 'deferred') this.lines.push(removedLine(d, qid, this.o));
    return qid;
  }

  raw(line: string): this {
    this.lines.push(line);
    return this;
  }

  text(): string {
    return this.lines.map((l) => l + '\n').join('');
  }

  /** Expected counters restricted to `day` (e.g. the first run counts only today). */
  only(day: string): Map<string, Map<string, number>> {
    return new Map([...this.expected].filter(([k]) => k.startsWith(day + ':')));
  }
}
