import { describe, expect, it } from 'vitest';
import { blockMatcher, maxTestedLine, mergeBlocks, namesIp, toBlock } from '../../collector/maillog/blocks.js';
import { MaillogScanner } from '../../collector/maillog/scan.js';
import { HostClock } from '../../collector/maillog/time.js';
import { LineSplitter } from '../../collector/maillog/lines.js';
import { planRead } from '../../collector/maillog/plan.js';
import { QueueMap, defaultQueueLimits } from '../../collector/maillog/queue.js';
import { workerSink } from '../../collector/maillog/sink.js';
import { parseListing, probeCommand, readCommand } from '../../collector/maillog/remote.js';

describe('LineSplitter', () => {
  const split = (chunks: string[], opts: ConstructorParameters<typeof LineSplitter>[1] = {}, final = false) => {
    const out: string[] = [];
    const s = new LineSplitter((t) => out.push(t.toString('latin1')), opts);
    for (const c of chunks) s.push(Buffer.from(c, 'latin1'));
    s.end(final);
    return { text: out.join(''), consumed: s.consumed };
  };

  it('hands on complete lines only and counts their bytes', () => {
    expect(split(['ab', 'c\nde', 'f\ngh'])).toEqual({ text: 'abc\ndef\n', consumed: 8 });
  });
  it('a finished file gives its unterminated last line too', () => {
    expect(split(['abc\ngh'], {}, true)).toEqual({ text: 'abc\ngh', consumed: 6 });
  });
  it('skips the partial first line of a tail', () => {
    expect(split(['xyz', 'w\nabc\nd'], { skipFirstPartial: true })).toEqual({ text: 'abc\n', consumed: 9 });
  });
  it('cuts a runaway line but counts all its bytes', () => {
    const long = 'L' + 'x'.repeat(200_000) + '\n';
    const chunks = ['a\n', ...long.match(/.{1,7000}/gs)!, 'b\n'];
    const r = split(chunks, { maxLineBytes: 100_000 });
    expect(r.consumed).toBe(2 + long.length + 2);
    const lines = r.text.split('\n');
    expect(lines[0]).toBe('a');
    expect(lines[1]!.length).toBeGreaterThanOrEqual(65_536);
    expect(lines[1]!.length).toBeLessThanOrEqual(100_000);
    expect(lines[1]!.startsWith('Lxxx')).toBe(true);
    expect(lines[2]).toBe('b');
    expect(lines).toHaveLength(4);
  });
  it('any chunking gives the same lines', () => {
    const text = Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n') + '\npartial';
    const r = split(text.match(/.{1,97}/gs)!);
    expect(r.text).toBe(text.slice(0, text.lastIndexOf('\n') + 1));
    expect(r.consumed).toBe(text.lastIndexOf('\n') + 1);
  });
});

describe('planRead', () => {
  const cur = { inode: '20', size: 1000, name: '/var/log/maillog' };
  it('first run: a bounded tail', () => {
    expect(planRead(null, '/var/log/maillog', cur, [], 300)).toMatchObject({ firstRun: true, segments: [{ from: 699, skipFirstPartial: true }] });
    expect(planRead(null, '/var/log/maillog', cur, [], 5000)).toMatchObject({ segments: [{ from: 0, skipFirstPartial: false }] });
  });
  it('first run: a tail starting right at a line keeps that line; one starting mid-line drops the piece', () => {
    const text = Buffer.from('aaa\nbbb\nccc\n');
    const tail = (bytes: number) => {
      const seg = planRead(null, '/l', { inode: '1', size: text.length, name: '/l' }, [], bytes).segments[0]!;
      const out: string[] = [];
      const s = new LineSplitter((b) => out.push(b.toString()), { skipFirstPartial: seg.skipFirstPartial });
      s.push(text.subarray(seg.from));
      return { text: out.join(''), end: seg.from + s.consumed };
    };
    expect(tail(8)).toEqual({ text: 'bbb\nccc\n', end: 12 });
    expect(tail(7)).toEqual({ text: 'ccc\n', end: 12 });
  });
  it('same inode: from the offset; shrunk: from 0', () => {
    expect(planRead({ path: cur.name, inode: '20', offset: 400 }, cur.name, cur, [], 300).segments).toEqual([{ name: cur.name, inode: '20', from: 400, skipFirstPartial: false, finalFile: false }]);
    const t = planRead({ path: cur.name, inode: '20', offset: 4000 }, cur.name, cur, [], 300);
    expect(t.segments[0]!.from).toBe(0);
    expect(t.notes[0]).toMatch(/truncated/);
  });
  it('rotated: finish the old inode, then the new file from 0', () => {
    const r = planRead({ path: cur.name, inode: '7', offset: 400 }, cur.name, cur, [{ inode: '9', size: 5, name: '/var/log/maillog.2' }, { inode: '7', size: 900, name: '/var/log/maillog.1' }], 300);
    expect(r.segments).toEqual([
      { name: '/var/log/maillog.1', inode: '7', from: 400, skipFirstPartial: false, finalFile: true },
      { name: cur.name, inode: '20', from: 0, skipFirstPartial: false, finalFile: false },
    ]);
    const lost = planRead({ path: cur.name, inode: '7', offset: 400 }, cur.name, cur, [], 300);
    expect(lost.segments).toHaveLength(1);
    expect(lost.notes[0]).toMatch(/not found/);
  });
  it('a changed path is a first run', () => {
    expect(planRead({ path: '/old', inode: '20', offset: 5 }, cur.name, cur, [], 300).firstRun).toBe(true);
  });
});

