/**
 * IMAP reader over imapflow: log in, list folders (the Junk folder by its SPECIAL-USE `\Junk` flag,
 * RFC 6154), read new messages since a UID in bounded batches (headers only, streamed, so memory does
 * not grow with the mailbox), fetch one message's source, search by header or subject, delete by UID.
 * Every failure is a `MailError` with stage imap-connect / imap-auth / imap-search; the password is
 * scrubbed from all of them.
 *
 * The bulk commands (the header FETCH of a scan, the STORE and EXPUNGE of a delete) go through
 * imapflow's command runner with handlers of their own: imapflow turns every FETCH answer into a rich
 * message object (and compiles every answer for its log even with logging off), which cost more than
 * the server's work for a thousand probes. Nothing is ENABLEd (no CONDSTORE): with CONDSTORE on, a
 * `STORE ... +FLAGS.SILENT` still answers one FETCH (MODSEQ) per message (RFC 7162 3.1.3), and QRESYNC
 * (which turns the EXPUNGE answers into one VANISHED) implies CONDSTORE, so either way a delete of n
 * messages is n answers; without it the STORE is silent and only the EXPUNGE answers.
 *
 *   const imap = await openImap({ host, port: 993, tls: 'tls', user, password });
 *   await imap.scan('INBOX', { sinceUid: 0 }, (m) => { ... m.headers ... });
 *   await imap.close();
 */
import { ImapFlow } from 'imapflow';
import { MailError, secretsOfSettings } from './errors.js';
import { tlsOptions, type TlsSettings } from './tls.js';

export interface ImapSettings extends TlsSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Connect / greeting / socket inactivity timeout in ms (default 15 s). */
  timeoutMs?: number | undefined;
}

export interface FolderInfo {
  path: string;
  /** '\Junk', '\Sent', '\Inbox', ... when the server (or the name) says so. */
  specialUse: string | undefined;
}

/** One message as the scan sees it: raw header block, no body. */
export interface ScannedMessage {
  folder: string;
  uid: number;
  /** The header section as sent by the server (unfolded parsing is the caller's: see headers.ts). */
  headers: string;
  internalDate: Date | undefined;
  size: number | undefined;
}

/**
 * Any-of criteria the server evaluates (one UID SEARCH) before anything is fetched: only matching
 * messages cross the wire and get parsed, so a large mailbox of other mail costs the server a search,
 * not the client a FETCH response per message. A superset filter: the caller still checks each hit.
 */
export interface ScanFilter {
  /** Substrings of the (decoded) Subject. */
  subject?: string[];
  /** [header name, substring] pairs; '' matches any message that has the header. */
  header?: [string, string][];
  /** Substrings of From. */
  from?: string[];
}

export interface ScanOptions {
  /** Only messages with a UID above this (0 or absent: all). */
  sinceUid?: number;
  /** When given and the folder's UIDVALIDITY differs, the scan starts over from UID 1. */
  uidValidity?: string | undefined;
  /** UIDs fetched per FETCH command (default 500): bounds memory. */
  batch?: number;
  /** Fetch only the new messages matching this (searched by the server); every new message otherwise. */
  filter?: ScanFilter;
}

export interface ScanState {
  folder: string;
  uidValidity: string;
  /** The highest UID seen (or sinceUid when nothing new): the next scan's `sinceUid`. */
  lastUid: number;
  /** New messages in the folder (all of them were looked at, by the server when filtered). */
  scanned: number;
  /** Messages fetched and handed to onMessage (= scanned without a filter). */
  fetched: number;
  /** True when UIDVALIDITY changed (or was unknown) and the whole folder was read. */
  reset: boolean;
}

