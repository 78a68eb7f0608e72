/**
 * Mandrill (Mailchimp Transactional) 1.0: `POST {api_url}messages/send.json`, JSON with the key in
 * the body. 200 with one `{email, status, reject_reason, _id}` per recipient (status sent, queued,
 * scheduled, rejected or invalid); errors are `{status:"error", code, name, message}` with HTTP 500,
 * so the error's name decides: Invalid_Key is a bad key, ValidationError a bad message.
 */
import type { EspProviderConfig } from '../../config/esp.js';
import { excerpt, isReply, outcomeOfStatus, parseJson, post, type FetchFn } from '../http.js';
import type { AttemptOutcome, ProviderAdapter } from '../types.js';

type Cfg = Extract<EspProviderConfig, { name: 'mandrill' }>;

interface RecipientStatus {
  email?: unknown;
  status?: unknown;
  reject_reason?: unknown;
  _id?: unknown;
}

function errorOutcome(name: string, status: number): AttemptOutcome {
  if (name === 'Invalid_Key' || name === 'PaymentRequired' || name === 'Unknown_Subaccount') return 'auth';
  if (name === 'ValidationError') return 'invalid';
  return status >= 500 || status === 429 ? 'unavailable' : outcomeOfStatus(status);
}

export function mandrillAdapter(cfg: Cfg, opts: { timeoutMs: number; fetch: FetchFn }): ProviderAdapter {
  return {
    name: 'mandrill',
    async send(msg) {
      const body = {
        key: cfg.apiKey,
        message: {
          from_email: msg.from,
          to: [{ email: msg.to, type: 'to' }],
          subject: msg.subject,
          text: msg.text,
          ...(msg.html !== undefined ? { html: msg.html } : {}),
          ...(msg.headers && Object.keys(msg.headers).length > 0 ? { headers: msg.headers } : {}),
        },
      };
      const r = await post(opts.fetch, cfg.apiUrl + 'messages/send.json', { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, opts.timeoutMs);
      if (!isReply(r)) return r;
      const parsed = parseJson(r.text);
      if (parsed && !Array.isArray(parsed) && typeof parsed === 'object' && (parsed as { status?: unknown }).status === 'error') {
        const e = parsed as { name?: unknown; message?: unknown };
        const name = typeof e.name === 'string' ? e.name : 'error';
        return { outcome: errorOutcome(name, r.status), status: r.status, answer: `${r.status} ${name}: ${String(e.message ?? '')}`.trim() };
      }
      if (r.status < 200 || r.status >= 300 || !Array.isArray(parsed)) {
        const outcome = r.status >= 200 && r.status < 300 ? 'unavailable' : outcomeOfStatus(r.status);
        return { outcome, status: r.status, answer: `${r.status} unexpected answer: ${excerpt(r.text)}` };
      }
      const mine = (parsed as RecipientStatus[]).find((x) => typeof x.email === 'string' && x.email.toLowerCase() === msg.to.toLowerCase()) ?? (parsed[0] as RecipientStatus | undefined);
      const status = typeof mine?.status === 'string' ? mine.status : 'missing';
      const id = typeof mine?._id === 'string' ? mine._id : undefined;
      if (status === 'sent' || status === 'queued' || status === 'scheduled') {
        return { outcome: 'sent', status: r.status, answer: `${r.status} ${status}`, ...(id ? { messageId: id } : {}) };
      }
      if (status === 'rejected' || status === 'invalid') {
        const why = typeof mine?.reject_reason === 'string' && mine.reject_reason ? ` (${mine.reject_reason})` : '';
        return { outcome: 'invalid', status: r.status, answer: `${r.status} ${status}${why}`, ...(id ? { messageId: id } : {}) };
      }
      return { outcome: 'unavailable', status: r.status, answer: `${r.status} unexpected recipient status ${status}` };
    },
  };
}
