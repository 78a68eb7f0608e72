/**
 * The difference between a source's stored open issues and what its newest run saw (pure): the new
 * open set (first seen kept, last seen moved on) and the events to append. Rules:
 * - an issue seen now and not before is `opened`; seen before with another state or severity is
 *   `changed`; seen before unchanged gives no event;
 * - an issue seen before and not now is `resolved`, unless the run could not judge it (`undetermined`:
 *   an exact id or an id prefix ending in ':'), in which case it stays open with its last verdict;
 * - only the owning source resolves: a stored issue of another source is kept untouched;
 * - every run appends one `run` event, flagged `first` when the source had no stored set before (the
 *   first run after install: everything is "new", alerting skips it).
 */
import type { IssueEvent, OpenIssue, SourceIssues } from './events.js';

export interface IssueDiff {
  /** The open set to store for this source, sorted by id. */
  open: OpenIssue[];
  /** The events to append, in this order: opened, changed, resolved, then the `run` marker. */
  events: IssueEvent[];
}

export interface DiffOptions {
  /** How the run ended (the `run` event carries it). */
  status: 'ok' | 'partial' | 'failed';
  /** True when the source has no stored open set yet (first run after install). */
  first: boolean;
}

/** Whether `id` is covered by one of the undetermined ids or prefixes. */
export function isUndetermined(id: string, undetermined: ReadonlySet<string> | readonly string[]): boolean {
  const list = undetermined instanceof Set ? undetermined : new Set(undetermined as readonly string[]);
  if (list.has(id) || list.has('*')) return true;
  // Prefixes end in ':'; try every ':'-delimited prefix of the id.
  for (let i = id.indexOf(':'); i !== -1; i = id.indexOf(':', i + 1)) {
    if (list.has(id.slice(0, i + 1))) return true;
  }
  return false;
}

/**
 * The new open set and the events of one source run. `prev` is the stored open set of this source
 * (issues of other sources in it are kept as they are, never resolved here).
 */
export function diffIssues(prev: readonly OpenIssue[], next: SourceIssues, opts: DiffOptions): IssueDiff {
  const before = new Map(prev.map((i) => [i.id, i]));
  const undetermined = new Set(next.undetermined);
  const open = new Map<string, OpenIssue>();
  const opened: IssueEvent[] = [];
  const changed: IssueEvent[] = [];
  const resolved: IssueEvent[] = [];
  const base = { at: next.at, source: next.source, runId: next.runId };

  for (const seen of next.open) {
    if (open.has(seen.id)) continue; // a source listing one issue twice: the first wins
    const old = before.get(seen.id);
    if (old === undefined) {
      const issue: OpenIssue = { ...seen, source: next.source, firstSeen: next.at, lastSeen: next.at };
      open.set(issue.id, issue);
      opened.push({ type: 'opened', ...base, issue });
      continue;
    }
    const issue: OpenIssue = { ...seen, source: next.source, firstSeen: old.firstSeen, lastSeen: next.at };
    open.set(issue.id, issue);
    if (old.state !== seen.state || old.severity !== seen.severity) {
      changed.push({ type: 'changed', ...base, issue, previous: { state: old.state, severity: old.severity } });
    }
  }

  for (const old of prev) {
    if (open.has(old.id)) continue;
    if (old.source !== next.source || isUndetermined(old.id, undetermined)) {
      open.set(old.id, old);
      continue;
    }
    resolved.push({ type: 'resolved', ...base, issue: old });
  }

  const sorted = [...open.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const run: IssueEvent = {
    type: 'run',
    ...base,
    run: { status: opts.status, opened: opened.length, changed: changed.length, resolved: resolved.length, open: sorted.length, ...(opts.first ? { first: true } : {}) },
  };
  return { open: sorted, events: [...opened, ...changed, ...resolved, run] };
}
