/**
 * The shapes the ESP gateway speaks: a message, one provider's answer to it, the record of a send
 * with every attempt, and the one contract every provider adapter implements.
 */
import type { EspProviderName } from '../config/esp.js';

export type { EspProviderName } from '../config/esp.js';

/**
 * Why a message goes out: a test mail (`mtarep send`, the ESP page's form), the probe round's report
 * to people, or a probe. Probes are kept apart (`esp:probe-sends`): a round of many domains would push
 * everything else out of the sends list.
 */
export type EspSendKind = 'test' | 'report' | 'probe';

export interface EspMessage {
  to: string;
  /** Default: test. */
  kind?: EspSendKind;
  /** Default: `esp.from`. */
  from?: string;
  subject: string;
  text: string;
  html?: string;
  /** Custom headers (a probe's token): every provider carries them into the message. */
  headers?: Record<string, string>;
}

/**
 * What one attempt came to.
 * - sent: the provider accepted the message.
 * - unavailable: network error, timeout, 5xx or 429: the next provider is tried.
 * - auth: 401/403 or an invalid-key answer: the next provider is tried, and the key is a configuration problem.
 * - config: another answer that says the setup is wrong (an unknown Mailgun domain): the next provider is tried.
 * - invalid: the provider refused the message itself (bad recipient, a field error): no other provider is tried.
 */
export type AttemptOutcome = 'sent' | 'unavailable' | 'auth' | 'config' | 'invalid';

/** One provider's answer, as an adapter reports it. */
export interface ProviderAnswer {
  outcome: AttemptOutcome;
  /** HTTP status or SMTP reply code, when there was one. */
  status?: number;
  /** Short human text: the provider's own words where it gave any ("timeout after 10000 ms"). */
  answer: string;
  /** The provider's id for the message (what its webhook events carry). */
  messageId?: string;
}

export interface EspAttempt extends ProviderAnswer {
  provider: EspProviderName;
  /** ISO time the attempt started, and how long it took. */
  at: string;
  ms: number;
}

/** The record of one send (stored newest first in `esp:sends`, a probe's in `esp:probe-sends`). */
export interface EspSendRecord {
  id: string;
  /** Absent in records stored before kinds existed (they were tests, reports or probes, all in one list). */
  kind?: EspSendKind;
  at: string;
  from: string;
  to: string;
  subject: string;
  headers: Record<string, string>;
  /** sent: a provider accepted it; invalid: refused as invalid (not retried elsewhere); failed: every provider failed. */
  outcome: 'sent' | 'invalid' | 'failed';
  provider?: EspProviderName;
  messageId?: string;
  attempts: EspAttempt[];
}

/** A provider adapter: one vendor API (or SMTP). Never throws for a provider's failure: it answers. */
export interface ProviderAdapter {
  name: EspProviderName;
  send(msg: EspMessage & { from: string }): Promise<ProviderAnswer>;
  close?(): void;
}

export const configProblemOutcomes: readonly AttemptOutcome[] = ['auth', 'config'];
