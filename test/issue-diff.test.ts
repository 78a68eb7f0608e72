/** The pure issue diff (lib/issue-diff.ts): which events a source run gives, and the open set it leaves. */
import { describe, expect, it } from 'vitest';
import type { OpenIssue, SourceIssues } from '../lib/events.js';
import { diffIssues, isUndetermined } from '../lib/issue-diff.js';

const T0 = '2024-05-01T10:00:00.000Z';
const T1 = '2024-05-01T10:15:00.000Z';

function issue(id: string, over: Partial<OpenIssue> = {}): OpenIssue {
  return { id, kind: 'listing', severity: 'problem', source: 'reputation', host: 'mx1', state: 'listed: 127.0.0.2', firstSeen: T0, lastSeen: T0, ...over };
}
function run(open: OpenIssue[], undetermined: string[] = [], at = T1): SourceIssues {
  return { source: 'reputation', runId: 'run-2', at, open: open.map((i) => ({ ...i, firstSeen: at, lastSeen: at })), undetermined };
}
const types = (d: ReturnType<typeof diffIssues>) => d.events.map((e) => `${e.type}${e.issue ? ` ${e.issue.id}` : ''}`);
const ok = { status: 'ok', first: false } as const;

describe('diffIssues', () => {
  it('a new issue is opened, first and last seen now; the run event counts it', () => {
    const d = diffIssues([], run([issue('rbl:a:1')]), ok);
    expect(types(d)).toEqual(['opened rbl:a:1', 'run']);
    expect(d.open).toEqual([issue('rbl:a:1', { firstSeen: T1, lastSeen: T1 })]);
    expect(d.events[1]).toMatchObject({ type: 'run', source: 'reputation', runId: 'run-2', at: T1, run: { status: 'ok', opened: 1, changed: 0, resolved: 0, open: 1 } });
    expect(d.events[1]!.run).not.toHaveProperty('first');
  });

  it('an issue seen again unchanged gives no event and keeps its first seen', () => {
    const d = diffIssues([issue('rbl:a:1')], run([issue('rbl:a:1', { detail: 'new TXT' })]), ok);
    expect(types(d)).toEqual(['run']);
    expect(d.open).toEqual([issue('rbl:a:1', { lastSeen: T1, detail: 'new TXT' })]);
  });

  it('a new state or severity is changed, with the previous one', () => {
    const d = diffIssues([issue('score:1', { kind: 'score', severity: 'warning', state: 'score 60' })], run([issue('score:1', { kind: 'score', severity: 'warning', state: 'score 40' })]), ok);
    expect(types(d)).toEqual(['changed score:1', 'run']);
    expect(d.events[0]).toMatchObject({ previous: { state: 'score 60', severity: 'warning' }, issue: { state: 'score 40', firstSeen: T0, lastSeen: T1 } });
    const d2 = diffIssues([issue('rbl:a:1', { severity: 'warning' })], run([issue('rbl:a:1')]), ok);
    expect(types(d2)).toEqual(['changed rbl:a:1', 'run']);
  });

  it('an issue no longer seen is resolved, as it was last seen', () => {
    const d = diffIssues([issue('rbl:a:1'), issue('rbl:b:1')], run([issue('rbl:b:1')]), ok);
    expect(types(d)).toEqual(['resolved rbl:a:1', 'run']);
    expect(d.events[0]!.issue).toEqual(issue('rbl:a:1'));
    expect(d.open.map((i) => i.id)).toEqual(['rbl:b:1']);
    expect(d.events.at(-1)!.run).toMatchObject({ resolved: 1, open: 1 });
  });

  it('an undetermined issue (exact id, id prefix, or everything) stays open with its last verdict', () => {
    const prev = [issue('rbl:a:1'), issue('snds:1:filter', { state: 'red' }), issue('dns:1:helo')];
    for (const und of [['rbl:a:1', 'snds:1:', 'dns:1:'], ['*']]) {
      const d = diffIssues(prev, run([], und), ok);
      expect(types(d)).toEqual(['run']);
      expect(d.open).toEqual([...prev].sort((a, b) => a.id.localeCompare(b.id)));
    }
    // A prefix covers only ids under it.
    const d = diffIssues(prev, run([], ['snds:1:', 'rbl:a']), ok);
    expect(types(d)).toEqual(['resolved rbl:a:1', 'resolved dns:1:helo', 'run']);
  });

  it('issues of another source are never resolved here', () => {
    const other = issue('block:gmail:mx1', { source: 'maillog', kind: 'block' });
    const d = diffIssues([other], run([]), ok);
    expect(types(d)).toEqual(['run']);
    expect(d.open).toEqual([other]);
  });

  it('the first run after install flags its run event; a source listing an id twice opens it once', () => {
    const d = diffIssues([], run([issue('rbl:a:1'), issue('rbl:a:1', { state: 'other' })]), { status: 'partial', first: true });
    expect(types(d)).toEqual(['opened rbl:a:1', 'run']);
    expect(d.events.at(-1)!.run).toEqual({ status: 'partial', opened: 1, changed: 0, resolved: 0, open: 1, first: true });
  });

  it('events come opened, changed, resolved, run; the open set is sorted by id', () => {
    const prev = [issue('c', { state: 'x' }), issue('d')];
    const d = diffIssues(prev, run([issue('c', { state: 'y' }), issue('b'), issue('a')]), ok);
    expect(types(d)).toEqual(['opened b', 'opened a', 'changed c', 'resolved d', 'run']);
    expect(d.open.map((i) => i.id)).toEqual(['a', 'b', 'c']);
  });
});

describe('isUndetermined', () => {
  it('matches exact ids and prefixes ending in a colon only', () => {
    expect(isUndetermined('rbl:zen:1.2.3.4', ['rbl:zen:1.2.3.4'])).toBe(true);
    expect(isUndetermined('dns:1.2.3.4:helo', ['dns:1.2.3.4:'])).toBe(true);
    expect(isUndetermined('dns:1.2.3.45:helo', ['dns:1.2.3.4:'])).toBe(false);
    expect(isUndetermined('dns:1.2.3.4:helo', ['dns:1.2.3.4'])).toBe(false);
    expect(isUndetermined('anything', ['*'])).toBe(true);
    expect(isUndetermined('x', [])).toBe(false);
  });
});
