/**
 * What one end-to-end mail check (`mtarep e2e`) found: the times of its phases, where the mail turned
 * up, or the stage where it failed. Shared by the runner and the output formats. Times are epoch ms.
 */

/** Where a failed run stopped. `timeout` is the hard bound (--timeout) on the whole run. */
export const e2eStages = ['smtp-connect', 'smtp-auth', 'smtp-send', 'imap-connect', 'imap-auth', 'imap-search', 'timeout'] as const;
export type E2eStage = (typeof e2eStages)[number];

export interface E2eRun {
  /** The mail was found over IMAP in time (inbox or Junk). */
  success: boolean;
  /** The random token the mail carried (subject, X-Hash header, Message-ID). */
  hash: string;
  start: number;
  /** When the SMTP part started; null if the run never got there. */
  startSmtp: number | null;
  /** When the SMTP part ended and the IMAP part started; null when SMTP did not complete. */
  startImap: number | null;
  /** When the IMAP connection was set up and the search started; null when it never was. */
  startImapSearch: number | null;
  /** IMAP searches done (each looks in the inbox and the Junk folder). */
  tries: number;
  end: number;
  /** The folder the mail was found in. */
  folder: string | null;
  /** Whether that folder is the Junk folder (special-use \Junk). */
  junk: boolean;
  error: string | null;
  errorStage: E2eStage | null;
}

/** What the output formats name the run by (the original's Influx tags). */
export interface E2eTarget {
  emailFrom: string;
  emailTo: string;
  smtpHost: string;
  smtpPort: number;
  imapHost: string;
  imapPort: number;
}

/** The phase durations in ms. A phase never reached took 0; one cut short ends at `end`. */
export function durations(r: E2eRun): { totalMs: number; smtpMs: number; imapMs: number } {
  const smtpMs = r.startSmtp === null ? 0 : (r.startImap ?? r.end) - r.startSmtp;
  const imapMs = r.startImap === null ? 0 : r.end - r.startImap;
  return { totalMs: r.end - r.start, smtpMs: Math.max(0, smtpMs), imapMs: Math.max(0, imapMs) };
}
