/**
 * One end-to-end mail check (`mtarep e2e`, after email-end2end-test): a random token, a mail carrying
 * it sent through SMTP (lib/mail/smtp.ts: TLS none / STARTTLS / implicit, AUTH as offered), then IMAP
 * (lib/mail/imap.ts) searched for it every `checkFrequencyMs`, up to `maxChecks` times, in the inbox
 * and the folder flagged \Junk. Every failure is a result, never a throw: the stage it stopped in
 * (smtp-connect, smtp-auth, smtp-send, imap-connect, imap-auth, imap-search) and the reason; the
 * whole run is bounded by `timeoutMs` (stage `timeout`). Passwords are scrubbed from every reason.
 */
import crypto from 'node:crypto';
import { scrub } from '../log.js';
import { MailError } from '../mail/errors.js';
import { openImap, type ImapReader, type ImapSettings } from '../mail/imap.js';
import { createSmtpSender, type SmtpSender, type SmtpSettings } from '../mail/smtp.js';
import { isoLocal } from './format.js';
import type { E2eRun, E2eStage } from './result.js';

export interface E2eOptions {
  emailFrom: string;
  emailTo: string;
  smtp: SmtpSettings;
  imap: ImapSettings;
  /** Subject prefix (the original's default '[e2e email monitoring] '). */
  prefix: string;
  checkFrequencyMs: number;
  maxChecks: number;
  /** Hard bound on the whole run. */
  timeoutMs: number;
  /** Delete the mail once found. */
  delete: boolean;
}

export interface E2eDeps {
  now?: () => number;
  createSmtp?: (s: SmtpSettings) => SmtpSender;
  openImap?: (s: ImapSettings) => Promise<ImapReader>;
  /** The token (default: 32 random hex characters, the original's md5 shape). */
  token?: () => string;
}

/** Library timeouts per connection step: inside the hard bound, never above 15 s. */
export function stepTimeoutMs(timeoutMs: number): number {
  return Math.max(500, Math.min(15_000, timeoutMs - 1_000));
}

const smtpStages: Record<string, E2eStage> = { connect: 'smtp-connect', auth: 'smtp-auth', send: 'smtp-send' };

function stageOf(e: unknown, fallback: E2eStage): E2eStage {
  if (e instanceof MailError) return smtpStages[e.stage] ?? (e.stage as E2eStage);
  return fallback;
}

/** The IMAP search for the token: inbox first, then Junk. The folder and UIDs where it is, or null. */
async function findMail(imap: ImapReader, folders: string[], hash: string): Promise<{ folder: string; uids: number[] } | null> {
  for (const folder of folders) {
    const uids = await imap.search(folder, { subject: hash });
    if (uids.length === 0) continue;
    // The server's SUBJECT search is a substring match: confirm on the headers, as the original did.
    const mine = (await imap.fetchHeaders(folder, uids)).filter((m) => m.headers.includes(hash)).map((m) => m.uid);
    if (mine.length > 0) return { folder, uids: mine };
  }
  return null;
}

