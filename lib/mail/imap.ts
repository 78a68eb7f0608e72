/**
 * IMAP reader over our own IMAP connection (imap-conn.ts): log in, list folders (the Junk folder by
 * its SPECIAL-USE `\Junk` flag, RFC 6154), read new messages since a UID in bounded batches (headers
 * only, streamed, so memory does not grow with the mailbox), fetch one message's source, search by
 * header or subject, delete by UID. Every failure is a `MailError` with stage imap-connect / imap-auth /
 * imap-search; the password is scrubbed from all of them.
 *
 * Why not imapflow (used before): it turns every answer into a rich object and compiles each one for
 * its log even with logging off, which for a thousand probes cost the client more than Dovecot's whole
 * search. Here an answer is framed, and only the ones the caller wants are tokenized.
 *
 * The delete is `UID STORE <uids> +FLAGS.SILENT (\Deleted)` then `UID EXPUNGE <uids>` (UIDPLUS): only
 * those messages, and with nothing ENABLEd the STORE answers nothing (with CONDSTORE on, a silent
 * STORE still answers one FETCH (MODSEQ) per message, RFC 7162 3.1.3; QRESYNC, whose one VANISHED
 * would replace the EXPUNGE answers, implies CONDSTORE: either way n answers for n messages). Without
 * UIDPLUS a plain EXPUNGE, which would also remove messages someone else flagged \Deleted: done only
 * when there are none, otherwise an error saying so and nothing touched.
 *
 *   const imap = await openImap({ host, port: 993, tls: 'tls', user, password });
 *   await imap.scan('INBOX', { sinceUid: 0 }, (m) => { ... m.headers ... });
 *   await imap.close();
 */
import { MailError, secretsOfSettings } from './errors.js';
import { ImapConnection, ImapRefusal } from './imap-conn.js';
import { astring, decodeMailbox, encodeMailbox, searchDate, tokenize, uidSet, type Answer, type Arg, type Value } from './imap-wire.js';
import type { TlsSettings } from './tls.js';

export { uidSet } from './imap-wire.js';

export interface ImapSettings extends TlsSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Connect / greeting timeout in ms (default 15 s); each command waits max(this, 30 s) for an answer. */
  timeoutMs?: number | undefined;
}

export interface FolderInfo {
  path: string;
  /** '\Junk', '\Sent', ... as the server flags it (RFC 6154); '\Inbox' for INBOX. */
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
  /**
   * Delete (flag \Deleted + UID EXPUNGE) exactly these UIDs. With `uidValidity` (the folder's
   * UIDVALIDITY when the UIDs were read): 'stale' when the folder's is another one now, and nothing is
   * touched (the UIDs may name other messages since).
   */
  delete(folder: string, uids: number[], uidValidity?: string): Promise<'deleted' | 'stale'>;
  close(): Promise<void>;
}

/** One FETCH answer (`* n FETCH (...)`) as a ScannedMessage; undefined when it carries no UID or no header (a flag change). */
export function headerAnswer(a: Answer, folder: string): ScannedMessage | undefined {
  if (!/^\* \d+ FETCH /i.test(a.text)) return undefined;
  const list = tokenize(a)[3];
  if (!Array.isArray(list)) return undefined;
  let uid: number | undefined;
  let internalDate: Date | undefined;
  let size: number | undefined;
  let headers: string | undefined;
  for (let i = 0; i + 1 < list.length; i += 2) {
    const key = list[i];
    const val = list[i + 1];
    const name = typeof key === 'string' ? key.toUpperCase() : '';
    if (name === 'UID') uid = Number(val);
    else if (name === 'INTERNALDATE' && typeof val === 'string') {
      const d = new Date(val);
      if (!Number.isNaN(d.getTime())) internalDate = d;
    } else if (name === 'RFC822.SIZE') size = Number(val);
    else if (name === 'BODY[HEADER]') headers = Buffer.isBuffer(val) ? val.toString('utf8') : typeof val === 'string' ? val : '';
  }
  if (uid === undefined || !Number.isSafeInteger(uid) || headers === undefined) return undefined;
  return { folder, uid, headers, internalDate, size: size !== undefined && Number.isFinite(size) ? size : undefined };
}

const HEADER_ITEMS = '(UID INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER])';

/** The search keys of a filter, any of them (nested ORs). */
function filterKeys(f: ScanFilter): Arg[][] {
  return [
    ...(f.subject ?? []).map((v) => ['SUBJECT', astring(v)]),
    ...(f.header ?? []).map(([name, v]) => ['HEADER', astring(name), astring(v)]),
    ...(f.from ?? []).map((v) => ['FROM', astring(v)]),
  ];
}

