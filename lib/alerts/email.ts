/**
 * Alert e-mail over SMTP with nodemailer: one message, HTML and plain text, to every configured
 * recipient. A transient failure (connection refused, timeout, 4xx) is a retryable DeliveryError; a 5xx
 * answer is permanent. The SMTP password never reaches an error message (only nodemailer sees it).
 */
import nodemailer from 'nodemailer';
import type { AlertEmailConfig } from '../config/normalize.js';
import { scrub } from '../log.js';
import { DeliveryError } from './errors.js';
import type { EmailContent } from './message.js';

export interface SentMail {
  /** The server's answer to DATA, e.g. "250 2.0.0 Ok: queued as 1234". */
  response: string;
  messageId: string;
}

/** nodemailer transport options for an `alerts.email.smtp` block. */
export function smtpOptions(cfg: AlertEmailConfig['smtp']) {
  return {
    host: cfg.host,
    port: cfg.port,
    secure: cfg.tls === 'tls',
    requireTLS: cfg.tls === 'starttls',
    ignoreTLS: cfg.tls === 'none',
    connectionTimeout: cfg.timeoutMs,
    greetingTimeout: cfg.timeoutMs,
    socketTimeout: cfg.timeoutMs,
    ...(cfg.user !== undefined && cfg.password !== undefined ? { auth: { user: cfg.user, pass: cfg.password } } : {}),
  };
}

/**
 * Send one message. `messageId` (an id stable per digest) goes into Message-ID, so a duplicate after
 * a crash between send and bookkeeping is recognisable as the same message.
 */
export async function sendEmail(cfg: AlertEmailConfig, content: EmailContent, messageId: string): Promise<SentMail> {
  const transport = nodemailer.createTransport(smtpOptions(cfg.smtp));
  const domain = cfg.from.split('@')[1] ?? 'mtarep.invalid';
  const id = `<${messageId}@${domain}>`;
  try {
    const info = await transport.sendMail({
      from: cfg.from,
      to: cfg.to,
      subject: content.subject,
      text: content.text,
      html: content.html,
      messageId: id,
      headers: { 'X-Mtarep-Alert': messageId, 'Auto-Submitted': 'auto-generated' },
    });
    return { response: String(info.response ?? ''), messageId: id };
  } catch (e) {
    const err = e as Error & { responseCode?: number; code?: string };
    const secrets = cfg.smtp.password !== undefined ? [cfg.smtp.password] : [];
    const where = `SMTP ${cfg.smtp.host}:${cfg.smtp.port}`;
    const permanent = typeof err.responseCode === 'number' && err.responseCode >= 500;
    throw new DeliveryError(`${where}: ${scrub(err.message, secrets)}`, permanent, { cause: e });
  } finally {
    transport.close();
  }
}
