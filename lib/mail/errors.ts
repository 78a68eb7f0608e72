/**
 * Typed errors of the mail transport. Every failure names its stage (where it happened) so callers can
 * tell "cannot reach the server" from "login refused" from "the server refused this message". Messages
 * are scrubbed of the credentials they were given: a password never reaches a log, a page or a record.
 */
import { scrub } from '../log.js';

export type MailStage = 'connect' | 'auth' | 'send' | 'imap-connect' | 'imap-auth' | 'imap-search';

export class MailError extends Error {
  override readonly name = 'MailError';
  readonly stage: MailStage;
  /** The server's answer when there was one ("550 5.1.1 <x@y>: Recipient address rejected"). */
  readonly response: string | undefined;
  /** SMTP reply code (550) when there was one. */
  readonly responseCode: number | undefined;
  /** The library's error code (ECONNECTION, ETIMEDOUT, EAUTH, ...). */
  readonly code: string | undefined;

  constructor(
    stage: MailStage,
    message: string,
    opts: { cause?: unknown; response?: string | undefined; responseCode?: number | undefined; code?: string | undefined; secrets?: readonly string[] } = {},
  ) {
    const secrets = opts.secrets ?? [];
    super(scrub(`${stage}: ${message}`, secrets), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.stage = stage;
    this.response = opts.response === undefined ? undefined : scrub(opts.response, secrets);
    this.responseCode = opts.responseCode;
    this.code = opts.code;
  }
}

/** The secrets of a settings object worth scrubbing (short strings would mangle text). */
export function secretsOfSettings(s: { password?: string | undefined }): string[] {
  return s.password && s.password.length >= 3 ? [s.password] : [];
}

/** Socket error codes in words (what a reader of a probe error or an e2e line needs). */
const socketErrorText: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection closed by the server while writing',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (temporary DNS failure)',
};

/**
 * A socket error as the connection's message says it: the code in words, without the address node
 * puts in its own text ("connect ECONNREFUSED 127.0.0.1:25"), since the connection names its server
 * once itself. Other errors (TLS, certificates) keep node's text.
 */
export function describeSocketError(e: NodeJS.ErrnoException): string {
  return (e.code !== undefined ? socketErrorText[e.code] : undefined) ?? e.message;
}
