/**
 * The streaming core: complete lines (bytes) in, counters / blocks / queue changes accumulated. The
 * bytes are searched natively for the two things that matter, and only those lines are decoded:
 *  - `, status=`: delivery results and qmgr's expiry, parsed for the counters;
 *  - `: host `: a remote server's answer outside a status line (`host X said: ...`,
 *    `host X refused to talk to me: ...`).
 * Provider-block patterns are tested on the lines where a remote server's answer is logged: those
 * `host ...` lines and the deferred / bounced status lines (a provider's block text appears nowhere
 * else). Memory is what the counters and the queue map hold, never the log.
 */
import type { CounterType } from '../../lib/keys.js';
import type { BlockMatcher } from './blocks.js';
import { parseHeader, parseLine } from './parse.js';
import type { QueueMap } from './queue.js';
import type { HostClock } from './time.js';

export interface ScanOptions {
  clock: HostClock;
  matcher: BlockMatcher;
  queue: QueueMap;
  /** Which days count (the first run counts only today's lines, see host.ts). Default: all. */
  countsDay?: (day: string) => boolean;
  /**
   * Which passes this scanner runs (default all): counting lines, status lines (counters, queue,
   * blocks on them), `: host` lines (blocks). Two scanners on two threads split the work this way.
   */
  passes?: { count: boolean; status: boolean; host: boolean };
}

export interface BlockCandidate {
  line: string;
  ms: number;
}

/** Buffer#latin1Slice skips toString's argument checks (it is called once per interesting line). */
type Latin1 = Buffer & { latin1Slice?: (start: number, end: number) => string };
const latin1 = (b: Latin1, start: number, end: number): string => (b.latin1Slice ? b.latin1Slice(start, end) : b.toString('latin1', start, end));
const HOST = Buffer.from(': host ');
/** Bytes decoded at a time by the status pass (below V8's large-object size: short-lived texts stay young). */
const WINDOW = 64 << 10;

/**
 * A copy of a string that does not pin the text it was cut from (V8 keeps a slice's parent alive):
 * keys kept for the whole read must not hold on to the lines they came from.
 */
function own(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

export class MaillogScanner {
  lines = 0;
  unparsed = 0;
  /** Expired lines whose queue id had no remembered recipients. */
  expiredUnknown = 0;
  /** day -> type -> domain -> count */
  readonly counters = new Map<string, Map<CounterType, Map<string, number>>>();
  /** provider -> newest matching line of this read */
  readonly blocks = new Map<string, BlockCandidate>();

  private readonly passes: { count: boolean; status: boolean; host: boolean };

  constructor(private readonly o: ScanOptions) {
    this.passes = o.passes ?? { count: true, status: true, host: true };
  }

  private lastDay = '';
  private lastByType: Map<CounterType, Map<string, number>> | undefined;

  private add(day: string, type: CounterType, domain: string): void {
    if (domain === '' || (this.o.countsDay && !this.o.countsDay(day))) return;
    let byType = day === this.lastDay ? this.lastByType : this.counters.get(day);
    if (!byType) this.counters.set(day, (byType = new Map()));
    this.lastDay = day;
    this.lastByType = byType;
    let byDomain = byType.get(type);
    if (!byDomain) byType.set(type, (byDomain = new Map()));
    const n = byDomain.get(domain);
    if (n === undefined) byDomain.set(own(domain), 1);
    else byDomain.set(domain, n + 1);
  }

  /** Feed complete lines: each ends with `\n`, except possibly the last line of a finished file. */
  feed(buf: Buffer): void {
    if (this.passes.count) {
      let nl = -1;
      let n = 0;
      while ((nl = buf.indexOf(10, nl + 1)) !== -1) n++;
      if (buf.length > 0 && buf[buf.length - 1] !== 10) n++;
      this.lines += n;
    }
    let at = 0;
    // The lines as strings of up to WINDOW bytes (cut at a newline): finding the status lines and
    // cutting them out are then string operations on one text (V8 slices share it) instead of a
    // native call and a copy per line, and each text is small enough to die young.
    for (let from = 0; this.passes.status && from < buf.length; ) {
      let to = buf.length;
      if (to - from > WINDOW) {
        to = buf.lastIndexOf(10, from + WINDOW - 1) + 1;
        if (to <= from) to = Math.min(buf.length, buf.indexOf(10, from + WINDOW) + 1 || buf.length);
      }
      const text = latin1(buf, from, to);
      from = to;
      let pos = 0;
      while ((pos = text.indexOf(', status=', pos)) !== -1) {
        const start = text.lastIndexOf('\n', pos) + 1;
        let end = text.indexOf('\n', pos);
        if (end < 0) end = text.length;
        const cut = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
        this.onStatusLine(text.slice(start, cut));
        pos = end + 1;
      }
    }

    if (!this.passes.host || this.o.matcher.rules.length === 0) return;
    at = 0;
    while ((at = buf.indexOf(HOST, at)) !== -1) {
      const start = buf.lastIndexOf(10, at) + 1;
      let end = buf.indexOf(10, at);
      if (end < 0) end = buf.length;
      const line = latin1(buf, start, end);
      // Status lines were tested above.
      if (!line.includes(', status=')) this.testBlocks(line);
      at = end + 1;
    }
  }

  private testBlocks(line: string): void {
    const providers = this.o.matcher.match(line);
    if (providers.length === 0) return;
    const h = parseHeader(line, this.o.clock);
    if (h === null) return;
    for (const provider of providers) {
      const cur = this.blocks.get(provider);
      if (!cur || h.ms >= cur.ms) this.blocks.set(provider, { line: own(line), ms: h.ms });
    }
  }

  private onStatusLine(line: string): void {
    const p = parseLine(line, this.o.clock);
    switch (p.kind) {
      case 'delivery': {
        this.add(p.header.day, p.status, p.domain);
        if (p.status === 'deferred') this.o.queue.deferred(own(p.qid), own(p.rcpt), Math.floor(p.header.ms / 1000));
        else this.o.queue.settled(p.qid, p.rcpt);
        if (p.status !== 'sent' && this.o.matcher.rules.length > 0) this.testBlocks(line);
        return;
      }
      case 'expired': {
        const rcpts = this.o.queue.expired(p.qid);
        if (rcpts.length === 0) this.expiredUnknown++;
        // As for delivery lines: a recipient without a domain (`to=<root>`) counts nowhere.
        for (const r of rcpts) if (r.includes('@')) this.add(p.header.day, 'expired', r.slice(r.lastIndexOf('@') + 1));
        return;
      }
      case 'unparsed':
        this.unparsed++;
        return;
      case 'other':
        return;
    }
  }
}
