/**
 * Is a message in the probe mailbox a returned probe, a bounce of one, or something else? Returns are
 * recognised by token (subject, tolerant of Re:/AW:/Fwd:, or headers) from a plausible sender; a
 * delivery-status notification (multipart/report; report-type=delivery-status, parsed with mailparser)
 * with Action: failed makes the probe bounced. Anything else is left alone.
 */
import { simpleParser } from 'mailparser';
import { addressOf, header, receivedDate, type HeaderMap } from '../../lib/mail/headers.js';
import type { ScanFilter } from '../../lib/mail/imap.js';
import { tokenFilter } from '../../lib/mail/match.js';
import { findTokens } from '../../lib/mail/token.js';
import type { ProbeRecord } from '../../lib/probes/model.js';

export interface MailView {
  parsed: HeaderMap;
  tokens: string[];
  folder: string;
  junk: boolean;
  internalDate: Date | undefined;
  /** The whole message, fetched only when needed (DSNs). */
  source(): Promise<Buffer | undefined>;
}

export type Outcome =
  | { kind: 'return'; token: string; returnedAt: number }
  | { kind: 'bounce'; token: string; status?: string; diagnostic?: string; from: string }
  /** A probe's message that changes nothing (a delay notice, a second copy): delete when matched. */
  | { kind: 'noise'; token: string }
  | undefined;

const daemon = /^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@/i;

/**
 * What the IMAP server searches for before anything is fetched: a token where tokensInHeaders looks,
 * or what looksLikeDsn looks at (a superset: each hit is still checked here).
 */
export const probeScanFilter: ScanFilter = {
  subject: [...tokenFilter.subject],
  header: [...tokenFilter.header, ['Content-Type', 'multipart/report'], ['Return-Path', '<>']],
  from: ['mailer-daemon', 'postmaster', 'mail-daemon', 'mailerdaemon'],
};

export function looksLikeDsn(h: HeaderMap): boolean {
  const ct = (header(h, 'content-type') ?? '').toLowerCase();
  if (ct.includes('multipart/report') && ct.includes('delivery-status')) return true;
  const from = addressOf(header(h, 'from'));
  const rp = header(h, 'return-path');
  return daemon.test(from) || (rp !== undefined && addressOf(rp) === '');
}

/** The time of the hop into the probe mailbox: the topmost Received: header with a date. */
export function arrivalTime(h: HeaderMap, fallback: Date | undefined, now: number): number {
  for (const r of h.get('received') ?? []) {
    const d = receivedDate(r);
    if (d) return d.getTime();
  }
  return fallback?.getTime() ?? now;
}

/** Fields of a message/delivery-status body (per-recipient part: Action, Status, Diagnostic-Code). */
export function parseDeliveryStatus(text: string): { action?: string; status?: string; diagnostic?: string } {
  const unfolded = text.replace(/\r?\n[ \t]+/g, ' ');
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'im').exec(unfolded)?.[1]?.trim();
  const out: { action?: string; status?: string; diagnostic?: string } = {};
  const action = field('Action');
  const status = field('Status');
  const diag = field('Diagnostic-Code');
  if (action) out.action = action.toLowerCase();
  if (status) out.status = status;
  if (diag) out.diagnostic = diag.replace(/^smtp;\s*/i, '');
  return out;
}

export async function classify(m: MailView, known: (token: string) => Promise<ProbeRecord | undefined>, probeFrom: string, now: number): Promise<Outcome> {
  const h = m.parsed;
  if (looksLikeDsn(h)) {
    const ct = (header(h, 'content-type') ?? '').toLowerCase();
    // A DSN carries the probe's headers in its body; only read bodies of DSN-looking messages.
    if (!ct.includes('multipart/report') && m.tokens.length === 0) return undefined;
    const src = await m.source();
    if (!src) return undefined;
    const mail = await simpleParser(src, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
    let ds: ReturnType<typeof parseDeliveryStatus> = {};
    let bodyTokens: string[] = [];
    for (const a of mail.attachments) {
      const t = a.contentType.toLowerCase();
      if (t === 'message/delivery-status' || t === 'message/global-delivery-status') ds = parseDeliveryStatus(a.content.toString('utf8'));
      if (t === 'text/rfc822-headers' || t === 'message/rfc822' || t === 'message/global-headers') bodyTokens.push(...findTokens(a.content.toString('utf8')));
    }
    if (!ds.action) ds = parseDeliveryStatus(src.toString('utf8'));
    if (bodyTokens.length === 0) bodyTokens = findTokens(src.toString('utf8'));
    let token: string | undefined;
    for (const t of [...m.tokens, ...bodyTokens]) {
      if (await known(t)) {
        token = t;
        break;
      }
    }
    if (!token) return undefined;
    if (ds.action && ds.action !== 'failed') return { kind: 'noise', token };
    return { kind: 'bounce', token, ...(ds.status ? { status: ds.status } : {}), ...(ds.diagnostic ? { diagnostic: ds.diagnostic } : {}), from: addressOf(header(h, 'from')) };
  }
  for (const token of m.tokens) {
    const p = await known(token);
    if (!p) continue;
    // A genuine return comes from the test mailbox (auto-reply), its domain, or as a forward from us.
    const from = addressOf(header(h, 'from'));
    const fromDomain = from.slice(from.lastIndexOf('@') + 1);
    if (from !== probeFrom && from !== p.address && fromDomain !== p.domain) continue;
    if (p.returnedAt !== undefined || p.bounce || p.sendError) return { kind: 'noise', token };
    return { kind: 'return', token, returnedAt: arrivalTime(h, m.internalDate, now) };
  }
  return undefined;
}