function anyOf(keys: Arg[][]): Arg[] {
  if (keys.length === 0) return ['ALL'];
  if (keys.length === 1) return keys[0]!;
  return ['OR', ...keys[0]!, ...anyOf(keys.slice(1))];
}

/** CHARSET UTF-8 when a key carries non-ASCII text (sent as a literal). */
const charsetFor = (keys: Arg[]): Arg[] => (keys.some((k) => typeof k !== 'string') ? ['CHARSET', 'UTF-8'] : []);

/** Numbers of a `* SEARCH 1 2 3` answer. */
function searchNumbers(a: Answer, into: number[]): void {
  if (!/^\* SEARCH\b/i.test(a.text)) return;
  for (const t of a.text.slice(9).split(' ')) {
    const n = Number(t);
    if (t && Number.isSafeInteger(n)) into.push(n);
  }
}

interface Selected {
  exists: number;
  uidValidity: string;
  uidNext: number | undefined;
}

/** Connect and log in; a typed error (imap-connect / imap-auth) when that fails. */
export async function openImap(s: ImapSettings): Promise<ImapReader> {
  const secrets = secretsOfSettings(s);
  const conn = await ImapConnection.open(s, secrets);

  /** A command's failure as an imap-search error naming the folder (a MailError passes through). */
  const guard = <T>(folder: string, fn: () => Promise<T>): Promise<T> =>
    fn().catch((e: unknown) => {
      if (e instanceof MailError) throw e;
      const text = e instanceof ImapRefusal ? e.message : (e as Error)?.message ?? String(e);
      throw new MailError('imap-search', `${folder}: ${text}`, { cause: e, code: e instanceof ImapRefusal ? e.code : undefined, secrets });
    });

  const select = async (folder: string): Promise<Selected> => {
    const box: Selected = { exists: 0, uidValidity: '', uidNext: undefined };
    await conn.run(['SELECT', astring(encodeMailbox(folder))], (a) => {
      const t = a.text;
      const exists = /^\* (\d+) EXISTS/i.exec(t);
      if (exists) box.exists = Number(exists[1]);
      const v = /^\* OK \[UIDVALIDITY (\d+)\]/i.exec(t);
      if (v) box.uidValidity = v[1]!;
      const n = /^\* OK \[UIDNEXT (\d+)\]/i.exec(t);
      if (n) box.uidNext = Number(n[1]);
    });
    if (box.uidNext === undefined && box.exists > 0) {
      // No UIDNEXT announced: the last message's UID + 1.
      await conn.run(['FETCH', '*', '(UID)'], (a) => {
        const m = /^\* \d+ FETCH \(.*\bUID (\d+)/i.exec(a.text);
        if (m) box.uidNext = Number(m[1]) + 1;
      });
    }
    return box;
  };

  const uidSearch = async (keys: Arg[]): Promise<number[]> => {
    const out: number[] = [];
    await conn.run(['UID', 'SEARCH', ...charsetFor(keys), ...keys], (a) => searchNumbers(a, out));
    return out.sort((x, y) => x - y);
  };

  /** UID FETCH of headers, each answer handed to `on` as it comes (nothing collected here). */
  const fetchHeaderAnswers = (folder: string, set: string, on: (m: ScannedMessage) => void | Promise<void>) =>
    conn.run(['UID', 'FETCH', set, HEADER_ITEMS], (a) => {
      const m = headerAnswer(a, folder);
      return m ? on(m) : undefined;
    });

  const reader: ImapReader = {
    async folders() {
      return guard('LIST', async () => {
        const out: FolderInfo[] = [];
        const extended = conn.caps.has('SPECIAL-USE') && conn.caps.has('LIST-EXTENDED');
        const add = (flags: Value, name: Value) => {
          const raw = Buffer.isBuffer(name) ? name.toString('utf8') : typeof name === 'string' ? name : undefined;
          if (raw === undefined) return;
          const path = /^inbox$/i.test(raw) ? 'INBOX' : decodeMailbox(raw);
          if (out.some((f) => f.path === path)) return;
          const list = Array.isArray(flags) ? flags.filter((x): x is string => typeof x === 'string') : [];
          if (list.some((x) => x.toUpperCase() === '\\NOSELECT' || x.toUpperCase() === '\\NONEXISTENT')) return;
          const special = list.find((x) => /^\\(All|Archive|Drafts|Flagged|Junk|Sent|Trash)$/i.test(x));
          out.push({ path, specialUse: special ? '\\' + special.slice(1, 2).toUpperCase() + special.slice(2).toLowerCase() : path === 'INBOX' ? '\\Inbox' : undefined });
        };
        await conn.run(['LIST', '""', '"*"', ...(extended ? ['RETURN', '(SPECIAL-USE)'] : [])], (a) => {
          if (!/^\* LIST /i.test(a.text)) return;
          const t = tokenize(a);
          add(t[2] ?? null, t[4] ?? null);
        });
        return out;
      });
    },
    async junkFolder() {
      const list = await reader.folders();
      return list.find((f) => f.specialUse === '\\Junk')?.path ?? list.find((f) => /^(junk|spam)$/i.test(f.path.split(/[/.]/).pop() ?? ''))?.path;
    },
    scan: (folder, opts, onMessage) =>
      guard(folder, async () => {
        const box = await select(folder);
        const uidValidity = box.uidValidity;
        const reset = opts.uidValidity !== undefined && opts.uidValidity !== uidValidity;
        let from = reset ? 1 : (opts.sinceUid ?? 0) + 1;
        const batch = Math.max(1, opts.batch ?? 500);
        const top = (box.uidNext ?? 1) - 1;
        let lastUid = reset ? 0 : (opts.sinceUid ?? 0);
        let scanned = 0;
        let fetched = 0;
        if (opts.filter && box.exists > 0 && from <= top) {
          const range = `${from}:${top}`;
          // Reading from the start (a first read, a new UIDVALIDITY): every message is new, no count needed.
          const all = from === 1 ? box.exists : (await uidSearch(['UID', range])).length;
          const list = await uidSearch(['UID', range, ...anyOf(filterKeys(opts.filter))]);
          scanned = all;
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
        await select(folder);
        const keys: Arg[] = [];
        if (q.header) keys.push('HEADER', astring(q.header[0]), astring(q.header[1]));
        if (q.subject !== undefined) keys.push('SUBJECT', astring(q.subject));
        if (q.since) keys.push('SINCE', searchDate(q.since));
        return uidSearch(keys.length ? keys : ['ALL']);
      }),
    fetchHeaders: (folder, uids) =>
      guard(folder, async () => {
        if (uids.length === 0) return [];
        await select(folder);
        const out: ScannedMessage[] = [];
        await fetchHeaderAnswers(folder, uidSet(uids), (m) => void out.push(m));
        return out;
      }),
    fetchSource: (folder, uid, maxBytes = 1_000_000) =>
      guard(folder, async () => {
        await select(folder);
        let source: Buffer | undefined;
        await conn.run(['UID', 'FETCH', String(uid), `(UID BODY.PEEK[]<0.${maxBytes}>)`], (a) => {
          if (!/^\* \d+ FETCH /i.test(a.text)) return;
          const list = tokenize(a)[3];
          if (!Array.isArray(list)) return;
          let got: number | undefined;
          let body: Buffer | undefined;
          for (let i = 0; i + 1 < list.length; i += 2) {
            const key = typeof list[i] === 'string' ? (list[i] as string).toUpperCase() : '';
            const val = list[i + 1];
            if (key === 'UID') got = Number(val);
            else if (key.startsWith('BODY[]')) body = Buffer.isBuffer(val) ? val : typeof val === 'string' ? Buffer.from(val, 'latin1') : undefined;
          }
          if (got === uid && body) source = body;
        });
        return source;
      }),
    delete: (folder, uids, uidValidity) =>
      guard(folder, async () => {
        if (uids.length === 0) return 'deleted' as const;
        const box = await select(folder);
        if (uidValidity !== undefined && box.uidValidity !== uidValidity) return 'stale' as const;
        const set = uidSet(uids);
        const uidplus = conn.caps.has('UIDPLUS');
        if (!uidplus) {
          // A plain EXPUNGE removes every message flagged \Deleted, not only ours: only when there is none.
          const flagged = await uidSearch(['DELETED']);
          if (flagged.length) {
            throw new MailError('imap-search', `${folder}: the server has no UIDPLUS (UID EXPUNGE) and ${flagged.length} other message(s) are flagged \\Deleted: the matched messages are left in place rather than expunged with them`, { secrets });
          }
        }
        await conn.run(['UID', 'STORE', set, '+FLAGS.SILENT', '(\\Deleted)']);
        await conn.run(uidplus ? ['UID', 'EXPUNGE', set] : ['EXPUNGE']);
        return 'deleted' as const;
      }),
    close: () => conn.close(),
  };
  return reader;
}
