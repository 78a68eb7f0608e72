/**
 * SMTP sender over a pool of connections (smtp-pool.ts, smtp-conn.ts: PIPELINING when offered):
 * probes, test mails and alert reports all leave through it. A plain ASCII message (every probe) is
 * written directly (plain.ts); anything else (HTML, non-ASCII text) is composed by nodemailer's
 * MailComposer and sent the same way, so there is one SMTP path. Each message gets its own result
 * (accepted with the server's answer and the submit time, or a `MailError` whose stage says where it
 * failed); one refused recipient never stops the others.
 *
 *   const smtp = createSmtpSender({ host: '127.0.0.1', port: 25, tls: 'none', pool: 4 });
 *   const r = await smtp.send({ from, to, subject, text, headers: { 'X-Mtarep-Probe': token } });
 *   await smtp.close();
 */
import { MailError, secretsOfSettings } from './errors.js';
import { plainMessage } from './plain.js';
import type { Envelope } from './smtp-conn.js';
import { SmtpPool } from './smtp-pool.js';
import { dataBody } from './smtp-wire.js';
import type { TlsSettings } from './tls.js';

export interface SmtpSettings extends TlsSettings {
  host: string;
  port: number;
  /** AUTH (PLAIN or LOGIN, whichever the server offers) when set. */
  user?: string | undefined;
  password?: string | undefined;
  /** Parallel connections (default 1). */
  pool?: number | undefined;
  /** Name sent in EHLO (default: the OS host name). */
  name?: string | undefined;
  /** Connect + greeting, and each wait for an answer, in ms (default 15 s each). */
  timeoutMs?: number | undefined;
}

export interface OutgoingMessage {
  from: string;
  to: string | string[];
  subject: string;
  text?: string;
  html?: string;
  /** Extra headers, written as given. */
  headers?: Record<string, string>;
  /** Message-ID without or with angle brackets. */
  messageId?: string;
  /** SMTP envelope when it differs from From/To (MAIL FROM <> for a null sender, ...). */
  envelope?: { from: string; to: string[] };
}

export type SendResult =
  | {
      ok: true;
      /** The server's final answer to DATA ("250 2.0.0 Ok: queued as ..."). */
      response: string;
      accepted: string[];
      rejected: string[];
      messageId: string;
      /** When the message was handed over (epoch ms) and how long submission took. */
      submittedAt: number;
      submitMs: number;
    }
  | { ok: false; error: MailError; submitMs: number };

export interface SmtpSender {
  send(msg: OutgoingMessage): Promise<SendResult>;
  /** Send many through the pool, `onResult` as each finishes; results in input order. */
  sendMany(msgs: readonly OutgoingMessage[], onResult?: (r: SendResult, index: number) => void): Promise<SendResult[]>;
  /** Connect, (STARTTLS), AUTH when configured, QUIT: a typed error when any of it fails. */
  verify(): Promise<void>;
  close(): void;
}

/** The message as it goes on the wire: DATA text, envelope, Message-ID. */
async function compose(m: OutgoingMessage): Promise<{ body: string; envelope: Envelope; messageId: string }> {
  const plain = plainMessage(m);
  if (plain) return { body: dataBody(plain.raw), envelope: plain.envelope, messageId: plain.messageId };
  const { default: MailComposer } = await import('nodemailer/lib/mail-composer');
  const node = new MailComposer({
    from: m.from,
    to: m.to,
    subject: m.subject,
    ...(m.text !== undefined ? { text: m.text } : {}),
    ...(m.html !== undefined ? { html: m.html } : {}),
    ...(m.headers ? { headers: m.headers } : {}),
    ...(m.messageId ? { messageId: m.messageId.startsWith('<') ? m.messageId : `<${m.messageId}>` } : {}),
    ...(m.envelope ? { envelope: m.envelope } : {}),
    disableFileAccess: true,
    disableUrlAccess: true,
  }).compile();
  const env = node.getEnvelope();
  const raw = await node.build();
  return { body: dataBody(raw), envelope: m.envelope ?? { from: env.from || '', to: env.to }, messageId: node.messageId() };
}

export function createSmtpSender(s: SmtpSettings): SmtpSender {
  const secrets = secretsOfSettings(s);
  const pool = new SmtpPool(s, secrets, Math.max(1, s.pool ?? 1));

  const send = async (m: OutgoingMessage): Promise<SendResult> => {
    const t0 = Date.now();
    let msg: Awaited<ReturnType<typeof compose>>;
    try {
      msg = await compose(m);
    } catch (e) {
      return { ok: false, submitMs: Date.now() - t0, error: new MailError('send', `cannot compose the message: ${(e as Error).message}`, { cause: e, code: 'EMESSAGE', secrets }) };
    }
    if (msg.envelope.to.length === 0) return { ok: false, submitMs: Date.now() - t0, error: new MailError('send', 'no recipient', { code: 'EENVELOPE', secrets }) };
    const o = await pool.submit(msg.envelope, msg.body);
    const submitMs = Date.now() - t0;
    if (!o.ok) return { ok: false, error: o.error, submitMs };
    return { ok: true, response: o.response, accepted: o.accepted, rejected: o.rejected, messageId: msg.messageId, submittedAt: t0, submitMs };
  };

  return {
    send,
    async sendMany(msgs, onResult) {
      return Promise.all(
        msgs.map(async (m, i) => {
          const r = await send(m);
          onResult?.(r, i);
          return r;
        }),
      );
    },
    verify: () => pool.verify(),
    close: () => pool.close(),
  };
}
