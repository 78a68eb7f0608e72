/**
 * SendGrid v3 Mail Send: `POST {api_url}mail/send`, Bearer key, JSON body. 202 with `X-Message-Id`;
 * 400 `{errors:[{message, field}]}` for a message it will not take; 401/403 for a bad key; 429 when
 * rate limited.
 */
import type { EspProviderConfig } from '../../config/esp.js';
import { excerpt, isReply, outcomeOfStatus, parseJson, post, type FetchFn } from '../http.js';
import type { ProviderAdapter } from '../types.js';

type Cfg = Extract<EspProviderConfig, { name: 'sendgrid' }>;

function errorsText(body: unknown): string | undefined {
  const errors = (body as { errors?: { message?: unknown; field?: unknown }[] } | undefined)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  return errors
    .map((e) => `${typeof e.field === 'string' && e.field ? e.field + ': ' : ''}${String(e.message ?? '')}`)
    .join('; ');
}

export function sendgridAdapter(cfg: Cfg, opts: { timeoutMs: number; fetch: FetchFn }): ProviderAdapter {
  return {
    name: 'sendgrid',
    async send(msg) {
      const body = {
        personalizations: [{ to: [{ email: msg.to }] }],
        from: { email: msg.from },
        subject: msg.subject,
        content: [{ type: 'text/plain', value: msg.text }, ...(msg.html !== undefined ? [{ type: 'text/html', value: msg.html }] : [])],
        ...(msg.headers && Object.keys(msg.headers).length > 0 ? { headers: msg.headers } : {}),
      };
      const r = await post(
        opts.fetch,
        cfg.apiUrl + 'mail/send',
        { headers: { authorization: `Bearer ${cfg.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) },
        opts.timeoutMs,
      );
      if (!isReply(r)) return r;
      const outcome = outcomeOfStatus(r.status);
      if (outcome === 'sent') {
        const id = r.headers.get('x-message-id') ?? undefined;
        return { outcome, status: r.status, answer: `${r.status} accepted`, ...(id ? { messageId: id } : {}) };
      }
      const why = errorsText(parseJson(r.text)) ?? excerpt(r.text);
      return { outcome, status: r.status, answer: `${r.status} ${why}`.trim() };
    },
  };
}
