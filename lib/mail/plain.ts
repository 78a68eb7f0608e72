/**
 * A plain-text message written out directly (RFC 5322, 7bit): what a probe is. nodemailer's
 * MailComposer builds a MIME tree for every message, which costs more CPU per probe than the SMTP
 * exchange itself; a message that is plain ASCII text with plain headers needs none of that. Anything
 * else (HTML, non-ASCII, long lines, addresses with display names) returns undefined and is composed
 * by MailComposer (smtp.ts).
 */
import crypto from 'node:crypto';
import type { OutgoingMessage } from './smtp.js';

/** The message as the SMTP sender takes it. */
export type PlainParts = OutgoingMessage;

const printable = /^[\x20-\x7e]*$/;
const bareAddress = /^[^\s<>()",;:@]+@[^\s<>()",;:@]+$/;
const headerName = /^[!-9;-~]+$/;

/** The raw message and its envelope, or undefined when the message needs MIME composition. */
export function plainMessage(m: PlainParts, now = new Date()): { raw: string; envelope: { from: string; to: string[] }; messageId: string } | undefined {
  if (m.html !== undefined) return undefined;
  const to = Array.isArray(m.to) ? m.to : [m.to];
  if (!bareAddress.test(m.from) || to.length === 0 || !to.every((a) => bareAddress.test(a))) return undefined;
  if (!printable.test(m.subject) || m.subject.length > 900) return undefined;
  const extra = Object.entries(m.headers ?? {});
  if (!extra.every(([k, v]) => headerName.test(k) && printable.test(v) && k.length + v.length < 900)) return undefined;
  const lines = (m.text ?? '').replace(/\r?\n/g, '\n').split('\n');
  if (!lines.every((l) => printable.test(l) && l.length <= 998)) return undefined;
  const id = m.messageId ? (m.messageId.startsWith('<') ? m.messageId : `<${m.messageId}>`) : `<${crypto.randomUUID()}@${m.from.slice(m.from.indexOf('@') + 1)}>`;
  const head = [
    `From: ${m.from}`,
    `To: ${to.join(', ')}`,
    `Subject: ${m.subject}`,
    `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${id}`,
    ...extra.map(([k, v]) => `${k}: ${v}`),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    'Content-Transfer-Encoding: 7bit',
  ];
  // A body line of a lone "." would end DATA: the SMTP client dot-stuffs every message (smtp-wire.ts dataBody).
  return { raw: `${head.join('\r\n')}\r\n\r\n${lines.join('\r\n')}`, envelope: m.envelope ?? { from: m.from, to }, messageId: id };
}