describe('QueueMap', () => {
  it('remembers deferred recipients, forgets settled ones, diffs against what was stored', () => {
    const q = new QueueMap({ OLD1: JSON.stringify({ r: ['a@x.example'], t: 100 }), GONE: JSON.stringify({ r: ['b@y.example'], t: 100 }), BAD: '{' });
    q.deferred('NEW1', 'c@z.example', 200);
    q.deferred('NEW1', 'c@z.example', 300);
    q.deferred('NEW1', 'd@z.example', 300);
    q.settled('NEW1', 'd@z.example');
    expect(q.expired('GONE')).toEqual(['b@y.example']);
    expect(q.expired('NOPE')).toEqual([]);
    const ch = q.changes();
    expect(ch.set).toEqual([['NEW1', JSON.stringify({ r: ['c@z.example'], t: 300 })]]);
    expect(ch.del.sort()).toEqual(['BAD', 'GONE']);
  });
  it('is bounded by age and count', () => {
    const q = new QueueMap({}, { maxEntries: 2, maxAgeSec: 1000 });
    q.deferred('A', 'a@x', 10);
    q.deferred('B', 'b@x', 2000);
    q.deferred('C', 'c@x', 2100);
    q.deferred('D', 'd@x', 2200);
    expect(q.prune(2500)).toBe(2);
    expect([q.get('A'), q.get('B')]).toEqual([undefined, undefined]);
    expect(q.size).toBe(2);
  });
  it('stays bounded while a long read adds deferrals (not only at the end), keeping the newest', () => {
    const q = new QueueMap({ S0: JSON.stringify({ r: ['s@x'], t: 0 }) }, { maxEntries: 100, maxAgeSec: 1e9 });
    let most = 0;
    for (let i = 1; i <= 10_000; i++) {
      q.deferred(`Q${i}`, 'a@x', i);
      most = Math.max(most, q.size);
    }
    expect(most).toBeLessThanOrEqual(116);
    q.prune(10_000);
    expect(q.size).toBe(100);
    expect(q.get('Q10000')).toBeDefined();
    expect(q.get('Q9900')).toBeUndefined();
    // The dropped stored entry is deleted at commit; the dropped new ones are never written.
    const ch = q.changes();
    expect(ch.del).toEqual(['S0']);
    expect(ch.set).toHaveLength(100);
  });
});

