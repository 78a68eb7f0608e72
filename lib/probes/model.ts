/** Record types of the round-trip probes (stored as JSON in Redis; see lib/keys.ts). */
import type { EspProviderName } from '../config/esp.js';

/** The header every probe carries its token in (whichever way it leaves). */
export const probeHeader = 'X-Mtarep-Probe';

export const probeStates = ['pending', 'on_time', 'late', 'overdue', 'lost', 'bounced', 'spam', 'send_failed'] as const;
export type ProbeState = (typeof probeStates)[number];

/** One probe as stored. Times are epoch ms. */
export interface ProbeRecord {
  token: string;
  domain: string;
  address: string;
  /** When the round handed the probe to the SMTP pool: the start of its round trip. */
  sentAt: number;
  /** When the SMTP server accepted it, how long submission took, and its answer. */
  submittedAt?: number;
  submitMs?: number;
  smtp?: string;
  /** A refused or failed submission (stage connect/auth/send, or esp: the gateway's attempts). */
  sendError?: { stage: string; message: string; response?: string };
  /** With probes.via: esp, the ESP provider that took the probe (or refused it as invalid). */
  provider?: EspProviderName;
  /** The provider's message id (what its webhook events carry). */
  espMessageId?: string;
  /** When it came back: the date of the `Received:` header of the hop into the probe mailbox. */
  returnedAt?: number;
  /** When mtarep found it, in which folder, and whether that is the Junk folder. */
  foundAt?: number;
  folder?: string;
  junk?: boolean;
  /**
   * A delivery-status notification (DSN) for it: status code and diagnostic text; or an ESP's webhook
   * event (bounce, reject, drop) matched by message id, then `esp` names the provider and its event.
   */
  bounce?: { at: number; status?: string; diagnostic?: string; from?: string; esp?: { provider: string; event: string } };
}

export type StateCounts = Record<ProbeState, number>;

/** A domain's figures over the window, as the round judged them. */
export interface DomainSummary {
  domain: string;
  counts: StateCounts;
  /** Probes judged (every state but pending): the denominator of the percentages. */
  judged: number;
  onTimePct: number | null;
  /** Not returned (overdue, lost), bounced, spam and send-failed: mxtrax's "failed". */
  failed: number;
  avgRttS: number | null;
  failing: boolean;
  /** Which limits were passed ("3 not returned > max_fail_number 0"). */
  reasons: string[];
  last?: { token: string; state: ProbeState; sentAt: number; returnedAt?: number; rttS?: number };
  /** The newest probe in the window that came back (on time or late): the latest round trip measured, when the newest probe is still out. */
  lastBack?: { sentAt: number; rttS: number; state: 'on_time' | 'late' };
  judgedAt: number;
}

/** mxtrax Stat: one domain, one day (UTC) of sent probes. */
export interface DayStat {
  date: string;
  on_time: number;
  late: number;
  failed: number;
  total: number;
  min_s: number | null;
  max_s: number | null;
  avg_s: number | null;
  all_done: boolean;
}

/** What the probe round keeps between rounds. */
export interface ProbeRoundState {
  /** Start of the newest receive that read the whole mailbox: nothing older than this can be "not back" by mistake. */
  lastGoodReadAt?: number;
  /** Failing domains the last report mail (or the first round) described: a report goes out when this changes. */
  reportedFailing?: string[];
  lastRound?: ProbeRoundSummary;
}

export interface ProbeRoundSummary {
  runId: string;
  startedAt: string;
  finishedAt: string;
  status: 'ok' | 'partial' | 'failed';
  sent: number;
  sendFailed: number;
  matched: number;
  bounced: number;
  scanned: number;
  /** The mailbox could not be read: why (no probe turned lost meanwhile). */
  receiveError?: string;
  failing: string[];
  alert?: 'sent' | 'unchanged' | 'none' | 'no-recipients' | `failed: ${string}`;
  errors: string[];
}
