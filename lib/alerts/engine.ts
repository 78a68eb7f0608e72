/**
 * The alert rules, as one pure function: (state, new events, now) -> (state, digests to send).
 *
 * - A source's first run seen is the baseline: what is open then is taken as known, nothing alerts.
 * - A change alerts once the new verdict has been seen at `confirmRuns` consecutive runs of the
 *   issue's source; a flap back within fewer runs is forgotten. A failed run counts for nothing, and
 *   since an undetermined issue keeps its last verdict in the events (the diff never resolves on a
 *   timeout), an error never resolves anything here either.
 * - The verdict is closed / warning / problem after `quiet` and `minSeverity`: a change of the state
 *   text alone (score 42 -> 41) does not alert; warning -> problem does.
 * - Confirmed changes collect in a digest window of `digestS`, sent as one message when it ends.
 * - An open, unacknowledged `problem` is repeated every `remindS` (0 = never).
 * - Dead man's switch: no successful run (status ok/partial) of a source for three of its intervals
 *   alerts at once, and so does its return.
 */
import { knownIssueKinds, type IssueEvent, type IssueSeverity, type OpenIssue } from '../events.js';
import type { AlertEntry, AlertState, Digest, TrackedIssue, Verdict } from './state.js';

export interface AlertSettings {
  confirmRuns: number;
  digestS: number;
  remindS: number;
  minSeverity: IssueSeverity;
  /** Lower-case issue kinds or zones that never alert. */
  quiet: readonly string[];
  /** A source's run interval in seconds (dead man's switch: three of them without a good run). */
  intervalOf: (source: string) => number;
}

/** Events as read from the stream, each with its stream id. */
export interface StreamEvent {
  id: string;
  event: IssueEvent;
}

const deadIntervals = 3;
const anySource = '*';

function isQuiet(issue: OpenIssue, s: AlertSettings): boolean {
  const q = s.quiet;
  return q.includes(issue.kind.toLowerCase()) || (issue.zone !== undefined && q.includes(issue.zone.toLowerCase()));
}

/** What the alerts should say about an issue now. */
export function verdictOf(t: Pick<TrackedIssue, 'open' | 'issue'>, s: AlertSettings): Verdict {
  if (!t.open) return 'closed';
  if (s.minSeverity === 'problem' && t.issue.severity !== 'problem') return 'closed';
  return t.issue.severity;
}

function clone(state: AlertState): AlertState {
  return structuredClone(state);
}

/** Apply one stream event to the tracked issues (no judgement yet: that happens at `run` markers). */
function apply(state: AlertState, e: IssueEvent): void {
  const issue = e.issue;
  if (!issue) return;
  const t = state.issues[issue.id];
  if (e.type !== 'acknowledged') {
    if (t) {
      if (e.runId !== undefined) t.runId = e.runId;
      else delete t.runId;
    }
  }
  switch (e.type) {
    case 'opened':
    case 'changed':
      if (t) {
        t.issue = issue;
        t.open = true;
      } else {
        // Unknown until now (first run, or the stream was trimmed before we read it): for a change, what
        // it was before is the best guess of what was told; a newly opened issue was closed.
        const before = e.type === 'changed' && e.previous ? { state: e.previous.state, severity: e.previous.severity } : undefined;
        state.issues[issue.id] = {
          issue,
          open: true,
          alerted: before ? before.severity : 'closed',
          ...(before ? { told: before, toldAt: e.at } : {}),
          ...(e.runId !== undefined ? { runId: e.runId } : {}),
        };
      }
      break;
    case 'resolved':
      if (t) {
        t.issue = issue;
        t.open = false;
      } else state.issues[issue.id] = { issue, open: false, alerted: 'closed', ...(e.runId !== undefined ? { runId: e.runId } : {}) };
      break;
    case 'acknowledged':
      if (t) t.ack = { by: e.by ?? 'someone', at: e.at };
      break;
    default:
      break;
  }
}

function entryFor(t: TrackedIssue, to: Verdict, at: string): AlertEntry {
  const now = { state: t.issue.state, severity: t.issue.severity };
  const old = t.alerted === 'closed' ? null : (t.told ?? { state: t.issue.state, severity: t.alerted });
  const change = to === 'closed' ? 'resolved' : t.alerted === 'closed' ? 'opened' : 'changed';
  return {
    change,
    issue: t.issue,
    old,
    new: to === 'closed' && !t.open ? null : now,
    at,
    ...(t.ack ? { acknowledgedBy: t.ack.by } : {}),
  };
}