describe('provider blocks', () => {
  const rules = [
    { provider: 'hotmail', pattern: /mail\.live\.com\/mail\/troubleshooting\.aspx#errors/ },
    { provider: 'united', pattern: /\.untd\.com.*550\sAccess\sdenied/ },
    { provider: 'echo', pattern: /(blk)-\1/ },
    { provider: 'anchored', pattern: /^Nov  3 09/ },
  ];
  it('a combined prefilter, confirmed with each provider\'s own pattern', () => {
    const m = blockMatcher(rules);
    expect(m.match('Nov  3 07:00:00 h postfix/smtp[1]: A: see http://mail.live.com/mail/troubleshooting.aspx#errors')).toEqual(['hotmail']);
    expect(m.match('Nov  3 08:00:01 h postfix/smtp[1]: C: host mx.untd.com[1.2.3.4] said: 550 Access denied')).toEqual(['united']);
    expect(m.match('Nov  3 08:00:02 h x[1]: blk-blk')).toEqual(['echo']);
    expect(m.match('Nov  3 08:00:02 h x[1]: blk-xyz')).toEqual([]);
    expect(m.match('Nov  3 09:00:00 h x[1]: anything')).toEqual(['anchored']);
  });

  it('a pattern that backtracks catastrophically on a crafted line ends, and is named', () => {
    // Config load refuses this shape; the matcher must still end on it (V8's linear-time fallback):
    // with plain backtracking this line alone takes 2^40 steps.
    const evil = [{ provider: 'benign', pattern: /mail\.live\.com/ }, { provider: 'evil', pattern: /^(a+)+$/ }];
    const crafted = 'a'.repeat(40) + '!';
    expect(blockMatcher(evil).match(crafted)).toEqual([]);
    expect(blockMatcher(evil).match('a'.repeat(40))).toEqual(['evil']);
    const m = blockMatcher(evil, { slowLineMs: 0 });
    m.match('a'.repeat(3000) + '!');
    expect(m.slow()).toEqual([expect.objectContaining({ provider: 'evil', source: '^(a+)+$', lines: 1 })]);
  });

  it('tests at most maxTestedLine characters of a line', () => {
    const m = blockMatcher([{ provider: 'tail', pattern: /TAIL/ }]);
    expect(m.match('x'.repeat(100) + 'TAIL')).toEqual(['tail']);
    expect(m.match('x'.repeat(maxTestedLine) + 'TAIL')).toEqual([]);
  });

  it('the scanner tests remote answers: deferred/bounced status lines and "host ... said" lines', () => {
    const clock = new HostClock(new Date('2026-11-03T12:00:00Z'), 'UTC');
    const sc = new MaillogScanner({ clock, matcher: blockMatcher(rules.slice(0, 2)), queue: new QueueMap({}) });
    const text = [
      'Nov  3 07:00:00 h postfix/smtp[1]: A1234: to=<a@hotmail.com>, relay=x, status=bounced (see http://mail.live.com/mail/troubleshooting.aspx#errors)',
      'Nov  3 07:00:01 h postfix/smtp[1]: B1234: host mx.untd.com[1.2.3.4] said:',
      '550 Access denied on the next line does not count',
      'Nov  3 08:00:01 h postfix/smtp[1]: C1234: host mx.untd.com[1.2.3.4] said: 550 Access denied (in reply to MAIL FROM command)',
      'Nov  3 08:30:00 h postfix/smtp[1]: D1234: to=<a@hotmail.com>, relay=x, status=deferred (host x said: see http://mail.live.com/mail/troubleshooting.aspx#errors)',
    ].join('\n') + '\n';
    sc.feed(Buffer.from(text));
    expect([...sc.blocks].map(([p, b]) => [p, new Date(b.ms).toISOString()])).toEqual([
      ['hotmail', '2026-11-03T08:30:00.000Z'],
      ['united', '2026-11-03T08:00:01.000Z'],
    ]);
    expect(sc.lines).toBe(5);
    expect(sc.unparsed).toBe(0);
  });

  it('counts the same however the lines are batched: one large batch (decoded a window at a time), line by line, a line longer than a window, CRLF, UTF-8 addresses', () => {
    const lines: string[] = [];
    const want = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      const dom = ['gmail.com', 'Yahoo.COM', 'bücher.example', 'b.example'][i % 4]!;
      const status = (['sent', 'bounced', 'deferred'] as const)[i % 3]!;
      // A ~70 KB line (longer than the decoding window) now and then, and CRLF endings on some lines.
      const pad = i % 997 === 0 ? ` ${'p'.repeat(70_000)}` : '';
      const eol = i % 5 === 0 ? '\r' : '';
      lines.push(`Nov  3 07:${String(Math.floor(i / 120) % 60).padStart(2, '0')}:00 h postfix/smtp[1]: Q${100000 + i}: to=<u${i}@${dom}>, relay=x, status=${status} (ok${pad})${eol}`);
      lines.push(`Nov  3 07:00:00 h postfix/smtpd[2]: connect from c${i}.example[192.0.2.1]`);
      const key = `${status} ${dom.toLowerCase()}`;
      want.set(key, (want.get(key) ?? 0) + 1);
    }
    const bytes = Buffer.from(lines.join('\n') + '\n', 'utf8');
    const count = (feed: (sc: MaillogScanner) => void) => {
      const sc = new MaillogScanner({ clock: new HostClock(new Date('2026-11-03T12:00:00Z'), 'UTC'), matcher: blockMatcher([]), queue: new QueueMap({}) });
      feed(sc);
      const got = new Map<string, number>();
      for (const [type, byDomain] of sc.counters.get('20261103') ?? []) for (const [d, n] of byDomain) if (type !== 'expired') got.set(`${type} ${d}`, n);
      return { got, lines: sc.lines, unparsed: sc.unparsed };
    };
    const whole = count((sc) => sc.feed(bytes));
    expect(bytes.length).toBeGreaterThan(1 << 20);
    expect(whole.got).toEqual(want);
    expect(whole.lines).toBe(12_000);
    expect(whole.unparsed).toBe(0);
    const perLine = count((sc) => {
      let from = 0;
      for (let nl = bytes.indexOf(10); nl !== -1; nl = bytes.indexOf(10, from)) {
        sc.feed(bytes.subarray(from, nl + 1));
        from = nl + 1;
      }
    });
    expect(perLine).toEqual(whole);
  });

  it('an expired message counts the domains of its deferred recipients; a local one without a domain counts nowhere', () => {
    const clock = new HostClock(new Date('2026-11-03T12:00:00Z'), 'UTC');
    const sc = new MaillogScanner({ clock, matcher: blockMatcher([]), queue: new QueueMap({}) });
    const text = [
      'Nov  3 07:00:00 h postfix/local[1]: A1234: to=<root>, relay=local, status=deferred (mailbox full)',
      'Nov  3 07:00:00 h postfix/smtp[1]: A1234: to=<u@Example.org>, relay=x, status=deferred (timeout)',
      'Nov  3 08:00:00 h postfix/qmgr[1]: A1234: from=<>, status=expired, returned to sender',
    ].join('\n') + '\n';
    sc.feed(Buffer.from(text));
    expect(sc.counters.get('20261103')?.get('expired')).toEqual(new Map([['example.org', 1]]));
    expect(sc.counters.get('20261103')?.get('deferred')).toEqual(new Map([['example.org', 1]]));
  });

  it('names the MTA IP only as a whole address, and the recipient domain', () => {
    expect(namesIp('messages from [192.0.2.10] were', '192.0.2.10')).toBe(true);
    expect(namesIp('messages from [192.0.2.100] were', '192.0.2.10')).toBe(false);
    expect(namesIp('from 2001:db8::1 x', '2001:DB8::1')).toBe(true);
    const b = toBlock('hotmail', 'Nov  3 07:00:00 h postfix/smtp[1]: A: to=<a@Hotmail.com>, said: from [192.0.2.10] blocked', Date.UTC(2026, 10, 3, 7), ['192.0.2.11', '192.0.2.10']);
    expect(b).toMatchObject({ provider: 'hotmail', ip: '192.0.2.10', recipientDomain: 'hotmail.com', at: '2026-11-03T07:00:00.000Z' });
  });
  it('merge keeps the newest per provider inside the window, drops unconfigured providers', () => {
    const now = Date.UTC(2026, 10, 3, 12);
    const at = (h: number) => new Date(Date.UTC(2026, 10, 3, h)).toISOString();
    const prev = [
      { provider: 'a', line: 'old', at: at(11) },
      { provider: 'b', line: 'old', at: at(9) },
      { provider: 'gone', line: 'x', at: at(11) },
    ];
    const fresh = [{ provider: 'a', line: 'new', at: at(11.5) }];
    expect(mergeBlocks(prev, fresh, ['a', 'b'], now, 7200)).toEqual([{ provider: 'a', line: 'new', at: at(11.5) }]);
  });
});

