/**
 * The shapes the ESP gateway speaks: a message, one provider's answer to it, the record of a send
 * with every attempt, and the one contract every provider adapter implements.
 */
import type { EspProviderName } from '../config/esp.js';

export type { EspProviderName } from '../config/esp.js';

export interface EspMessage {
  to: string;
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

/** The record of one send (stored newest first in `esp:sends`). */
export interface EspSendRecord {
  id: string;
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
