/**
 * One webhook request from an ESP, from raw bytes to stored events: signature (the vendor's scheme,
 * constant-time), replay window, parse, normalise, store exactly once. Answers as data
 * (status + JSON body) so the web route stays a thin adapter:
 * - 404 the vendor's key is not configured; 401 signature headers or fields missing; 403 bad
 *   signature or a timestamp outside the replay window; 400 a body that is not the vendor's shape;
 *   406 a Mailgun token already used (Mailgun does not retry a 406); 503 storage failed (the ESP
 *   retries; nothing was counted). Nothing is written unless the signature holds.
 * - 200 with {received, counted, duplicates, settled}: a batch is stored in one step; events seen
 *   before (an ESP retrying) are acknowledged but not counted again; `settled` probes were marked
 *   bounced by a bounce / reject / drop event matched to them by message id.
 */
import type crypto from 'node:crypto';
import type { EspConfig } from '../../config/esp.js';
import type { Keys } from '../../keys.js';
import { silentLogger, type Logger } from '../../log.js';
import type { Redis } from '../../redis.js';
import { BadPayloadError, parseMailgun, parseMailgunLegacy, parseMandrill, parseSendgrid, type EspEvent, type WebhookVendor } from './events.js';
import { BadKeyError, type IngestOptions, type IngestResult } from './ingest.js';
import { IngestQueue } from './ingest-queue.js';
import { sendgridKey, verifyMailgun, verifyMandrill, verifySendgrid } from './verify.js';

export const webhookVendors: readonly WebhookVendor[] = ['sendgrid', 'mailgun', 'mandrill'];

export interface WebhookRequest {
  header(name: string): string | undefined;
  body: Buffer;
}

export interface WebhookReply {
  status: number;
  body: Record<string, unknown>;
}

export interface ReceiverDeps {
  esp: EspConfig | undefined;
  redis: Redis;
  k: Keys;
  log?: Logger;
  now?: () => Date;
  /** Retention of the counters (retention.counters_days in seconds). */
  counterTtlSec: number;
  /** Called with the events counted now (not duplicates), e.g. to settle probes. Failures are logged. */
  onEvents?: (events: EspEvent[]) => Promise<void>;
}

const reply = (status: number, body: Record<string, unknown>): WebhookReply => ({ status, body });

export class WebhookReceiver {
  private readonly sgKey: crypto.KeyObject | undefined;
  private readonly log: Logger;
  private readonly now: () => Date;
  /** Batches arriving together are stored in one call (exactly once, acknowledged once stored). */
  private readonly queue: IngestQueue | undefined;

  constructor(private readonly deps: ReceiverDeps) {
    const pk = deps.esp?.webhooks.sendgrid?.publicKey;
    this.sgKey = pk ? sendgridKey(pk) : undefined;
    this.queue = deps.esp ? new IngestQueue(deps.redis, deps.k, { countersId: deps.esp.webhooks.countersId, counterTtlSec: deps.counterTtlSec }) : undefined;
    this.log = deps.log ?? silentLogger;
    this.now = deps.now ?? (() => new Date());
  }

  configured(vendor: WebhookVendor): boolean {
    return this.deps.esp?.webhooks[vendor] !== undefined;
  }

  async receive(vendor: WebhookVendor, req: WebhookRequest): Promise<WebhookReply> {
    if (!this.configured(vendor)) return reply(404, { error: `the ${vendor} webhook is not configured (esp.webhooks.${vendor})` });
    try {
      const checked = vendor === 'sendgrid' ? this.sendgrid(req) : vendor === 'mailgun' ? await this.mailgun(req) : this.mandrill(req);
      if ('status' in checked) {
        if (checked.status === 401 || checked.status === 403) this.log.warn(`webhook ${vendor} refused`, { status: checked.status, error: checked.body.error });
        return checked;
      }
      // A SendGrid batch's latest-events entry is its raw body (read back with parseSendgrid).
      return await this.store(vendor, checked.events, vendor === 'sendgrid' ? { format: 'sendgrid', payload: req.body } : undefined);
    } catch (e) {
      if (e instanceof BadPayloadError) return reply(400, { error: e.message });
      throw e;
    }
  }

  private inWindow(ts: string): boolean {
    const n = Number(ts);
    if (!Number.isFinite(n)) return false;
    return Math.abs(this.now().getTime() / 1000 - n) <= this.deps.esp!.webhooks.replayWindowS;
  }

  private sendgrid(req: WebhookRequest): WebhookReply | { events: EspEvent[] } {
    const sig = req.header('x-twilio-email-event-webhook-signature');
    const ts = req.header('x-twilio-email-event-webhook-timestamp');
    if (!sig || !ts) return reply(401, { error: 'missing X-Twilio-Email-Event-Webhook-Signature / -Timestamp' });
    // Nothing is parsed before the signature holds.
    if (!verifySendgrid(this.sgKey!, sig, ts, req.body)) return reply(403, { error: 'bad signature' });
    if (!this.inWindow(ts)) return reply(403, { error: 'timestamp outside the replay window' });
    return { events: parseSendgrid(parseJson(req.body), this.now()) };
  }