describe('remote commands', () => {
  it('quote every parameter and put -- before paths', () => {
    expect(probeCommand("/var/log/it's", { inode: '12', offset: 5 }, 100)).toBe(
      `exec 3< '/var/log/it'\\''s' || exit 66; s=$(stat -L -c '%i %s' /dev/fd/3) || exit 66; echo "$s"; set -- $s; ` +
        `if [ "$1" = '12' ] && [ "$2" -ge '5' ] && [ "$2" -le '105' ]; then exec tail -c +'6' <&3; fi; ` +
        `for f in '/var/log/it'\\''s'.* '/var/log/it'\\''s'-*; do [ -f "$f" ] && stat -L -c '%i %s %n' -- "$f"; done; exit 0`,
    );
    expect(probeCommand('/l', null, 0)).toContain(`[ "$1" = '' ]`);
    expect(() => probeCommand('/l', { inode: "1' ; reboot", offset: 0 }, 0)).toThrow(/inode/);
    expect(readCommand('/a b', '12', 0)).toContain(`exec 3< '/a b'`);
    expect(readCommand('/a b', '12', 0)).toContain(`tail -c +'1' <&3`);
    expect(() => readCommand('/a\nb', '12', 0)).toThrow(/newline/);
    expect(() => readCommand('relative', '12', 0)).toThrow(/absolute/);
    expect(() => readCommand('/a', '12; rm -rf /', 0)).toThrow(/inode/);
  });
  it('parse the listing, names with spaces included', () => {
    expect(parseListing('6 20 /l/m.1\n7 30 /l/m-2026 x\nbad\n')).toEqual([
      { inode: '6', size: 20, name: '/l/m.1' },
      { inode: '7', size: 30, name: '/l/m-2026 x' },
    ]);
  });
});

