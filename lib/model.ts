/**
 * The data the collector stores and the dashboard reads: one contract for both sides.
 * Every check result is data with a status; a failure is `status: 'error'` with a reason, never a
 * clean verdict. Times are ISO 8601 strings (UTC) unless named `t` (epoch ms).
 */
import type { ZoneKind } from './config/zone-defaults.js';

export type CheckStatus = 'ok' | 'error' | 'skipped';

/** The outcome of one check for one target. */
export interface CheckResult<T> {
  status: CheckStatus;
  /** When the check ran. */
  at: string;
  /** Present when status is 'ok'. */
  value?: T;
  /** Why it failed ('error') or was not run ('skipped'). Never contains a secret. */
  reason?: string;
  /** On 'error': the last good value and when it was obtained, shown marked as stale. */
  stale?: { value: T; at: string };
}

/** DNSBL answer states (../shared/notes/dnsbl.md): only 'listed' counts as a listing. */
export type DnsblState = 'listed' | 'not_listed' | 'error' | 'unknown';

export interface DnsblResult {
  /** Display zone name (never the DQS query name). */
  zone: string;
  kind: ZoneKind;
  state: DnsblState;
  /** Whether a listing here is critical (severity). */
  critical: boolean;
  /** Every A record answered, as returned. */
  codes: string[];
  /** Meaning of each listing code (SBL, XBL, ...). */
  labels: string[];
  /** TXT reason, fetched for listings only. */
  txt?: string;
  /** Error kind ('timeout', 'SERVFAIL', ...) or why the answer is unknown. */
  reason?: string;
  /** Set when the zone failed its self-test this run: the verdict is then 'unknown'. */
  unhealthy?: string;
  /** A listing's removal/lookup link with the IP filled in where the link expects it. */
  removalLink?: string;
  at: string;
  /**
   * On 'error' / 'unknown': the zone's last clear verdict for this IP and when it was obtained, shown
   * marked as stale (a listing's acknowledgement is kept while the zone cannot tell).
   */
  stale?: { state: 'listed' | 'not_listed'; codes: string[]; labels: string[]; txt?: string; at: string };
}

/** The DNSBL check's value: the verdict of each zone that applies to the IP. */
export interface DnsblValue {
  zones: DnsblResult[];
}

export interface SenderScoreValue {
  /** 0-100, or null when the zone has no score for the IP (NXDOMAIN). */
  score: number | null;
}

export type SndsColor = 'green' | 'yellow' | 'red';

export interface SndsData {
  color: SndsColor;
  traps: number;
  /** As SNDS writes it, e.g. "< 0.1%". */
  complaintRate: string;
  rcptCommands: number;
  dataCommands: number;
  recipients: number;
  periodStart: string;
  periodEnd: string;
  trapPeriodStart?: string;
  trapPeriodEnd?: string;
  heloSample?: string;
  mailFromSample?: string;
  comments?: string;
}

export interface SndsValue {
  /** Null when SNDS has no row for this IP (normal for a quiet IP or an empty day). */
  data: SndsData | null;
  /** IP status export: null when not enabled. */
  blocked: { blocked: boolean; reason?: string } | null;
}

/** One part of the DNS match: rDNS (PTR names the FQDN), fDNS (FQDN resolves to the IP), HELO banner. */
export interface MatchPart {
  state: 'match' | 'mismatch' | 'error';
  /** What was found: PTR names, forward addresses, or the banner's host name. */
  found: string[];
  reason?: string;
}

export interface DnsMatchValue {
  rdns: MatchPart;
  fdns: MatchPart;
  helo: MatchPart;
}

export interface HttpReputationValue {
  verdict: 'good' | 'neutral' | 'bad' | 'unknown';
  /** The raw value found at the JSON path. */
  raw: string;
}

/**
 * Everything known about one MTA IP after a run. Replaced whole with one SET. Each check's result is a
 * `CheckResult` under the check's name (lib/checks/index.ts lists them); the built-in ones are typed
 * here, a check added later is read through its plugin (`resultOf`).
 */
export interface IpRecord {
  ip: string;
  family: 4 | 6;
  /** Host name (mta_map key) and public FQDN. */
  host: string;
  fqdn: string;
  checkedAt: string;
  runId: string;
  dnsbl: CheckResult<DnsblValue>;
  senderscore: CheckResult<SenderScoreValue>;
  snds: CheckResult<SndsValue>;
  dnsMatch: CheckResult<DnsMatchValue>;
  httpReputation?: CheckResult<HttpReputationValue>;
  [check: string]: unknown;
}

/** The fields of an IpRecord that are not check results. */
export const ipRecordFields = ['ip', 'family', 'host', 'fqdn', 'checkedAt', 'runId'] as const;

/** One host from mta_map after a run: where its IPs came from. */
export interface HostRecord {
  name: string;
  fqdn: string;
  ips: string[];
  /** 'ok' resolved, 'config' IPs given in config, 'error' could not resolve (ips empty or stale). */
  resolve: { status: 'ok' | 'config' | 'error'; reason?: string; at: string };
  checkedAt: string;
  runId: string;
}

export interface ProviderBlock {
  provider: string;
  /** The newest matching maillog line, verbatim (escape before display). */
  line: string;
  /** Time of that line. */
  at: string;
  /** The MTA IP the block concerns, when the line names one of the host's IPs. */
  ip?: string;
  recipientDomain?: string;
}

/** Provider blocks found in one host's maillog, written with the read position in one transaction. */
export interface BlocksRecord {
  host: string;
  /** Status of the newest maillog read. On 'error', `blocks` are from the last good read (`blocksAt`). */
  status: CheckStatus;
  reason?: string;
  at: string;
  blocksAt: string;
  blocks: ProviderBlock[];
  /** Lines read and lines not understood in the newest read. */
  lines?: { read: number; unparsed: number };
}

/** One point of an IP's history, for charts. */
export interface HistoryPoint {
  t: number;
  score: number | null;
  listings: number;
  traps: number | null;
  color: SndsColor | null;
}

export interface RunSummary {
  id: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  hosts: number;
  ips: number;
  /** 'ok' every check succeeded; 'partial' some failed; 'failed' the run itself failed. */
  status: 'ok' | 'partial' | 'failed';
  /** Per check name: how many results were ok / error / skipped. */
  checks: Record<string, { ok: number; error: number; skipped: number }>;
  unhealthyZones: string[];
  /** The first errors, one line each, for the log and the dashboard. */
  errors: string[];
  /** The sources the run covered (collector/sources/); absent in summaries stored before sources. */
  sources?: string[];
}