  private async mailgun(req: WebhookRequest): Promise<WebhookReply | { events: EspEvent[] }> {
    const ct = (req.header('content-type') ?? '').toLowerCase();
    if (ct.startsWith('application/x-www-form-urlencoded') || ct.startsWith('multipart/form-data')) return this.mailgunLegacy(req, ct);
    const body = parseJson(req.body) as { signature?: Record<string, unknown>; 'event-data'?: unknown } | null;
    const s = body && typeof body === 'object' ? body.signature : undefined;
    const ts = s?.timestamp;
    const token = s?.token;
    const signature = s?.signature;
    if (typeof ts !== 'string' && typeof ts !== 'number') return reply(401, { error: 'missing signature.timestamp' });
    if (typeof token !== 'string' || token === '' || typeof signature !== 'string') return reply(401, { error: 'missing signature.token / signature.signature' });
    if (!verifyMailgun(this.deps.esp!.webhooks.mailgun!.signingKey, String(ts), token, signature)) return reply(403, { error: 'bad signature' });
    if (!this.inWindow(String(ts))) return reply(403, { error: 'timestamp outside the replay window' });
    return { events: [parseMailgun(body!['event-data'], token, String(ts), this.now())] };
  }

  /** Legacy webhooks: the signature's three values are form fields among the event's (their last values). */
  private async mailgunLegacy(req: WebhookRequest, ct: string): Promise<WebhookReply | { events: EspEvent[] }> {
    const fields = await formFields(req.body, ct);
    const last = (name: string) => [...fields].reverse().find(([n]) => n === name)?.[1];
    const ts = last('timestamp');
    const token = last('token');
    const signature = last('signature');
    if (ts === undefined) return reply(401, { error: 'missing the timestamp field' });
    if (!token || signature === undefined) return reply(401, { error: 'missing the token / signature fields' });
    if (!verifyMailgun(this.deps.esp!.webhooks.mailgun!.signingKey, ts, token, signature)) return reply(403, { error: 'bad signature' });
    if (!this.inWindow(ts)) return reply(403, { error: 'timestamp outside the replay window' });
    if (!fields.some(([n]) => n === 'event')) throw new BadPayloadError('the event field is missing');
    return { events: [parseMailgunLegacy(fields, token, this.now())] };
  }

  private mandrill(req: WebhookRequest): WebhookReply | { events: EspEvent[] } {
    const sig = req.header('x-mandrill-signature');
    if (!sig) return reply(401, { error: 'missing X-Mandrill-Signature' });
    const form = new URLSearchParams(req.body.toString('utf8'));
    const cfg = this.deps.esp!.webhooks.mandrill!;
    if (!verifyMandrill(cfg.webhookKey, cfg.url, form.entries(), sig)) return reply(403, { error: 'bad signature' });
    const events = form.get('mandrill_events');
    if (events === null) throw new BadPayloadError('mandrill_events is missing');
    return { events: parseMandrill(parseJson(Buffer.from(events, 'utf8')), this.now()) };
  }

  private async store(vendor: WebhookVendor, events: EspEvent[], latest?: IngestOptions['latest']): Promise<WebhookReply> {
    let stored: IngestResult;
    try {
      stored = await this.queue!.ingest(events, { now: this.now(), ...(latest ? { latest } : {}) });
    } catch (e) {
      this.log.error(`webhook ${vendor}: events not stored`, { error: (e as Error).message, events: events.length });
      return reply(e instanceof BadKeyError ? 500 : 503, { error: 'storage failed; nothing was counted, retry later' });
    }
    const counted = events.filter((_, i) => stored.counted[i]);
    const duplicates = events.length - counted.length;
    const settled = stored.settled.filter(Boolean).length;
    // A Mailgun token is single-use: the same signed request again is a replay (406: Mailgun does not retry it).
    if (vendor === 'mailgun' && counted.length === 0) return reply(406, { error: 'token already used (replay)', received: events.length, counted: 0, duplicates });
    if (counted.length > 0 && this.deps.onEvents) {
      try {
        await this.deps.onEvents(counted);
      } catch (e) {
        this.log.error(`webhook ${vendor}: event hook failed`, { error: (e as Error).message });
      }
    }
    return reply(200, { received: events.length, counted: counted.length, duplicates, settled });
  }
}

/** The text fields of a urlencoded or multipart body (attachments of a multipart body are skipped). */
async function formFields(body: Buffer, contentType: string): Promise<[string, string][]> {
  if (contentType.startsWith('application/x-www-form-urlencoded')) return [...new URLSearchParams(body.toString('utf8'))];
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw new BadPayloadError('the body is not valid multipart/form-data');
  }
  const out: [string, string][] = [];
  form.forEach((v, n) => {
    if (typeof v === 'string') out.push([n, v]);
  });
  return out;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new BadPayloadError('the body is not valid JSON');
  }
}