describe('scanner thread', () => {
  it('a scanner thread that dies while the read is paused resumes the read and fails it with its own reason', async () => {
    // A pattern that backtracks for ages on the first line keeps the thread from acknowledging anything.
    const rules = [{ provider: 'slow', pattern: /(a+)+c/ }];
    const sink = workerSink({ rules, timezone: 'UTC', nowMs: Date.UTC(2026, 10, 3, 12), firstRun: false, queue: {}, queueLimits: defaultQueueLimits });
    const calls: boolean[] = [];
    sink.onBackpressure = (pause) => calls.push(pause);
    const stuck = Buffer.from(`Nov  3 07:00:00 h postfix/smtp[1]: A1234: to=<u@b.example>, relay=x, status=deferred (${'a'.repeat(40)}b)\n`);
    // Status lines (only those go to the thread), a MiB of them per chunk.
    const chunk = Buffer.alloc(1 << 20, 'Nov  3 07:00:00 h postfix/smtp[1]: A1234: to=<u@b.example>, relay=x, status=sent (ok)\n');
    sink.feed(stuck);
    for (let i = 0; i < 12; i++) sink.feed(chunk);
    expect(calls).toEqual([true]);
    sink.close(); // the thread is gone
    // The thread's exit event arrives when the OS has ended it: poll (bounded) for the resume.
    await expect.poll(() => calls, { timeout: 60_000, interval: 50 }).toEqual([true, false]);
    expect(() => sink.feed(chunk)).toThrow(/scanner thread exited/);
  });

  it('a scanner thread ended before it came online (node reports exit code 0) still resumes a paused read', async () => {
    const sink = workerSink({ rules: [], timezone: 'UTC', nowMs: Date.UTC(2026, 10, 3, 12), firstRun: false, queue: {}, queueLimits: defaultQueueLimits });
    const calls: boolean[] = [];
    sink.onBackpressure = (pause) => calls.push(pause);
    sink.close(); // at once, before the thread has started (found by the suite proof on a loaded machine)
    const chunk = Buffer.alloc(1 << 20, 'Nov  3 07:00:00 h postfix/smtp[1]: A1234: to=<u@b.example>, relay=x, status=sent (ok)\n');
    for (let i = 0; i < 12; i++) sink.feed(chunk);
    expect(calls).toEqual([true]);
    await expect.poll(() => calls, { timeout: 60_000, interval: 50 }).toEqual([true, false]);
    expect(() => sink.feed(chunk)).toThrow(/scanner thread exited before its result/);
  });
});

describe('HostClock in UTC (no Intl)', () => {
  it('reads as the same zone through Intl does (Etc/UCT is UTC under another name)', () => {
    const now = new Date('2026-12-31T23:59:30Z');
    const fast = new HostClock(now, 'UTC');
    const intl = new HostClock(now, 'Etc/UCT');
    expect(fast.today).toBe(intl.today);
    expect(fast.nowYear).toBe(intl.nowYear);
    for (let ms = Date.UTC(2024, 1, 28, 22); ms < Date.UTC(2024, 2, 2); ms += 3_599_999) {
      expect(fast.wall(ms)).toEqual(intl.wall(ms));
      expect(fast.dayOf(ms)).toBe(intl.dayOf(ms));
      expect(fast.offsetAt(ms)).toBe(0);
    }
    expect(fast.wallToEpoch(2026, 12, 31, 23, 0, 0)).toBe(intl.wallToEpoch(2026, 12, 31, 23, 0, 0));
    expect(fast.inferYear(12, 31, 23, 0, 0)).toBe(intl.inferYear(12, 31, 23, 0, 0));
  });
});
