/** The alert rules as a pure function, driven by event sequences and a fixed clock. */
import { describe, expect, it } from 'vitest';
import type { IssueEvent, OpenIssue } from '../../lib/events.js';
import { advance, step, type AlertSettings, type StreamEvent } from '../../lib/alerts/engine.js';
import { freshState, parseState, type AlertState, type Digest } from '../../lib/alerts/state.js';

const t0 = Date.parse('2026-03-01T10:00:00Z');
const at = (min: number) => new Date(t0 + min * 60_000);

const settings: AlertSettings = {
  confirmRuns: 2,
  digestS: 600,
  remindS: 86400,
  minSeverity: 'warning',
  quiet: [],
  // Long enough that the dead man's switch stays out of tests about other rules.
  intervalOf: () => 86400 * 365,
};

function listing(ip: string, zone: string, over: Partial<OpenIssue> = {}): OpenIssue {
  return {
    id: `rbl:${zone}:${ip}`,
    kind: 'listing',
    severity: 'problem',
    source: 'reputation',
    host: 'mta2',
    ip,
    zone,
    state: 'listed: 127.0.0.2 SBL',
    detail: 'https://check.spamhaus.org/query/ip/' + ip,
    links: { removal: 'https://check.spamhaus.org/' },
    firstSeen: at(0).toISOString(),
    lastSeen: at(0).toISOString(),
    ...over,
  };
}

/** A little driver: feeds events with increasing stream ids and collects digests. */
class Driver {
  state: AlertState;
  digests: Digest[] = [];
  private seq = 0;
  constructor(
    readonly s: AlertSettings = settings,
    start = at(0),
  ) {
    this.state = freshState(start);
  }
  feed(min: number, events: IssueEvent[]): Digest[] {
    const batch: StreamEvent[] = events.map((event) => ({ id: `${t0 + min * 60_000}-${this.seq++}`, event }));
    const r = step(this.state, batch, at(min), this.s);
    this.state = r.state;
    this.digests.push(...r.digests);
    return r.digests;
  }
  /** One run of a source at minute `min`: its change events then the run marker. */
  run(min: number, changes: IssueEvent[] = [], status: 'ok' | 'partial' | 'failed' = 'ok', source = 'reputation', first = false): Digest[] {
    const when = at(min).toISOString();
    const runId = `r${min}`;
    return this.feed(min, [
      ...changes.map((e) => ({ ...e, at: when, runId })),
      { type: 'run', at: when, source, runId, run: { status, opened: 0, changed: 0, resolved: 0, open: 0, ...(first ? { first: true as const } : {}) } },
    ]);
  }
}

const opened = (issue: OpenIssue): IssueEvent => ({ type: 'opened', at: '', source: issue.source, issue });
const resolved = (issue: OpenIssue): IssueEvent => ({ type: 'resolved', at: '', source: issue.source, issue });
const changed = (issue: OpenIssue, prev: OpenIssue): IssueEvent => ({
  type: 'changed',
  at: '',
  source: issue.source,
  issue,
  previous: { state: prev.state, severity: prev.severity },
});
const entries = (ds: Digest[]) => ds.flatMap((d) => d.entries.map((e) => `${e.change} ${e.issue.id}`));