export interface ImapReader {
  folders(): Promise<FolderInfo[]>;
  /** The folder flagged `\Junk` (falls back to one named Junk/Spam when the server has no SPECIAL-USE). */
  junkFolder(): Promise<string | undefined>;
  scan(folder: string, opts: ScanOptions, onMessage: (m: ScannedMessage) => void | Promise<void>): Promise<ScanState>;
  /** UIDs in a folder whose header `name` contains `value` (UID SEARCH HEADER), or subject when name is 'subject'. */
  search(folder: string, q: { header?: [string, string]; subject?: string; since?: Date }): Promise<number[]>;
  /** Headers of some UIDs. */
  fetchHeaders(folder: string, uids: number[]): Promise<ScannedMessage[]>;
  /** The whole message (up to maxBytes) of one UID, or undefined when it is gone. */
  fetchSource(folder: string, uid: number, maxBytes?: number): Promise<Buffer | undefined>;
  /** Delete (flag \Deleted + UID EXPUNGE) exactly these UIDs. */
  delete(folder: string, uids: number[]): Promise<void>;
  close(): Promise<void>;
}

interface ImapFlowError extends Error {
  authenticationFailed?: boolean;
  responseText?: string;
  serverResponseCode?: string;
  code?: string;
}

function connectError(e: unknown, secrets: readonly string[]): MailError {
  const err = (e ?? {}) as ImapFlowError;
  if (err.authenticationFailed || err.serverResponseCode === 'AUTHENTICATIONFAILED') {
    return new MailError('imap-auth', `login refused${err.responseText ? `: ${err.responseText}` : ''}`, {
      cause: e,
      response: err.responseText,
      code: err.serverResponseCode ?? err.code,
      secrets,
    });
  }
  return new MailError('imap-connect', err.message || String(e), { cause: e, code: err.code, response: err.responseText, secrets });
}

function searchError(e: unknown, folder: string, secrets: readonly string[]): MailError {
  if (e instanceof MailError) return e;
  const err = (e ?? {}) as ImapFlowError;
  return new MailError('imap-search', `${folder}: ${err.responseText || err.message || String(e)}`, {
    cause: e,
    code: err.serverResponseCode ?? err.code,
    secrets,
  });
}

/** An answer as imapflow's parser gives it: `* 12 FETCH (UID 7 ...)` is command '12', attributes [FETCH, [...]]. */
interface ParsedAnswer {
  command: string;
  attributes?: unknown[];
}

interface ParsedNode {
  type?: string;
  value?: unknown;
  section?: ParsedNode[];
}

/** imapflow's command runner (`exec`, not in its typings): answers named in `untagged` go to these handlers only. */
type Exec = (
  command: string,
  attributes: unknown[],
  options?: { untagged?: Record<string, (a: ParsedAnswer) => void | Promise<void>> },
) => Promise<{ next: () => void }>;

const atom = (value: string) => ({ type: 'ATOM', value });
/** The header FETCH of a scan: UID, INTERNALDATE, RFC822.SIZE and BODY.PEEK[HEADER] (\Seen is not set). */
const HEADER_ITEMS = [atom('UID'), atom('INTERNALDATE'), atom('RFC822.SIZE'), { type: 'ATOM', value: 'BODY.PEEK', section: [atom('HEADER')] }];

/** One FETCH answer as a ScannedMessage, or undefined when it carries no UID or no header (an unsolicited flag change). */
export function headerAnswer(a: ParsedAnswer, folder: string): ScannedMessage | undefined {
  const list = a.attributes?.[1];
  if (!Array.isArray(list)) return undefined;
  let uid: number | undefined;
  let internalDate: Date | undefined;
  let size: number | undefined;
  let headers: string | undefined;
  for (let i = 0; i < list.length - 1; i += 2) {
    const key = list[i] as ParsedNode;
    const val = list[i + 1] as ParsedNode;
    const name = typeof key?.value === 'string' ? key.value.toUpperCase() : '';
    if (name === 'UID') uid = Number(val?.value);
    else if (name === 'INTERNALDATE' && typeof val?.value === 'string') {
      const d = new Date(val.value);
      if (!Number.isNaN(d.getTime())) internalDate = d;
    } else if (name === 'RFC822.SIZE') size = Number(val?.value);
    else if (name === 'BODY' || name === 'BODY[HEADER]') {
      const v = val?.value;
      headers = Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : '';
    }
  }
  if (uid === undefined || !Number.isSafeInteger(uid) || headers === undefined) return undefined;
  return { folder, uid, headers, internalDate, size: size !== undefined && Number.isFinite(size) ? size : undefined };
}

