/**
 * The configured alert channels (the e-mail recipients as one channel, each webhook as one) and how a
 * rendered message goes out on one of them. Used by the outbox, the dashboard's "send a test alert"
 * button and `mtarep alerts test`.
 */
import type { Config } from '../config/normalize.js';
import { sendEmail } from './email.js';
import { DeliveryError } from './errors.js';
import { renderEmail, renderTestEmail, renderTestWebhook, renderWebhook, type EmailContent } from './message.js';
import type { Digest } from './state.js';
import { postWebhook, type WebhookOptions } from './webhook.js';

export interface Channel {
  /** 'email' or 'webhook:<hash>': the outbox's channel id. */
  id: string;
  type: 'email' | 'webhook';
  /** What pages and logs show (recipients; a webhook's scheme, host and port). */
  label: string;
}

/** A message rendered for one channel: what the outbox stores and sends unchanged on every retry. */
export type Rendered = { type: 'email'; email: EmailContent } | { type: 'webhook'; body: string };

export function channelsOf(config: Config): Channel[] {
  const out: Channel[] = [];
  const e = config.alerts.email;
  if (e) out.push({ id: 'email', type: 'email', label: `e-mail to ${e.to.join(', ')}` });
  for (const w of config.alerts.webhooks) out.push({ id: w.id, type: 'webhook', label: `webhook ${w.label}` });
  return out;
}

export function renderFor(ch: Channel, d: Digest, config: Config): Rendered {
  const o = { publicUrl: config.publicUrl };
  return ch.type === 'email' ? { type: 'email', email: renderEmail(d, o) } : { type: 'webhook', body: JSON.stringify(renderWebhook(d, o)) };
}

export function renderTest(ch: Channel, at: Date, config: Config): Rendered {
  const o = { publicUrl: config.publicUrl };
  return ch.type === 'email' ? { type: 'email', email: renderTestEmail(ch.label, at, o) } : { type: 'webhook', body: JSON.stringify(renderTestWebhook(at)) };
}

export interface SendOptions {
  now?: () => Date;
  webhook?: Omit<WebhookOptions, 'deliveryId' | 'now'>;
}

/**
 * Send a rendered message on a channel. `deliveryId` is stable per message and channel (Message-ID,
 * X-Mtarep-Delivery). Resolves with a short result text; throws DeliveryError.
 */
export async function sendOn(config: Config, channelId: string, msg: Rendered, deliveryId: string, o: SendOptions = {}): Promise<string> {
  if (channelId === 'email') {
    const cfg = config.alerts.email;
    if (!cfg || msg.type !== 'email') throw new DeliveryError('e-mail alerts are no longer configured', true);
    const sent = await sendEmail(cfg, msg.email, deliveryId);
    return sent.response || 'accepted';
  }
  const w = config.alerts.webhooks.find((x) => x.id === channelId);
  if (!w || msg.type !== 'webhook') throw new DeliveryError(`${channelId} is no longer configured`, true);
  const r = await postWebhook(w, msg.body, { ...o.webhook, deliveryId, ...(o.now ? { now: o.now } : {}) });
  return `HTTP ${r.status}${r.attempts > 1 ? ` after ${r.attempts} attempts` : ''}`;
}

export interface TestResult {
  channel: Channel;
  ok: boolean;
  /** The server's answer, or why it failed. */
  message: string;
}

/** Send a test message on one channel (or all when `only` is undefined) and report each result. */
export async function sendTests(config: Config, now: Date, only?: string, o: SendOptions = {}): Promise<TestResult[]> {
  const list = channelsOf(config).filter((c) => only === undefined || c.id === only);
  return Promise.all(
    list.map(async (ch) => {
      try {
        const id = `test-${now.getTime().toString(36)}-${ch.id.replace(/[^a-z0-9]/gi, '')}`;
        return { channel: ch, ok: true, message: await sendOn(config, ch.id, renderTest(ch, now, config), id, o) };
      } catch (e) {
        return { channel: ch, ok: false, message: (e as Error).message };
      }
    }),
  );
}
