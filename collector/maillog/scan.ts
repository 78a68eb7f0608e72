/**
 * The streaming core: complete lines of log text in, counters / blocks / queue changes accumulated.
 * Only lines carrying `, status=` are parsed (the counters need nothing else), found with one
 * `indexOf` over the chunk; block patterns run over the chunk as a whole (see blocks.ts). Memory is
 * what the counters and the queue map hold, never the log.
 */
import type { CounterType } from '../../lib/keys.js';
import { scanBlocks, type BlockMatcher } from './blocks.js';
import { parseHeader, parseLine } from './parse.js';
import type { QueueMap } from './queue.js';
import type { HostClock } from './time.js';

export interface ScanOptions {
  clock: HostClock;
  matcher: BlockMatcher;
  queue: QueueMap;
  /** Which days count (the first run counts only today's lines, see index.ts). Default: all. */
  countsDay?: (day: string) => boolean;
}

export interface BlockCandidate {
  line: string;
  ms: number;
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

  constructor(private readonly o: ScanOptions) {}

  private add(day: string, type: CounterType, domain: string): void {
    if (domain === '' || (this.o.countsDay && !this.o.countsDay(day))) return;
    let byType = this.counters.get(day);
    if (!byType) this.counters.set(day, (byType = new Map()));
    let byDomain = byType.get(type);
    if (!byDomain) byType.set(type, (byDomain = new Map()));
    byDomain.set(domain, (byDomain.get(domain) ?? 0) + 1);
  }

  /** Feed complete lines: every line ends with `\n`, except possibly the last of a finished file. */
  feed(text: string): void {
    let nl = -1;
    let n = 0;
    while ((nl = text.indexOf('\n', nl + 1)) !== -1) n++;
    if (text.length > 0 && text.charCodeAt(text.length - 1) !== 10) n++;
    this.lines += n;

    let at = 0;
    while ((at = text.indexOf(', status=', at)) !== -1) {
      const start = text.lastIndexOf('\n', at) + 1;
      let end = text.indexOf('\n', at);
      if (end < 0) end = text.length;
      let line = text.slice(start, end);
      if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
      this.onStatusLine(line);
      at = end;
    }

    scanBlocks(this.o.matcher, text, (provider, line) => {
      const h = parseHeader(line, this.o.clock);
      if (h === null) return;
      const cur = this.blocks.get(provider);
      if (!cur || h.ms >= cur.ms) this.blocks.set(provider, { line, ms: h.ms });
    });
  }

  private onStatusLine(line: string): void {
    const p = parseLine(line, this.o.clock);
    switch (p.kind) {
      case 'delivery': {
        this.add(p.header.day, p.status, p.domain);
        if (p.status === 'deferred') this.o.queue.deferred(p.qid, p.rcpt, Math.floor(p.header.ms / 1000));
        else this.o.queue.settled(p.qid, p.rcpt);
        return;
      }
      case 'expired': {
        const rcpts = this.o.queue.expired(p.qid);
        if (rcpts.length === 0) this.expiredUnknown++;
        for (const r of rcpts) this.add(p.header.day, 'expired', r.slice(r.lastIndexOf('@') + 1));
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
