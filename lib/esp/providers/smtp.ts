/**
 * The `smtp` provider: a plain SMTP submission server (a relay, or an ESP's SMTP endpoint) through
 * the shared sender in lib/mail. Connection errors, timeouts and 4xx replies move on; an
 * authentication failure is a configuration problem; a 5xx refusal of the message or its recipient
 * refuses the message itself (the next provider would refuse it too).
 */
import fs from 'node:fs';
import type { EspProviderConfig } from '../../config/esp.js';
import type { MailError } from '../../mail/errors.js';
import { createSmtpSender } from '../../mail/smtp.js';
import type { ProviderAdapter, ProviderAnswer } from '../types.js';

type Cfg = Extract<EspProviderConfig, { name: 'smtp' }>;

/** What a sender error means for failover. */
export function smtpErrorAnswer(e: MailError, timeoutMs: number): ProviderAnswer {
  const code = e.responseCode;
  const said = (e.response ?? e.message).replace(/\s+/g, ' ').trim();
  const status = code !== undefined ? { status: code } : {};
  // 530 authentication required, 534/538 mechanism or encryption needed, 535 bad credentials.
  if (e.stage === 'auth' || code === 530 || code === 534 || code === 535 || code === 538) return { outcome: 'auth', ...status, answer: `authentication failed: ${said}` };
  // A certificate that does not verify is a setup problem (ca_file, host name), not an outage.
  if (e.stage === 'connect' && /certificate|self[- ]signed|CERT_|altnames/i.test(said)) return { outcome: 'config', ...status, answer: `TLS: ${said}` };
  if (e.code === 'ETIMEDOUT') return { outcome: 'unavailable', ...status, answer: `timeout after ${timeoutMs} ms` };
  if (code !== undefined && code >= 400 && code < 500) return { outcome: 'unavailable', status: code, answer: said };
  if (e.stage === 'connect') return { outcome: code !== undefined && code >= 500 ? 'config' : 'unavailable', ...status, answer: `${e.code ? e.code + ': ' : ''}${said}` };
  // The send stage: the server refused the sender, the recipient or the message.
  return { outcome: 'invalid', ...status, answer: said };
}

export function smtpAdapter(cfg: Cfg, opts: { timeoutMs: number }): ProviderAdapter {
  return {
    name: 'smtp',
    async send(msg) {
      let ca: string[] | undefined;
      if (cfg.caFile !== undefined) {
        try {
          ca = [fs.readFileSync(cfg.caFile, 'utf8')];
        } catch (e) {
          return { outcome: 'config', answer: `cannot read ca_file ${cfg.caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
        }
      }
      const sender = createSmtpSender({
        host: cfg.host,
        port: cfg.port,
        tls: cfg.tls,
        ...(ca ? { ca } : {}),
        ...(cfg.insecure ? { insecure: true } : {}),
        timeoutMs: opts.timeoutMs,
        ...(cfg.user !== undefined ? { user: cfg.user, password: cfg.password } : {}),
      });
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), opts.timeoutMs);
        });
        const r = await Promise.race([
          sender.send({ from: msg.from, to: msg.to, subject: msg.subject, text: msg.text, ...(msg.html !== undefined ? { html: msg.html } : {}), ...(msg.headers ? { headers: msg.headers } : {}) }),
          timeout,
        ]);
        if (r === 'timeout') return { outcome: 'unavailable', answer: `timeout after ${opts.timeoutMs} ms` };
        if (!r.ok) return smtpErrorAnswer(r.error, opts.timeoutMs);
        if (r.rejected.length > 0) return { outcome: 'invalid', answer: `recipient refused: ${r.rejected[0]}` };
        const reply = r.response.replace(/\s+/g, ' ').trim();
        const code = Number(/^(\d{3})/.exec(reply)?.[1]);
        return {
          outcome: 'sent',
          ...(Number.isFinite(code) ? { status: code } : {}),
          answer: reply,
          ...(r.messageId ? { messageId: r.messageId.replace(/^<(.*)>$/, '$1') } : {}),
        };
      } finally {
        clearTimeout(timer);
        sender.close();
      }
    },
  };
}
