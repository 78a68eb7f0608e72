/**
 * Alert e-mail through the shared SMTP sender (lib/mail/smtp.ts): one message, HTML and plain text, to
 * every configured recipient. A transient failure (connection refused, timeout, 4xx, login refused) is
 * a retryable DeliveryError; a 5xx answer is permanent. The sender scrubs the SMTP password from every
 * message it produces.
 */
import type { AlertEmailConfig } from '../config/normalize.js';
import { createSmtpSender } from '../mail/smtp.js';
import { DeliveryError } from './errors.js';
import type { EmailContent } from './message.js';

export interface SentMail {
  /** The server's answer to DATA, e.g. "250 2.0.0 Ok: queued as 1234". */
  response: string;
  messageId: string;
}

/**
 * Send one message. `messageId` (an id stable per digest and channel) goes into Message-ID, so a
 * duplicate after a crash between send and bookkeeping is recognisable as the same message.
 */
export async function sendEmail(cfg: AlertEmailConfig, content: EmailContent, messageId: string): Promise<SentMail> {
  const s = cfg.smtp;
  const smtp = createSmtpSender({
    host: s.host,
    port: s.port,
    tls: s.tls,
    timeoutMs: s.timeoutMs,
    ...(s.user !== undefined ? { user: s.user, password: s.password } : {}),
  });
  const domain = cfg.from.split('@')[1] ?? 'mtarep.invalid';
  const id = `<${messageId}@${domain}>`;
  try {
    const r = await smtp.send({
      from: cfg.from,
      to: cfg.to,
      subject: content.subject,
      text: content.text,
      html: content.html,
      messageId: id,
      headers: { 'X-Mtarep-Alert': messageId, 'Auto-Submitted': 'auto-generated' },
    });
    if (!r.ok) {
      const permanent = r.error.responseCode !== undefined && r.error.responseCode >= 500;
      throw new DeliveryError(`SMTP ${s.host}:${s.port}: ${r.error.message}`, permanent, { cause: r.error });
    }
    return { response: r.response, messageId: id };
  } finally {
    smtp.close();
  }
}
