/**
 * The vendors' webhook events in one vocabulary (django-anymail's names): type, recipient, provider,
 * message id, SMTP status and reason, and the key that makes each event count once (SendGrid's
 * `sg_event_id`, Mailgun's signature token, Mandrill's `_id` + event + `ts`). Pure functions.
 */
import crypto from 'node:crypto';
import type { CounterType } from '../../keys.js';

export const espEventTypes = [
  'queued',
  'sent',
  'rejected',
  'failed',
  'bounced',
  'deferred',
  'delivered',
  'autoresponded',
  'opened',
  'clicked',
  'complained',
  'unsubscribed',
  'subscribed',
  'unknown',
] as const;
export type EspEventType = (typeof espEventTypes)[number];
export type WebhookVendor = 'sendgrid' | 'mailgun' | 'mandrill';

export interface EspEvent {
  provider: WebhookVendor;
  /** Idempotency key: the same event delivered again has the same id. */
  id: string;
  type: EspEventType;
  /** The vendor's own event name (`bounce`, `failed`, `hard_bounce`...). */
  espEvent: string;
  /** ISO time of the event (the vendor's timestamp). */
  at: string;
  recipient?: string;
  /** Lower-cased domain of the recipient: the field of the graph counters. */
  domain?: string;
  /** The provider's message id, as the gateway recorded it at send time. */
  messageId?: string;
  /** Enhanced status (5.1.1) or SMTP reply code when the vendor gave one. */
  smtpStatus?: string;
  reason?: string;
}

/** The graph counter an event feeds, if any. */
export function counterOf(type: EspEventType): CounterType | null {
  switch (type) {
    case 'delivered':
      return 'sent';
    case 'bounced':
      return 'bounced';
    case 'deferred':
      return 'deferred';
    case 'complained':
      return 'fbl';
    default:
      return null;
  }
}

export class BadPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadPayloadError';
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

/** The event's time; an event without a usable timestamp counts on the day it arrived. */
function isoOf(epochSec: unknown, received: Date): string {
  const n = typeof epochSec === 'string' ? Number(epochSec) : epochSec;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > 1e11) return received.toISOString();
  return new Date(Math.round(n * 1000)).toISOString();
}

function withRecipient(e: Omit<EspEvent, 'recipient' | 'domain'>, recipient: string | undefined): EspEvent {
  if (!recipient) return e;
  const at = recipient.lastIndexOf('@');
  const domain = at > 0 ? recipient.slice(at + 1).trim().toLowerCase() : '';
  return { ...e, recipient, ...(domain && /^[a-z0-9.-]+$/.test(domain) ? { domain } : {}) };
}

function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** An event without a vendor id gets a stable one from its content. */
function contentId(raw: unknown): string {
  return 'sha256-' + crypto.createHash('sha256').update(JSON.stringify(raw)).digest('hex').slice(0, 32);
}

// --- SendGrid -----------------------------------------------------------------------------------

const sendgridTypes: Record<string, EspEventType> = {
  processed: 'queued',
  dropped: 'rejected',
  delivered: 'delivered',
  deferred: 'deferred',
  open: 'opened',
  click: 'clicked',
  spamreport: 'complained',
  unsubscribe: 'unsubscribed',
  group_unsubscribe: 'unsubscribed',
  group_resubscribe: 'subscribed',
};

/** A SendGrid Event Webhook body: a JSON array of events. */
export function parseSendgrid(body: unknown, received: Date): EspEvent[] {
  if (!Array.isArray(body)) throw new BadPayloadError('the body must be a JSON array of events');
  return body.map((raw: unknown) => {
    if (raw === null || typeof raw !== 'object') throw new BadPayloadError('an event is not an object');
    const e = raw as Record<string, unknown>;
    const name = str(e.event) ?? 'unknown';
    const status = str(e.status);
    let type: EspEventType = sendgridTypes[name] ?? 'unknown';
    // A bounce with a 4.x.x status is a soft bounce; a `blocked` bounce may carry no status at all.
    if (name === 'bounce') type = status?.startsWith('4') ? 'deferred' : 'bounced';
    const sgMessageId = str(e.sg_message_id);
    return withRecipient(
      clean({
        provider: 'sendgrid' as const,
        id: str(e.sg_event_id) ?? contentId(e),
        type,
        espEvent: name === 'bounce' && str(e.type) === 'blocked' ? 'bounce/blocked' : name,
        at: isoOf(e.timestamp, received),
        messageId: sgMessageId ? sgMessageId.split('.')[0] : undefined,
        smtpStatus: status,
        reason: str(e.reason) ?? str(e.response),
      }),
      str(e.email),
    );
  });
}

