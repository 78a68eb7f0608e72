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
  /**
   * The UTC day (days since the epoch) of a time that the signature fixes together with `id`, so
   * every delivery of the event has the same one: it decides the one seen-id set the id can be in
   * (lib/esp/webhooks/ingest.ts). SendGrid: the event's `timestamp` and Mandrill: its `ts` (both in
   * the signed body); Mailgun: the signature's timestamp (its `event-data` is not signed). Absent
   * when the event has no usable time: then the sets of the last days of arrival are checked.
   */
  idDay?: number;
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

/** Epoch ms of a vendor's epoch-seconds timestamp, undefined when it is not a usable one. */
function msOf(epochSec: unknown): number | undefined {
  const n = typeof epochSec === 'string' ? Number(epochSec) : epochSec;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > 1e11) return undefined;
  return Math.round(n * 1000);
}

/** The event's time; an event without a usable timestamp counts on the day it arrived. */
function isoOf(epochSec: unknown, received: Date): string {
  const ms = msOf(epochSec);
  return ms === undefined ? received.toISOString() : new Date(ms).toISOString();
}

/** The UTC day (days since the epoch) of a signed epoch-seconds timestamp (EspEvent.idDay). */
export function idDayOf(epochSec: unknown): number | undefined {
  const ms = msOf(epochSec);
  return ms === undefined ? undefined : Math.floor(ms / 86_400_000);
}

/** One event, with only the optional fields that have a value (built directly: this runs per event of every batch). */
function makeEvent(
  provider: WebhookVendor,
  id: string,
  type: EspEventType,
  espEvent: string,
  at: string,
  idDay: number | undefined,
  recipient: string | undefined,
  messageId: string | undefined,
  smtpStatus: string | undefined,
  reason: string | undefined,
): EspEvent {
  const e: EspEvent = { provider, id, type, espEvent, at };
  if (idDay !== undefined) e.idDay = idDay;
  if (recipient !== undefined) {
    e.recipient = recipient;
    const i = recipient.lastIndexOf('@');
    const domain = i > 0 ? domainOf(recipient.slice(i + 1)) : '';
    if (domain !== '') e.domain = domain;
  }
  if (messageId !== undefined) e.messageId = messageId;
  if (smtpStatus !== undefined) e.smtpStatus = smtpStatus;
  if (reason !== undefined) e.reason = reason;
  return e;
}

/** Recipient domains as written -> lower-cased, '' when not a domain; a batch repeats a few of them. */
const domains = new Map<string, string>();