describe('alert engine', () => {
  it('stays silent on the first run of a source (everything would be new)', () => {
    const d = new Driver();
    d.run(0, [opened(listing('192.0.2.1', 'zen.spamhaus.org')), opened(listing('192.0.2.2', 'bl.spamcop.net'))]);
    d.run(5);
    d.run(30);
    expect(d.digests).toEqual([]);
    expect(d.state.issues['rbl:zen.spamhaus.org:192.0.2.1']!.alerted).toBe('problem');
  });

  it("a source's own first run (run.first, its stored set was lost) is a baseline too: what it finds is not new, what it lost is forgotten", () => {
    const d = new Driver({ ...settings, confirmRuns: 1, digestS: 0, remindS: 3600 });
    const a = listing('192.0.2.1', 'zen.spamhaus.org');
    const b = listing('192.0.2.2', 'zen.spamhaus.org');
    const c = listing('192.0.2.3', 'zen.spamhaus.org');
    d.run(0, [opened(a)], 'ok', 'reputation', true);
    d.run(5, [opened(b)]);
    expect(entries(d.digests)).toEqual([`opened ${b.id}`]);
    // The source starts over: b is reported again, c is found, a is not reported (no resolved event).
    d.run(10, [opened(b), opened(c)], 'ok', 'reputation', true);
    expect(d.digests).toHaveLength(1);
    expect(Object.keys(d.state.issues).sort()).toEqual([b.id, c.id]);
    d.feed(70, []); // b and c remind as before; a, gone, never does
    expect(entries(d.digests.slice(1)).sort()).toEqual([`reminder ${b.id}`, `reminder ${c.id}`]);
  });

  it('alerts a change seen in confirm_runs consecutive runs, once, after the digest window', () => {
    const d = new Driver();
    d.run(0);
    const l = listing('192.0.2.1', 'zen.spamhaus.org');
    d.run(5, [opened(l)]);
    expect(d.digests).toEqual([]); // seen once: not yet
    d.run(10); // seen twice: confirmed, digest window opens
    expect(d.digests).toEqual([]);
    d.feed(19, []);
    expect(d.digests).toEqual([]);
    d.feed(20, []); // 600 s after the window opened
    expect(entries(d.digests)).toEqual(['opened rbl:zen.spamhaus.org:192.0.2.1']);
    const e = d.digests[0]!.entries[0]!;
    expect(e.old).toBeNull();
    expect(e.new).toEqual({ state: 'listed: 127.0.0.2 SBL', severity: 'problem' });
    d.run(15);
    d.run(20);
    d.feed(60, []);
    expect(d.digests).toHaveLength(1);
  });

  it('suppresses a flap shorter than confirm_runs, in both directions', () => {
    const d = new Driver({ ...settings, confirmRuns: 3, digestS: 0 });
    const l = listing('192.0.2.1', 'zen.spamhaus.org');
    d.run(0);
    d.run(5, [opened(l)]);
    d.run(10);
    d.run(15, [resolved(l)]); // back before the third run
    d.run(20);
    d.run(25);
    expect(d.digests).toEqual([]);
    expect(d.state.issues[l.id]).toBeUndefined(); // forgotten

    // An alerted listing that disappears for one run is not "resolved".
    d.run(30, [opened(l)]);
    d.run(35);
    d.run(40);
    expect(entries(d.digests)).toEqual([`opened ${l.id}`]);
    d.run(45, [resolved(l)]);
    d.run(50, [opened(l)]);
    d.run(55);
    d.run(60);
    expect(d.digests).toHaveLength(1);
  });

  it('a failed run neither confirms nor resets; an undetermined issue keeps its verdict', () => {
    const d = new Driver({ ...settings, digestS: 0 });
    const l = listing('192.0.2.1', 'zen.spamhaus.org');
    d.run(0);
    d.run(5, [opened(l)]);
    d.run(10, [], 'failed');
    expect(d.digests).toEqual([]);
    expect(d.state.issues[l.id]!.pending).toEqual({ verdict: 'problem', runs: 1 });
    d.run(15, [], 'partial'); // the DNSBL timed out for this IP: the diff kept it open, no event
    expect(entries(d.digests)).toEqual([`opened ${l.id}`]);
    // Timeouts for many runs: still open, never resolved.
    for (let m = 20; m < 60; m += 5) d.run(m, [], 'partial');
    expect(d.digests).toHaveLength(1);
    expect(d.state.issues[l.id]!.alerted).toBe('problem');
  });

  it('groups the changes of one digest window into one message; resolutions too', () => {
    const d = new Driver({ ...settings, confirmRuns: 1 });
    const a = listing('192.0.2.1', 'zen.spamhaus.org');
    const b = listing('192.0.2.1', 'bl.spamcop.net');
    const c = listing('192.0.2.9', 'b.barracudacentral.org', { host: 'mta1', severity: 'warning' });
    d.run(0, [opened(c)]);
    d.run(5, [opened(a)]);
    d.run(8, [opened(b), resolved(c)]);
    d.feed(14, []);
    expect(d.digests).toEqual([]);
    d.feed(15, []);
    expect(d.digests).toHaveLength(1);
    expect(entries(d.digests).sort()).toEqual([`opened ${a.id}`, `opened ${b.id}`, `resolved ${c.id}`].sort());
    // The maillog source joins the same window scheme independently.
    const blk: OpenIssue = { id: 'block:gmail:mta2', kind: 'block', severity: 'problem', source: 'maillog', host: 'mta2', provider: 'gmail', state: 'blocked', firstSeen: at(20).toISOString(), lastSeen: at(20).toISOString() };
    d.run(20, [], 'ok', 'maillog');
    d.run(21, [opened(blk)], 'ok', 'maillog');
    d.run(22, [resolved(a)]);
    d.feed(31, []);
    expect(entries(d.digests.slice(1))).toEqual([`opened ${blk.id}`, `resolved ${a.id}`]);
  });

  it('orders a digest the same whichever source finished first: new trouble, problems, listings before blocks', () => {
    const blk: OpenIssue = { id: 'block:hotmail:mx', kind: 'block', severity: 'problem', source: 'maillog', host: 'mx', provider: 'hotmail', state: 'blocked', firstSeen: at(0).toISOString(), lastSeen: at(0).toISOString() };
    const lst = listing('192.0.2.1', 'bl.spamcop.net');
    const warn = listing('192.0.2.2', 'b.barracudacentral.org', { severity: 'warning' });
    const gone = listing('192.0.2.3', 'zen.spamhaus.org');
    const orders = [
      ['maillog', 'reputation'],
      ['reputation', 'maillog'],
    ].map(([first, second]) => {
      const d = new Driver({ ...settings, confirmRuns: 1 });
      d.run(0, [], 'ok', 'maillog');
      d.run(0);
      d.run(1, [opened(gone)]);
      d.feed(12, []); // its own digest
      const changes: Record<string, IssueEvent[]> = { maillog: [opened(blk)], reputation: [opened(warn), resolved(gone), opened(lst)] };
      d.run(20, changes[first!], 'ok', first);
      d.run(20, changes[second!], 'ok', second);
      d.feed(40, []);
      return entries(d.digests.slice(-1));
    });
    expect(orders[0]).toEqual([`opened ${lst.id}`, `opened ${blk.id}`, `opened ${warn.id}`, `resolved ${gone.id}`]);
    expect(orders[1]).toEqual(orders[0]);
  });

  it('min_severity: warnings do not alert; warning -> problem opens, problem -> warning closes', () => {
    const d = new Driver({ ...settings, confirmRuns: 1, digestS: 0, minSeverity: 'problem' });
    const w = listing('192.0.2.1', 'b.barracudacentral.org', { severity: 'warning', state: 'listed: 127.0.0.2' });
    d.run(0);
    d.run(5, [opened(w)]);
    expect(d.digests).toEqual([]);
    const p = { ...w, severity: 'problem' as const, state: 'listed on 2 lists' };
    d.run(10, [changed(p, w)]);
    expect(entries(d.digests)).toEqual([`opened ${w.id}`]);
    d.run(15, [changed(w, p)]);
    expect(entries(d.digests)).toEqual([`opened ${w.id}`, `resolved ${w.id}`]);
    expect(d.digests[1]!.entries[0]!.new).toEqual({ state: 'listed: 127.0.0.2', severity: 'warning' });
  });

  it('a change of the state text alone does not alert; a change of severity does', () => {
    const d = new Driver({ ...settings, confirmRuns: 1, digestS: 0 });
    const s1: OpenIssue = { id: 'score:192.0.2.1', kind: 'score', severity: 'warning', source: 'reputation', host: 'mta2', ip: '192.0.2.1', state: 'score 60', firstSeen: at(0).toISOString(), lastSeen: at(0).toISOString() };
    d.run(0);
    d.run(5, [opened(s1)]);
    const s2 = { ...s1, state: 'score 58' };
    d.run(10, [changed(s2, s1)]);
    const s3 = { ...s1, state: 'score 20', severity: 'problem' as const };
    d.run(15, [changed(s3, s2)]);
    expect(entries(d.digests)).toEqual([`opened ${s1.id}`, `changed ${s1.id}`]);
    expect(d.digests[1]!.entries[0]!.old).toEqual({ state: 'score 60', severity: 'warning' });
    expect(d.digests[1]!.entries[0]!.new).toEqual({ state: 'score 20', severity: 'problem' });
  });

  it('quiet kinds and zones never alert', () => {
    const d = new Driver({ ...settings, confirmRuns: 1, digestS: 0, quiet: ['zen.spamhaus.org', 'dns_mismatch'] });
    d.run(0);
    const dm: OpenIssue = { id: 'dns:mta2', kind: 'dns_mismatch', severity: 'warning', source: 'reputation', host: 'mta2', state: 'PTR mismatch', firstSeen: '', lastSeen: '' };
    d.run(5, [opened(listing('192.0.2.1', 'zen.spamhaus.org')), opened(dm), opened(listing('192.0.2.1', 'bl.spamcop.net'))]);
    expect(entries(d.digests)).toEqual(['opened rbl:bl.spamcop.net:192.0.2.1']);
  });

  it('reminds an open, unacknowledged problem every remind_s; an acknowledged one stays silent and the message says who acknowledged', () => {
    const d = new Driver({ ...settings, confirmRuns: 1, digestS: 0, remindS: 3600 });
    const p = listing('192.0.2.1', 'zen.spamhaus.org');
    const w = listing('192.0.2.1', 'b.barracudacentral.org', { severity: 'warning' });
    d.run(0);
    d.run(5, [opened(p), opened(w)]);
    expect(d.digests).toHaveLength(1);
    d.feed(64, []);
    expect(d.digests).toHaveLength(1);
    d.feed(65, []); // one hour after it was told
    expect(entries(d.digests.slice(1))).toEqual([`reminder ${p.id}`]); // the warning is not repeated
    d.feed(125, []);
    expect(d.digests).toHaveLength(3);
    d.feed(130, [{ type: 'acknowledged', at: at(130).toISOString(), source: 'reputation', issue: p, by: 'alice' }]);
    d.feed(300, []);
    d.feed(600, []);
    expect(d.digests).toHaveLength(3);
    d.run(610, [resolved(p)]);
    expect(entries(d.digests.slice(3))).toEqual([`resolved ${p.id}`]);
    expect(d.digests[3]!.entries[0]!.acknowledgedBy).toBe('alice');
  });

  it('remind_s 0 never reminds', () => {
    const d = new Driver({ ...settings, confirmRuns: 1, digestS: 0, remindS: 0 });
    d.run(0);
    d.run(5, [opened(listing('192.0.2.1', 'zen.spamhaus.org'))]);
    d.feed(60 * 24 * 30, []);
    expect(d.digests).toHaveLength(1);
  });

  it("dead man's switch: three intervals without a successful run alert at once, and the return too", () => {
    const d = new Driver({ ...settings, digestS: 600, intervalOf: () => 300 });
    d.run(0);
    d.run(5, [], 'failed');
    d.run(10, [], 'failed');
    d.feed(15, []);
    expect(d.digests).toEqual([]); // 15 min = exactly three intervals of 300 s: not more
    d.feed(16, []);
    expect(entries(d.digests)).toEqual(['collector_silent collector:reputation']);
    expect(d.digests[0]!.entries[0]!.issue.state).toBe(`no successful run of reputation since ${at(0).toISOString()}`);
    d.feed(60, []);
    expect(d.digests).toHaveLength(1);
    d.run(61);
    expect(entries(d.digests.slice(1))).toEqual(['collector_back collector:reputation']);
  });

  it("dead man's switch: a collector that never ran at all alerts as well", () => {
    const d = new Driver({ ...settings, intervalOf: () => 300 });
    d.feed(15, []);
    expect(d.digests).toEqual([]);
    d.feed(16, []);
    expect(entries(d.digests)).toEqual(['collector_silent collector:*']);
    d.run(20);
    expect(entries(d.digests.slice(1))).toEqual(['collector_back collector:*']);
  });

  it('does not change its input and survives a round trip through JSON', () => {
    const d = new Driver({ ...settings, confirmRuns: 2 });
    d.run(0);
    d.run(5, [opened(listing('192.0.2.1', 'zen.spamhaus.org'))]);
    const before = JSON.stringify(d.state);
    const again = parseState(before);
    step(again, [], at(6), settings);
    expect(again).toEqual(JSON.parse(before));
    expect(() => parseState('{"version":1}')).toThrow(/createdAt/);
    expect(() => parseState('nope')).toThrow(/not JSON/);
  });

  it('advance (the collector\'s step on a state it owns) changes that state in place and ends where step ends', () => {
    const d = new Driver({ ...settings, confirmRuns: 1, digestS: 0 });
    d.run(0);
    const text = JSON.stringify(d.state);
    const batch: StreamEvent[] = [
      { id: `${t0 + 5 * 60_000}-0`, event: { ...opened(listing('192.0.2.1', 'zen.spamhaus.org')), at: at(5).toISOString(), runId: 'r5' } },
      { id: `${t0 + 5 * 60_000}-1`, event: { type: 'run', at: at(5).toISOString(), source: 'reputation', runId: 'r5', run: { status: 'ok', opened: 1, changed: 0, resolved: 0, open: 1 } } },
    ];
    const viaStep = step(parseState(text), batch, at(5), d.s);
    const owned = parseState(text);
    const viaAdvance = advance(owned, batch, at(5), d.s);
    expect(viaAdvance.state).toBe(owned);
    expect(viaAdvance).toEqual(viaStep);
    expect(entries(viaAdvance.digests)).toEqual(['opened rbl:zen.spamhaus.org:192.0.2.1']);
  });
});
