/**
 * Mailgun v3 messages: `POST {api_url}<domain>/messages`, basic auth `api:<key>`, form fields; custom
 * headers as `h:<Name>`. 200 `{id:"<...>", message:"Queued. Thank you."}`; 400 `{message}` for a bad
 * message; 401 for a bad key; 404 for a domain the account does not have.
 */
import type { EspProviderConfig } from '../../config/esp.js';
import { basicAuthHeader, excerpt, isReply, outcomeOfStatus, parseJson, post, type FetchFn } from '../http.js';
import type { ProviderAdapter } from '../types.js';

type Cfg = Extract<EspProviderConfig, { name: 'mailgun' }>;

/** Mailgun's id is `<x@domain>`; its webhooks carry it without the brackets. */
export function bareMessageId(id: string): string {
  return id.trim().replace(/^<(.*)>$/, '$1');
}

export function mailgunAdapter(cfg: Cfg, opts: { timeoutMs: number; fetch: FetchFn }): ProviderAdapter {
  return {
    name: 'mailgun',
    async send(msg) {
      const form = new URLSearchParams();
      form.set('from', msg.from);
      form.set('to', msg.to);
      form.set('subject', msg.subject);
      form.set('text', msg.text);
      if (msg.html !== undefined) form.set('html', msg.html);
      for (const [name, value] of Object.entries(msg.headers ?? {})) form.set(`h:${name}`, value);
      const r = await post(
        opts.fetch,
        `${cfg.apiUrl}${encodeURIComponent(cfg.domain)}/messages`,
        {
          headers: { authorization: basicAuthHeader('api', cfg.apiKey), 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
        },
        opts.timeoutMs,
      );
      if (!isReply(r)) return r;
      const body = parseJson(r.text) as { id?: unknown; message?: unknown } | undefined;
      const said = typeof body?.message === 'string' ? body.message : excerpt(r.text);
      const outcome = outcomeOfStatus(r.status);
      if (outcome === 'sent') {
        const id = typeof body?.id === 'string' ? bareMessageId(body.id) : undefined;
        return { outcome, status: r.status, answer: `${r.status} ${said}`.trim(), ...(id ? { messageId: id } : {}) };
      }
      return { outcome, status: r.status, answer: `${r.status} ${said}`.trim() };
    },
  };
}