/** UIDs as an IMAP sequence set, consecutive runs as ranges (1,2,3,7 -> 1:3,7): a shorter command. */
export function uidSet(uids: readonly number[]): string {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `${sorted[i]}:${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return parts.join(',');
}

/** A ScanFilter as imapflow's `or` list (one criterion per entry). */
function filterQuery(f: ScanFilter): Record<string, unknown>[] {
  return [
    ...(f.subject ?? []).map((v) => ({ subject: v })),
    ...(f.header ?? []).map(([name, v]) => ({ header: { [name]: v } })),
    ...(f.from ?? []).map((v) => ({ from: v })),
  ];
}

/** Connect and log in; a typed error (imap-connect / imap-auth) when that fails. */
export async function openImap(s: ImapSettings): Promise<ImapReader> {
  const secrets = secretsOfSettings(s);
  const timeout = s.timeoutMs ?? 15_000;
  const client = new ImapFlow({
    host: s.host,
    port: s.port,
    secure: s.tls === 'tls',
    doSTARTTLS: s.tls === 'starttls',
    auth: { user: s.user, pass: s.password },
    tls: tlsOptions(s.host, s),
    logger: false,
    disableAutoIdle: true,
    // No ENABLE CONDSTORE: it would make the delete's silent STORE answer once per message (see above).
    disableAutoEnable: true,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: Math.max(timeout, 30_000),
  });
  // imapflow emits 'error' on socket trouble after connect; without a listener it would crash the process.
  let lastError: unknown;
  client.on('error', (e: unknown) => {
    lastError = e;
  });
  try {
    await client.connect();
  } catch (e) {
    client.close();
    throw connectError(e, secrets);
  }

  const open = async (folder: string) => {
    try {
      return await client.mailboxOpen(folder);
    } catch (e) {
      throw searchError(e, folder, secrets);
    }
  };
  const guard = <T>(folder: string, fn: () => Promise<T>): Promise<T> =>
    fn().catch((e: unknown) => {
      throw searchError(lastError && !client.usable ? lastError : e, folder, secrets);
    });

  const exec = (client as unknown as { exec: Exec }).exec.bind(client);
  /**
   * UID FETCH of headers with every answer handed to `on` as it is parsed (streamed: nothing is
   * collected). A failing `on` stops nothing mid-command (imapflow would only log it): the first
   * failure is thrown once the command has completed.
   */
  const fetchHeaderAnswers = async (folder: string, set: string, on: (m: ScannedMessage) => void | Promise<void>) => {
    let failure: { e: unknown } | undefined;
    const done = await exec('UID FETCH', [{ type: 'SEQUENCE', value: set }, HEADER_ITEMS], {
      untagged: {
        FETCH: async (a) => {
          if (failure) return;
          const m = headerAnswer(a, folder);
          if (!m) return;
          try {
            await on(m);
          } catch (e) {
            failure = { e };
          }
        },
      },
    });
    done.next();
    if (failure) throw failure.e;
  };
  /** The answers a delete causes, dropped unread (the folder is selected afresh before its next use). */
  const ignore = { FETCH: () => {}, EXPUNGE: () => {}, VANISHED: () => {} };

  const reader: ImapReader = {
    async folders() {
      try {
        const list = await client.list();
        return list.map((f) => ({ path: f.path, specialUse: f.specialUse }));
      } catch (e) {
        throw searchError(e, 'LIST', secrets);
      }
    },
    async junkFolder() {
      const list = await reader.folders();
      return list.find((f) => f.specialUse === '\\Junk')?.path ?? list.find((f) => /^(junk|spam)$/i.test(f.path.split(/[/.]/).pop() ?? ''))?.path;
    },
    scan: (folder, opts, onMessage) =>
      guard(folder, async () => {
        const box = await open(folder);
        const uidValidity = String(box.uidValidity);
        const reset = opts.uidValidity !== undefined && opts.uidValidity !== uidValidity;
        let from = reset ? 1 : (opts.sinceUid ?? 0) + 1;
        const batch = Math.max(1, opts.batch ?? 500);
        const top = box.uidNext - 1;
        let lastUid = reset ? 0 : (opts.sinceUid ?? 0);
        let scanned = 0;
        let fetched = 0;
        if (opts.filter && box.exists > 0 && from <= top) {
          const range = `${from}:${top}`;
          // Reading from the start (a first read, a new UIDVALIDITY): every message is new, no count needed.
          const all = from === 1 ? box.exists : ((await client.search({ uid: range }, { uid: true })) || []).length;
          const hits = await client.search({ uid: range, or: filterQuery(opts.filter) }, { uid: true });
          scanned = all;
          const list = (hits || []).sort((x, y) => x - y);
          for (let i = 0; i < list.length; i += batch) {
            await fetchHeaderAnswers(folder, uidSet(list.slice(i, i + batch)), async (m) => {
              fetched++;
              await onMessage(m);
            });
          }
          from = top + 1;
        }
        // Fixed UID windows: each FETCH returns at most `batch` messages, so memory stays flat however
        // large the folder is, and an empty window costs one short round trip.
        while (box.exists > 0 && from <= top) {
          const to = Math.min(top, from + batch - 1);
          await fetchHeaderAnswers(folder, `${from}:${to}`, async (m) => {
            scanned++;
            fetched++;
            if (m.uid > lastUid) lastUid = m.uid;
            await onMessage(m);
          });
          from = to + 1;
        }
        if (top > lastUid) lastUid = top;
        return { folder, uidValidity, lastUid, scanned, fetched, reset };
      }),
    search: (folder, q) =>
      guard(folder, async () => {
        await open(folder);
        const query: Record<string, unknown> = {};
        if (q.header) query['header'] = { [q.header[0]]: q.header[1] };
        if (q.subject) query['subject'] = q.subject;
        if (q.since) query['since'] = q.since;
        if (!q.header && !q.subject && !q.since) query['all'] = true;
        const r = await client.search(query, { uid: true });
        return r === false ? [] : r;
      }),
    fetchHeaders: (folder, uids) =>
      guard(folder, async () => {
        if (uids.length === 0) return [];
        await open(folder);
        const out: ScannedMessage[] = [];
        await fetchHeaderAnswers(folder, uidSet(uids), (m) => void out.push(m));
        return out;
      }),
    fetchSource: (folder, uid, maxBytes = 1_000_000) =>
      guard(folder, async () => {
        await open(folder);
        const m = await client.fetchOne(String(uid), { uid: true, source: { maxLength: maxBytes } }, { uid: true });
        return m ? m.source : undefined;
      }),
    delete: (folder, uids) =>
      guard(folder, async () => {
        if (uids.length === 0) return;
        await open(folder);
        const set = uidSet(uids);
        if (!client.capabilities.has('UIDPLUS')) {
          // A plain EXPUNGE removes every message flagged \Deleted, not only ours: only when there is none.
          const flagged = await client.search({ deleted: true }, { uid: true });
          if (flagged && flagged.length) {
            throw new MailError('imap-search', `${folder}: the server has no UIDPLUS (UID EXPUNGE) and ${flagged.length} other message(s) are flagged \\Deleted: the matched messages are left in place rather than expunged with them`, { secrets });
          }
        }
        (await exec('UID STORE', [{ type: 'SEQUENCE', value: set }, atom('+FLAGS.SILENT'), [atom('\\Deleted')]], { untagged: ignore })).next();
        if (client.capabilities.has('UIDPLUS')) (await exec('UID EXPUNGE', [{ type: 'SEQUENCE', value: set }], { untagged: ignore })).next();
        else (await exec('EXPUNGE', [], { untagged: ignore })).next();
      }),
    async close() {
      try {
        await client.logout();
      } catch {
        client.close();
      }
    },
  };
  return reader;
}