/** Run the check. Never throws for a mail failure: the result says where and why. */
export async function runE2e(o: E2eOptions, deps: E2eDeps = {}): Promise<E2eRun> {
  const now = deps.now ?? Date.now;
  const secrets = [o.smtp.password, o.imap.password].filter((p): p is string => typeof p === 'string' && p.length >= 3);
  const hash = deps.token?.() ?? crypto.randomBytes(16).toString('hex');
  const r: E2eRun = {
    success: false,
    hash,
    start: now(),
    startSmtp: null,
    startImap: null,
    startImapSearch: null,
    tries: 0,
    end: 0,
    folder: null,
    junk: false,
    error: null,
    errorStage: null,
  };
  /** Where the run is, for the timeout's reason. */
  let phase = 'SMTP';
  let smtp: SmtpSender | undefined;
  let imap: ImapReader | undefined;
  let finished = false;
  const fail = (s: E2eStage, message: string) => {
    if (finished) return;
    finished = true;
    r.errorStage = s;
    r.error = scrub(message, secrets);
    r.end = now();
  };

  const work = async () => {
    const subject = `${o.prefix} ### ${isoLocal(r.start)} ### ${hash}`;
    r.startSmtp = now();
    smtp = (deps.createSmtp ?? createSmtpSender)({ ...o.smtp, timeoutMs: o.smtp.timeoutMs ?? stepTimeoutMs(o.timeoutMs) });
    const domain = o.emailFrom.includes('@') ? o.emailFrom.split('@').pop()! : 'localhost';
    const sent = await smtp.send({
      from: o.emailFrom,
      to: o.emailTo,
      subject,
      text: 'This e-mail is part of an end to end test for sending and receiving mail',
      headers: { 'X-Hash': hash, 'User-Agent': 'mtarep e2e' },
      messageId: `<e2e.${hash}@${domain}>`,
    });
    smtp.close();
    if (!sent.ok) return fail(stageOf(sent.error, 'smtp-send'), atServer('SMTP', o.smtp, sent.error.message));
    if (finished) return;

    r.startImap = now();
    phase = 'IMAP connect and login';
    try {
      imap = await (deps.openImap ?? openImap)({ ...o.imap, timeoutMs: o.imap.timeoutMs ?? stepTimeoutMs(o.timeoutMs) });
    } catch (e) {
      return fail(stageOf(e, 'imap-connect'), atServer('IMAP', o.imap, (e as Error).message));
    }
    if (finished) return;
    phase = 'IMAP search';
    try {
      const junk = await imap.junkFolder();
      const folders = ['INBOX', ...(junk !== undefined && junk.toUpperCase() !== 'INBOX' ? [junk] : [])];
      r.startImapSearch = now();
      for (;;) {
        r.tries++;
        const hit = await findMail(imap, folders, hash);
        if (finished) return;
        if (hit) {
          if (o.delete) await imap.delete(hit.folder, hit.uids);
          finished = true;
          r.success = true;
          r.folder = hit.folder;
          r.junk = hit.folder === junk;
          r.end = now();
          return;
        }
        if (r.tries >= o.maxChecks) {
          const waited = ((now() - r.startImapSearch) / 1000).toFixed(1);
          return fail('imap-search', `mail ${hash} not found in ${folders.join(' or ')} after ${r.tries} ${r.tries === 1 ? 'search' : 'searches'} (${waited} s)`);
        }
        await new Promise((res) => setTimeout(res, o.checkFrequencyMs));
        if (finished) return;
      }
    } catch (e) {
      return fail(stageOf(e, 'imap-search'), atServer('IMAP', o.imap, (e as Error).message));
    }
  };

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      fail('timeout', `no result within ${(o.timeoutMs / 1000).toFixed(1)} s (--timeout), while in ${phase}`);
      resolve();
    }, o.timeoutMs);
  });
  try {
    await Promise.race([
      work().catch((e: unknown) => fail(r.startImap === null ? 'smtp-send' : 'imap-search', (e as Error).message)),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    smtp?.close();
    // A server that stopped answering would hold a polite LOGOUT: do not wait for it.
    const closing = imap?.close().catch(() => {});
    if (r.errorStage !== 'timeout') await closing;
  }
  return r;
}

/**
 * A mail error's reason, naming the protocol and the server once: `SMTP host:port: connection
 * refused (...)`. The MailError's stage goes (errorStage says it); a message that already names the
 * server (lib/mail does for connection failures) gets only the protocol in front.
 */
function atServer(proto: 'SMTP' | 'IMAP', server: { host: string; port: number }, message: string): string {
  const at = `${server.host}:${server.port}`;
  const text = message.replace(/^(connect|auth|send|imap-connect|imap-auth|imap-search): /, '');
  return text.includes(at) ? `${proto} ${text}` : `${proto} ${at}: ${text}`;
}
