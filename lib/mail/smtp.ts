/**
 * SMTP sender over a pool of nodemailer connections: probes, test mails and alert reports all leave
 * through it. Each message gets its own result (accepted with the server's answer and the submit time,
 * or a `MailError` whose stage says where it failed); one refused recipient never stops the others.
 *
 *   const smtp = createSmtpSender({ host: '127.0.0.1', port: 25, tls: 'none', pool: 4 });
 *   const r = await smtp.send({ from, to, subject, text, headers: { 'X-Mtarep-Probe': token } });
 *   await smtp.close();
 */
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { MailError, secretsOfSettings, type MailStage } from './errors.js';
import { plainMessage } from './plain.js';
import { tlsOptions, type TlsSettings } from './tls.js';

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
  /** Connect / greeting / idle socket timeouts in ms (default 15 s each). */
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

interface NodemailerError extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  command?: string;
}

/** Which stage a nodemailer error belongs to. */
export function smtpStage(e: NodemailerError): MailStage {
  if (e.code === 'EAUTH' || e.command === 'AUTH PLAIN' || e.command === 'AUTH LOGIN' || e.code === 'ENOAUTH') return 'auth';
  if (e.code === 'ECONNECTION' || e.code === 'EDNS' || e.code === 'ETLS' || e.code === 'ESOCKET' || e.code === 'EPROXY') return 'connect';
  if (e.code === 'ETIMEDOUT' && (e.command === 'CONN' || e.command === 'GREETING' || !e.command)) return 'connect';
  if (e.command === 'CONN' || e.command === 'EHLO' || e.command === 'HELO' || e.command === 'STARTTLS') return 'connect';
  return 'send';
}

export function toMailError(e: unknown, secrets: readonly string[]): MailError {
  const err = (e ?? {}) as NodemailerError;
  const stage = smtpStage(err);
  return new MailError(stage, err.message ?? String(e), {
    cause: e,
    response: err.response,
    responseCode: err.responseCode,
    code: err.code,
    secrets,
  });
}

export function createSmtpSender(s: SmtpSettings): SmtpSender {
  const secrets = secretsOfSettings(s);
  const timeout = s.timeoutMs ?? 15_000;
  const opts: SMTPPool.Options = {
    pool: true,
    host: s.host,
    port: s.port,
    secure: s.tls === 'tls',
    ignoreTLS: s.tls === 'none',
    requireTLS: s.tls === 'starttls',
    maxConnections: Math.max(1, s.pool ?? 1),
    maxMessages: Infinity,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    tls: tlsOptions(s.host, s),
    logger: false,
    debug: false,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
  if (s.name) opts.name = s.name;
  if (s.user) opts.auth = { user: s.user, pass: s.password ?? '' };
  const transport = nodemailer.createTransport(opts);

  const send = async (m: OutgoingMessage): Promise<SendResult> => {
    const t0 = Date.now();
    try {
      const plain = plainMessage(m);
      const info = await transport.sendMail(plain ? { raw: plain.raw, envelope: plain.envelope, messageId: plain.messageId } : {
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
      });
      const rejected = (info.rejected ?? []).map(String);
      const accepted = (info.accepted ?? []).map(String);
      const submitMs = Date.now() - t0;
      if (accepted.length === 0) {
        return {
          ok: false,
          submitMs,
          error: new MailError('send', `every recipient was refused: ${info.response ?? ''}`, { response: info.response, secrets }),
        };
      }
      return { ok: true, response: info.response, accepted, rejected, messageId: plain?.messageId ?? info.messageId, submittedAt: t0, submitMs };
    } catch (e) {
      return { ok: false, error: toMailError(e, secrets), submitMs: Date.now() - t0 };
    }
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
    async verify() {
      try {
        await transport.verify();
      } catch (e) {
        throw toMailError(e, secrets);
      }
    },
    close() {
      transport.close();
    },
  };
}