// --- Mailgun ------------------------------------------------------------------------------------

const mailgunTypes: Record<string, EspEventType> = {
  accepted: 'queued',
  rejected: 'rejected',
  delivered: 'delivered',
  opened: 'opened',
  clicked: 'clicked',
  complained: 'complained',
  unsubscribed: 'unsubscribed',
};

/** One Mailgun webhook: `event-data` of the JSON body; the token (signed) is its id. */
export function parseMailgun(eventData: unknown, token: string, received: Date): EspEvent {
  if (eventData === null || typeof eventData !== 'object') throw new BadPayloadError('event-data is missing');
  const e = eventData as Record<string, unknown>;
  const name = str(e.event) ?? 'unknown';
  let type: EspEventType = mailgunTypes[name] ?? 'unknown';
  if (name === 'failed') type = e.severity === 'temporary' ? 'deferred' : 'bounced';
  const ds = (e['delivery-status'] ?? {}) as Record<string, unknown>;
  const headers = ((e.message as Record<string, unknown> | undefined)?.headers ?? {}) as Record<string, unknown>;
  const mid = str(headers['message-id']);
  return withRecipient(
    clean({
      provider: 'mailgun' as const,
      id: token,
      type,
      espEvent: name === 'failed' ? `failed/${str(e.severity) ?? 'permanent'}` : name,
      at: isoOf(e.timestamp, received),
      messageId: mid ? mid.replace(/^<(.*)>$/, '$1') : undefined,
      smtpStatus: str(ds['enhanced-code']) ?? str(ds.code),
      reason: str(ds.description) ?? str(ds.message) ?? str(e.reason),
    }),
    str(e.recipient),
  );
}

// --- Mandrill -----------------------------------------------------------------------------------

const mandrillTypes: Record<string, EspEventType> = {
  send: 'delivered',
  deferral: 'deferred',
  soft_bounce: 'deferred',
  hard_bounce: 'bounced',
  reject: 'rejected',
  spam: 'complained',
  open: 'opened',
  click: 'clicked',
  unsub: 'unsubscribed',
};

/** Mandrill's `mandrill_events` field: a JSON array. */
export function parseMandrill(events: unknown, received: Date): EspEvent[] {
  if (!Array.isArray(events)) throw new BadPayloadError('mandrill_events must be a JSON array');
  return events.map((raw: unknown) => {
    if (raw === null || typeof raw !== 'object') throw new BadPayloadError('an event is not an object');
    const e = raw as Record<string, unknown>;
    const msg = (e.msg ?? {}) as Record<string, unknown>;
    // Sync events (allow/deny list changes) have `type` and `action` instead of `event`.
    const name = str(e.event) ?? (str(e.type) ? `sync/${str(e.type)}` : 'unknown');
    const diag = str(msg.diag);
    const enhanced = diag ? /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(diag)?.[1] : undefined;
    const messageId = str(msg._id) ?? str(e._id);
    return withRecipient(
      clean({
        provider: 'mandrill' as const,
        // Mandrill gives events no id of their own: message id + event + time is stable across retries.
        id: messageId ? `${messageId}:${name}:${str(e.ts) ?? ''}` : contentId(e),
        type: mandrillTypes[name] ?? 'unknown',
        espEvent: name,
        at: isoOf(e.ts, received),
        messageId,
        smtpStatus: enhanced ?? (diag ? /\b([245]\d\d)\b/.exec(diag)?.[1] : undefined),
        reason: str(msg.bounce_description) ?? diag,
      }),
      str(msg.email),
    );
  });
}
