/**
 * Signing webhook requests the way each ESP does, written here from the vendors' documentation (not
 * with mtarep's own code): SendGrid ECDSA P-256 over timestamp + raw body; Mailgun HMAC-SHA256 of
 * timestamp + token; Mandrill HMAC-SHA1 of URL + sorted form fields.
 */
import crypto from 'node:crypto';

export interface SendgridSigner {
  /** Base64 DER SPKI, as SendGrid shows the verification key. */
  publicKey: string;
  sign(body: string, timestamp: string): string;
}

export function sendgridSigner(): SendgridSigner {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    sign: (body, timestamp) => crypto.createSign('sha256').update(timestamp + body).sign(privateKey).toString('base64'),
  };
}

export function sendgridHeaders(s: SendgridSigner, body: string, timestamp: number): Record<string, string> {
  const ts = String(timestamp);
  return {
    'content-type': 'application/json',
    'x-twilio-email-event-webhook-signature': s.sign(body, ts),
    'x-twilio-email-event-webhook-timestamp': ts,
  };
}

/** A Mailgun webhook body (JSON), signed. */
export function mailgunBody(signingKey: string, eventData: Record<string, unknown>, timestamp: number, token: string): string {
  const ts = String(timestamp);
  const signature = crypto.createHmac('sha256', signingKey).update(ts + token).digest('hex');
  return JSON.stringify({ signature: { timestamp: ts, token, signature }, 'event-data': eventData });
}

/** A legacy Mailgun webhook (before 2018-06): the event's form fields followed by timestamp, token, signature. */
export function mailgunLegacyFields(signingKey: string, fields: [string, string][], timestamp: number, token: string): [string, string][] {
  const ts = String(timestamp);
  const signature = crypto.createHmac('sha256', signingKey).update(ts + token).digest('hex');
  return [...fields, ['timestamp', ts], ['token', token], ['signature', signature]];
}

/** A Mandrill webhook body (form) and its X-Mandrill-Signature. */
export function mandrillRequest(webhookKey: string, url: string, events: unknown[]): { body: string; signature: string } {
  const fields: [string, string][] = [['mandrill_events', JSON.stringify(events)]];
  let signed = url;
  for (const [k, v] of [...fields].sort(([a], [b]) => (a < b ? -1 : 1))) signed += k + v;
  const signature = crypto.createHmac('sha1', webhookKey).update(signed).digest('base64');
  return { body: new URLSearchParams(fields).toString(), signature };
}

/** A SendGrid event as its Event Webhook sends it. */
export function sgEvent(n: number, event: string, email: string, extra: Record<string, unknown> = {}, timestamp = 1714564800): Record<string, unknown> {
  return {
    email,
    timestamp,
    event,
    sg_event_id: `sg-evt-${n}-${event}`,
    sg_message_id: `sgmsg${n}.filterdrecv-p3las1-5bf6f9c4b9-2kx7q-18-5F1A2B3C-4D.0`,
    'smtp-id': `<msg${n}@mon.example.com>`,
    ...extra,
  };
}