function domainOf(written: string): string {
  let d = domains.get(written);
  if (d === undefined) {
    const lower = written.trim().toLowerCase();
    d = lower !== '' && /^[a-z0-9.-]+$/.test(lower) ? lower : '';
    if (domains.size >= 10_000) domains.clear();
    domains.set(written, d);
  }
  return d;
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

/** The part of `sg_message_id` before its first dot: the X-Message-Id the send returned. */
function messageIdOf(sgMessageId: string): string {
  const dot = sgMessageId.indexOf('.');
  return dot < 0 ? sgMessageId : sgMessageId.slice(0, dot);
}

/** A SendGrid Event Webhook body: a JSON array of events. */
export function parseSendgrid(body: unknown, received: Date): EspEvent[] {
  if (!Array.isArray(body)) throw new BadPayloadError('the body must be a JSON array of events');
  // The events of a batch share a handful of timestamps: each is formatted once.
  const times = new Map<unknown, { iso: string; day: number | undefined }>();
  const timeOf = (ts: unknown) => {
    let t = times.get(ts);
    if (t === undefined) {
      t = { iso: isoOf(ts, received), day: idDayOf(ts) };
      times.set(ts, t);
    }
    return t;
  };
  return body.map((raw: unknown) => {
    if (raw === null || typeof raw !== 'object') throw new BadPayloadError('an event is not an object');
    const e = raw as Record<string, unknown>;
    const name = str(e.event) ?? 'unknown';
    const status = str(e.status);
    let type: EspEventType = sendgridTypes[name] ?? 'unknown';
    // A bounce with a 4.x.x status is a soft bounce; a `blocked` bounce may carry no status at all.
    if (name === 'bounce') type = status?.startsWith('4') ? 'deferred' : 'bounced';
    const sgMessageId = str(e.sg_message_id);
    const time = timeOf(e.timestamp);
    return makeEvent(
      'sendgrid',
      str(e.sg_event_id) ?? contentId(e),
      type,
      name === 'bounce' && str(e.type) === 'blocked' ? 'bounce/blocked' : name,
      time.iso,
      time.day,
      str(e.email),
      sgMessageId ? messageIdOf(sgMessageId) : undefined,
      status,
      str(e.reason) ?? str(e.response),
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

/** One Mailgun webhook: `event-data` of the JSON body; the token (signed, with `signedTimestamp`) is its id. */
export function parseMailgun(eventData: unknown, token: string, signedTimestamp: string, received: Date): EspEvent {
  if (eventData === null || typeof eventData !== 'object') throw new BadPayloadError('event-data is missing');
  const e = eventData as Record<string, unknown>;
  const name = str(e.event) ?? 'unknown';
  let type: EspEventType = mailgunTypes[name] ?? 'unknown';
  if (name === 'failed') type = e.severity === 'temporary' ? 'deferred' : 'bounced';
  const ds = (e['delivery-status'] ?? {}) as Record<string, unknown>;
  const headers = ((e.message as Record<string, unknown> | undefined)?.headers ?? {}) as Record<string, unknown>;
  const mid = str(headers['message-id']);
  return makeEvent(
    'mailgun',
    token,
    type,
    name === 'failed' ? `failed/${str(e.severity) ?? 'permanent'}` : name,
    isoOf(e.timestamp, received),
    idDayOf(signedTimestamp),
    str(e.recipient),
    mid ? mid.replace(/^<(.*)>$/, '$1') : undefined,
    str(ds['enhanced-code']) ?? str(ds.code),
    str(ds.description) ?? str(ds.message) ?? str(e.reason),
  );
}

const mailgunLegacyTypes: Record<string, EspEventType> = {
  delivered: 'delivered',
  dropped: 'rejected',
  bounced: 'bounced',
  complained: 'complained',
  unsubscribed: 'unsubscribed',
  opened: 'opened',
  clicked: 'clicked',
};

/**
 * One legacy Mailgun webhook (before 2018-06: form fields, urlencoded or multipart). Mailgun merges
 * the sender's custom variables into the same fields, so the first value of a field is Mailgun's,
 * except token / timestamp / signature, whose last value is (the caller verified those).
 */
export function parseMailgunLegacy(fields: readonly [string, string][], token: string, received: Date): EspEvent {
  // The last timestamp field is the signed one (the caller verified it with the token).
  const first = (name: string) => fields.find(([n]) => n === name)?.[1];
  const name = first('event') ?? 'unknown';
  const mid = first('Message-Id') ?? first('message-id');
  const timestamp = [...fields].reverse().find(([n]) => n === 'timestamp')?.[1];
  return makeEvent(
    'mailgun',
    token,
    mailgunLegacyTypes[name] ?? 'unknown',
    name,
    isoOf(timestamp, received),
    idDayOf(timestamp),
    str(first('recipient')),
    mid ? mid.trim().replace(/^<(.*)>$/, '$1') : undefined,
    str(first('code')),
    str(first('description')) ?? str(first('error')) ?? str(first('notification')) ?? str(first('reason')),
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
    return makeEvent(
      'mandrill',
      // Mandrill gives events no id of their own: message id + event + time is stable across retries.
      messageId ? `${messageId}:${name}:${str(e.ts) ?? ''}` : contentId(e),
      mandrillTypes[name] ?? 'unknown',
      name,
      isoOf(e.ts, received),
      idDayOf(e.ts),
      str(msg.email),
      messageId,
      enhanced ?? (diag ? /\b([245]\d\d)\b/.exec(diag)?.[1] : undefined),
      str(msg.bounce_description) ?? diag,
    );
  });
}
