/**
 * The issue-events contract: what every source reports as open issues after a run, and the events
 * appended to the bounded Redis stream (`keys.events`) when that set changes. Alerting, the Events
 * page, `/api/events` and metrics read these shapes; sources produce them. Types only: the pure diff
 * lives in lib/issue-diff.ts, the stored open sets and the stream in lib/issue-store.ts.
 */

/** The kinds of problem the built-in sources open (alerts.quiet is checked against them). */
export const knownIssueKinds = [
  'listing', // a DNSBL lists an IP (zone)
  'block', // a provider blocks a host (maillog rejection line)
  'dns_mismatch', // rDNS / fDNS / HELO do not match
  'snds', // SNDS filter yellow/red, or the IP is blocked by SNDS
  'snds_traps', // SNDS trap hits over the threshold
  'score', // SenderScore below the threshold
  'zone_unhealthy', // a DNSBL zone failed its self-test: the monitoring is blind there
  'maillog_unreadable', // a host's maillog could not be read
  'probe_failing', // a round-trip probe domain passes its limits
  'esp_failover', // an ESP provider failed and the gateway moved on
] as const;

/** What kind of problem an issue is. Sources may add kinds; consumers show unknown kinds generically. */
export type IssueKind = (typeof knownIssueKinds)[number] | (string & {});

/** `warning` = a yellow row; `problem` = a red row (alerts.min_severity takes the same two words). */
export type IssueSeverity = 'warning' | 'problem';

/** One open issue as a source sees it after a run. */
export interface OpenIssue {
  /** Stable id: the same problem keeps its id across runs (acks attach to it; lib/issues.ts builds them). */
  id: string;
  kind: IssueKind;
  severity: IssueSeverity;
  /** The source that owns it ('reputation', 'maillog', 'probes', ...): only that source's runs resolve it. */
  source: string;
  host?: string;
  ip?: string;
  domain?: string;
  zone?: string;
  provider?: string;
  /** A few words on the current state ("listed: 127.0.0.2 SBL", "red", "score 42"): a change of it is `changed`. */
  state: string;
  /** Longer text: TXT reason, rejection line, DSN diagnostic. Never a secret. */
  detail?: string;
  /** Removal / delist link, runbook link. */
  links?: { removal?: string; runbook?: string };
  /** ISO 8601. */
  firstSeen: string;
  lastSeen: string;
}

/**
 * What one source run could tell. `open` are the issues seen now. `undetermined` are ids (or id
 * prefixes ending in ':'; '*' = everything, as after a failed run) the run could not judge (a DNSBL
 * timeout, an unreadable mailbox): an open issue under them stays open with its last verdict; they
 * never resolve anything.
 */
export interface SourceIssues {
  source: string;
  runId: string;
  at: string;
  open: OpenIssue[];
  undetermined: string[];
}

export type IssueEventType = 'opened' | 'changed' | 'resolved' | 'acknowledged' | 'run';

/** One entry of the events stream. */
export interface IssueEvent {
  type: IssueEventType;
  /** ISO 8601. */
  at: string;
  source: string;
  /** The run that saw the change (absent for acknowledgements made on the dashboard). */
  runId?: string;
  /** The issue as it is now (for `resolved`: as it was last seen). Absent for `run`. */
  issue?: OpenIssue;
  /** For `changed`: the state and severity before. */
  previous?: { state: string; severity: IssueSeverity };
  /** For `acknowledged`: who. */
  by?: string;
  /**
   * For `run`: how the source run ended, so consumers can count runs (alert confirmation, dead man's
   * switch). `first` is set on the source's first run after install (no stored open set before): its
   * `opened` events are the state found, not changes, and alerting skips them.
   */
  run?: { status: 'ok' | 'partial' | 'failed'; opened: number; changed: number; resolved: number; open: number; first?: true };
}

/** An event as read back from the stream, with its stream entry id (`<ms>-<seq>`, increasing). */
export interface StoredIssueEvent extends IssueEvent {
  streamId: string;
}