/** A run of `source` ended: count it for every issue of that source; confirm what has been seen enough. */
function judgeRun(state: AlertState, e: IssueEvent, s: AlertSettings, out: AlertEntry[]): void {
  const status = e.run?.status ?? 'ok';
  const src = (state.sources[e.source] ??= { baseline: false });
  src.lastRunAt = e.at;
  src.lastStatus = status;
  if (status === 'failed') return; // a failed run saw nothing: it neither confirms nor refutes
  src.lastSuccessAt = e.at;
  for (const key of [e.source, anySource]) {
    const dead = state.dead[key];
    if (!dead) continue;
    delete state.dead[key];
    out.push(collectorEntry('collector_back', key, dead.since, e.at));
  }
  // The source's own first run (`run.first`: it had no stored open set, e.g. after install or after
  // its set was unreadable) reports the state found, not changes: a baseline like our own first run.
  // Issues it did not report again are gone without a `resolved` event: forget them silently.
  const baseline = !src.baseline || e.run?.first === true;
  src.baseline = true;
  if (e.run?.first === true) {
    for (const [id, t] of Object.entries(state.issues)) {
      if (t.issue.source === e.source && t.runId !== e.runId) delete state.issues[id];
    }
  }
  for (const t of Object.values(state.issues)) {
    if (t.issue.source !== e.source || isQuiet(t.issue, s)) continue;
    const v = verdictOf(t, s);
    if (baseline) {
      t.alerted = v;
      delete t.pending;
      if (v !== 'closed') {
        t.told = { state: t.issue.state, severity: t.issue.severity };
        t.toldAt = e.at;
      }
      continue;
    }
    if (v === t.alerted) {
      delete t.pending; // a flap that came back before it was confirmed
      continue;
    }
    t.pending = t.pending?.verdict === v ? { verdict: v, runs: t.pending.runs + 1 } : { verdict: v, runs: 1 };
    if (t.pending.runs < s.confirmRuns) continue;
    out.push(entryFor(t, v, e.at));
    t.alerted = v;
    delete t.pending;
    if (v === 'closed') {
      delete t.told;
      delete t.toldAt;
      delete t.ack;
    } else {
      t.told = { state: t.issue.state, severity: t.issue.severity };
      t.toldAt = e.at;
    }
  }
  // Closed and fully told issues need no memory.
  for (const [id, t] of Object.entries(state.issues)) {
    if (!t.open && t.alerted === 'closed' && !t.pending) delete state.issues[id];
  }
}

function collectorEntry(change: 'collector_silent' | 'collector_back', source: string, since: string, at: string): AlertEntry {
  const name = source === anySource ? 'any source' : source;
  const issue: OpenIssue = {
    id: `collector:${source}`,
    kind: 'collector_silent',
    severity: 'problem',
    source,
    state: change === 'collector_silent' ? `no successful run of ${name} since ${since}` : `${name} runs again`,
    firstSeen: since,
    lastSeen: at,
  };
  const st = { state: `no successful run since ${since}`, severity: 'problem' as const };
  return change === 'collector_silent'
    ? { change, issue, old: null, new: st, at }
    : { change, issue, old: st, new: null, at };
}

/** Open dead man's switch alerts for sources (or the whole collector) silent for three intervals. */
function checkDead(state: AlertState, now: Date, s: AlertSettings, out: AlertEntry[]): void {
  const at = now.toISOString();
  const names = Object.keys(state.sources);
  const candidates: [string, string][] =
    names.length === 0
      ? [[anySource, state.createdAt]]
      : names.map((n) => [n, state.sources[n]!.lastSuccessAt ?? state.createdAt]);
  for (const [name, since] of candidates) {
    if (state.dead[name]) continue;
    const limitMs = deadIntervals * s.intervalOf(name === anySource ? '' : name) * 1000;
    if (now.getTime() - Date.parse(since) <= limitMs) continue;
    state.dead[name] = { since, toldAt: at };
    out.push(collectorEntry('collector_silent', name, since, at));
  }
}

