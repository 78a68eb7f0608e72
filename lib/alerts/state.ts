/**
 * The alert engine's memory, stored as one JSON value (keys.alertsState) together with the stream
 * position it has consumed up to, so that reading, judging and queueing happen exactly once per event.
 * Validated when read (zod): a corrupt value is reported and replaced by a fresh state, which starts
 * silent (first run of each source = baseline) rather than alerting on everything.
 */
import * as z from 'zod';
import type { IssueSeverity, OpenIssue } from '../events.js';

/** What the alerts say about an issue: closed, or open at a severity (after quiet/min_severity). */
export type Verdict = 'closed' | IssueSeverity;

export type ChangeType = 'opened' | 'changed' | 'resolved' | 'reminder' | 'collector_silent' | 'collector_back';

/** One line of a message: a confirmed change (or a reminder) of one issue. */
export interface AlertEntry {
  change: ChangeType;
  /** The issue as it is now (resolved: as last seen). */
  issue: OpenIssue;
  /** State before the change (null: it was not open). */
  old: { state: string; severity: IssueSeverity } | null;
  /** State after (null: resolved). */
  new: { state: string; severity: IssueSeverity } | null;
  /** When the change was confirmed (ISO). */
  at: string;
  acknowledgedBy?: string;
}

/** One message's content: every entry of one digest window. Its id makes deliveries idempotent. */
export interface Digest {
  id: string;
  createdAt: string;
  entries: AlertEntry[];
}

export interface TrackedIssue {
  /** Newest snapshot from the events. */
  issue: OpenIssue;
  /** Open right now according to the events. */
  open: boolean;
  /** What was last told (or taken as baseline). */
  alerted: Verdict;
  /** State and severity as last told, for the "old state" of the next change. */
  told?: { state: string; severity: IssueSeverity };
  /** A different verdict seen in `runs` consecutive runs of the issue's source, not yet confirmed. */
  pending?: { verdict: Verdict; runs: number };
  ack?: { by: string; at: string };
  /** When the issue was last told about (open alert or reminder): the remind clock. */
  toldAt?: string;
  /** The run of the newest event about it. */
  runId?: string;
}

export interface SourceState {
  /** The first run has been seen: later changes may alert. */
  baseline: boolean;
  lastRunAt?: string;
  lastStatus?: 'ok' | 'partial' | 'failed';
  lastSuccessAt?: string;
}

export interface AlertState {
  version: 1;
  createdAt: string;
  /** Stream id consumed up to ('0' = nothing yet). */
  position: string;
  sources: Record<string, SourceState>;
  issues: Record<string, TrackedIssue>;
  /** The open digest window, or null. */
  digest: { openedAt: string; urgent: boolean; entries: AlertEntry[] } | null;
  /** Dead man's switch alerts currently open, per source ('*' = no run of any source ever). */
  dead: Record<string, { since: string; toldAt: string }>;
  /** Digest counter (ids never repeat). */
  seq: number;
}

export function freshState(now: Date): AlertState {
  return { version: 1, createdAt: now.toISOString(), position: '0', sources: {}, issues: {}, digest: null, dead: {}, seq: 0 };
}

const severity = z.enum(['warning', 'problem']);
const verdict = z.enum(['closed', 'warning', 'problem']);
const stateSev = z.object({ state: z.string(), severity });
const openIssue = z
  .object({
    id: z.string(),
    kind: z.string(),
    severity,
    source: z.string(),
    state: z.string(),
    firstSeen: z.string(),
    lastSeen: z.string(),
  })
  .passthrough();
const entry = z.object({
  change: z.enum(['opened', 'changed', 'resolved', 'reminder', 'collector_silent', 'collector_back']),
  issue: openIssue,
  old: stateSev.nullable(),
  new: stateSev.nullable(),
  at: z.string(),
  acknowledgedBy: z.string().optional(),
});

const stateSchema = z.object({
  version: z.literal(1),
  createdAt: z.string(),
  position: z.string(),
  sources: z.record(
    z.string(),
    z.object({
      baseline: z.boolean(),
      lastRunAt: z.string().optional(),
      lastStatus: z.enum(['ok', 'partial', 'failed']).optional(),
      lastSuccessAt: z.string().optional(),
    }),
  ),
  issues: z.record(
    z.string(),
    z.object({
      issue: openIssue,
      open: z.boolean(),
      alerted: verdict,
      told: stateSev.optional(),
      pending: z.object({ verdict, runs: z.number() }).optional(),
      ack: z.object({ by: z.string(), at: z.string() }).optional(),
      toldAt: z.string().optional(),
      runId: z.string().optional(),
    }),
  ),
  digest: z.object({ openedAt: z.string(), urgent: z.boolean(), entries: z.array(entry) }).nullable(),
  dead: z.record(z.string(), z.object({ since: z.string(), toldAt: z.string() })),
  seq: z.number(),
});

/** Parse a stored state; throws an Error naming what is wrong. */
export function parseState(text: string): AlertState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON: ${(e as Error).message}`);
  }
  const r = stateSchema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0]!;
    throw new Error(`${first.path.join('.') || '(root)'}: ${first.message}`);
  }
  return r.data as AlertState;
}