/** Reminders for open, unacknowledged problems told about more than `remindS` ago. */
function remind(state: AlertState, now: Date, s: AlertSettings, out: AlertEntry[]): void {
  if (s.remindS <= 0) return;
  const at = now.toISOString();
  for (const t of Object.values(state.issues)) {
    if (t.alerted !== 'problem' || !t.open || t.ack || isQuiet(t.issue, s)) continue;
    if (t.toldAt === undefined || now.getTime() - Date.parse(t.toldAt) < s.remindS * 1000) continue;
    if (out.some((e) => e.issue.id === t.issue.id)) continue;
    if (state.digest?.entries.some((e) => e.issue.id === t.issue.id)) continue;
    const cur = { state: t.issue.state, severity: t.issue.severity };
    out.push({ change: 'reminder', issue: t.issue, old: cur, new: cur, at });
    t.toldAt = at;
  }
}

const kindRank = new Map<string, number>(knownIssueKinds.map((k, i) => [k, i]));
const rankOf = (e: AlertEntry) => kindRank.get(e.issue.kind) ?? knownIssueKinds.length;

/** New trouble first, then what is still open, then what got better. */
const changeRank: Record<AlertEntry['change'], number> = { opened: 0, changed: 0, collector_silent: 0, reminder: 1, resolved: 2, collector_back: 2 };

/**
 * A digest's entries: new trouble before reminders before resolutions, problems before warnings,
 * then by kind (listings, blocks, ...) and issue id. The sources run side by side, so the stream's
 * order of their events is the order they happened to finish in: the same changes gave "listed on
 * bl.test, blocked by hotmail" or the reverse from run to run. The sort is stable: one issue's
 * entries keep the order they happened in.
 */
function ordered(entries: readonly AlertEntry[]): AlertEntry[] {
  const sev = (e: AlertEntry) => (e.issue.severity === 'problem' ? 0 : 1);
  return [...entries].sort(
    (a, b) => changeRank[a.change] - changeRank[b.change] || sev(a) - sev(b) || rankOf(a) - rankOf(b) || (a.issue.id < b.issue.id ? -1 : a.issue.id > b.issue.id ? 1 : 0),
  );
}

/**
 * Consume `events` (in stream order) at time `now`. Returns the new state (the input is not changed)
 * and the digests whose window has ended, each to be sent once on every channel.
 */
export function step(input: AlertState, events: readonly StreamEvent[], now: Date, s: AlertSettings): { state: AlertState; digests: Digest[] } {
  return advance(clone(input), events, now, s);
}

/**
 * `step` on a state the caller owns and gives up: it is changed in place and returned, with no copy
 * made (the collector's state of 2,000 open issues took ~25 ms to copy per batch of events).
 */
export function advance(state: AlertState, events: readonly StreamEvent[], now: Date, s: AlertSettings): { state: AlertState; digests: Digest[] } {
  const found: AlertEntry[] = [];
  for (const { id, event } of events) {
    if (event.type === 'run') judgeRun(state, event, s, found);
    else apply(state, event);
    state.position = id;
  }
  checkDead(state, now, s, found);
  remind(state, now, s, found);

  if (found.length > 0) {
    const urgent = found.some((e) => e.change === 'collector_silent' || e.change === 'collector_back');
    if (state.digest) {
      state.digest.entries.push(...found);
      state.digest.urgent ||= urgent;
    } else state.digest = { openedAt: now.toISOString(), urgent, entries: found };
  }
  const digests: Digest[] = [];
  const d = state.digest;
  if (d && (d.urgent || now.getTime() - Date.parse(d.openedAt) >= s.digestS * 1000)) {
    state.seq += 1;
    digests.push({ id: `${Date.parse(d.openedAt).toString(36)}-${state.seq}`, createdAt: now.toISOString(), entries: ordered(d.entries) });
    state.digest = null;
  }
  return { state, digests };
}

/** When the open digest window ends (ISO), or null: the runner's timer uses it. */
export function digestDueAt(state: AlertState, s: AlertSettings): string | null {
  if (!state.digest) return null;
  return new Date(Date.parse(state.digest.openedAt) + s.digestS * 1000).toISOString();
}
