/**
 * Receive: one pass over the new messages of the probe mailbox (configured folders + Junk), each
 * classified locally (collector/probes/classify.ts), outcomes applied to the probe records. Matched
 * messages are recorded together with the new read positions and a to-delete list in one transaction,
 * then deleted (a crash between, or a deletion that fails, leaves them on the list for the next round;
 * never counted twice).
 */
import { openImap, type ImapReader, type ImapSettings } from '../../lib/mail/imap.js';
import { scanFolders } from '../../lib/mail/match.js';
import type { Logger } from '../../lib/log.js';
import type { ProbeRecord } from '../../lib/probes/model.js';
import type { ProbeStore } from '../../lib/probes/store.js';
import { classify, looksLikeDsn, probeScanFilter, type MailView, type Outcome } from './classify.js';

export interface ReceiveResult {
  scanned: number;
  matched: number;
  bounced: number;
  deleted: number;
  /** Tokens whose records changed. */
  changed: ProbeRecord[];
}

export interface ImapReceiveOptions {
  settings: ImapSettings;
  folders: readonly string[];
  deleteMatched: boolean;
  probeFrom: string;
  now: () => number;
  log: Logger;
  open?: (s: ImapSettings) => Promise<ImapReader>;
}

/** Apply an outcome to a record; returns the updated record or undefined when nothing changes. */
export function applyOutcome(p: ProbeRecord, o: NonNullable<Outcome>, folder: string, junk: boolean, now: number): ProbeRecord | undefined {
  if (p.returnedAt !== undefined || p.bounce || p.sendError) return undefined;
  if (o.kind === 'return') return { ...p, returnedAt: o.returnedAt, foundAt: now, folder, junk };
  if (o.kind === 'bounce') {
    return {
      ...p,
      foundAt: now,
      folder,
      bounce: { at: now, ...(o.status ? { status: o.status } : {}), ...(o.diagnostic ? { diagnostic: o.diagnostic.slice(0, 500) } : {}), from: o.from },
    };
  }
  return undefined;
}

export async function receiveImap(store: ProbeStore, o: ImapReceiveOptions): Promise<ReceiveResult> {
  const reader = await (o.open ?? openImap)(o.settings);
  try {
    const junk = await reader.junkFolder();
    const folders = [...new Set([...o.folders, ...(junk ? [junk] : [])])];
    // Deletions a crashed round recorded but did not do.
    const pending = await store.pendingDeletes();
    if (o.deleteMatched && pending.length) {
      const { settled } = await deleteUids(reader, pending, o.log);
      await store.clearPendingDeletes(settled);
    }
    const positions = await store.positions();
    const views: { view: MailView; uid: number }[] = [];
    // The server picks the candidates (one UID SEARCH per folder): other mail is never fetched.
    const scan = await scanFolders(reader, folders, positions, (m) => {
      // Only messages with a token or looking like a DSN are kept: memory follows the probes, not the mailbox.
      if (m.tokens.length === 0 && !looksLikeDsn(m.parsed)) return;
      views.push({
        uid: m.uid,
        view: {
          parsed: m.parsed,
          tokens: m.tokens,
          folder: m.folder,
          junk: m.folder === junk,
          internalDate: m.internalDate,
          source: () => reader.fetchSource(m.folder, m.uid),
        },
      });
    }, { filter: probeScanFilter });
    // Headers carry most tokens: one HMGET for all of them; DSN body tokens are looked up as found.
    const known = new Map<string, ProbeRecord | undefined>();
    const headerTokens = [...new Set(views.flatMap((v) => v.view.tokens))];
    const recs = await store.get(headerTokens);
    headerTokens.forEach((t, i) => known.set(t, recs[i]));
    const lookup = async (t: string) => {
      if (!known.has(t)) known.set(t, (await store.get([t]))[0]);
      return known.get(t);
    };
    const outcomes: { outcome: NonNullable<Outcome>; folder: string; junk: boolean; uid: number }[] = [];
    for (const { view, uid } of views) {
      const outcome = await classify(view, lookup, o.probeFrom, o.now());
      if (outcome) outcomes.push({ outcome, folder: view.folder, junk: view.junk, uid });
    }
    const changed = new Map<string, ProbeRecord>();
    const toDelete: ToDelete[] = [];
    let matched = 0;
    let bounced = 0;
    const now = o.now();
    for (const x of outcomes) {
      const cur = changed.get(x.outcome.token) ?? known.get(x.outcome.token);
      if (!cur) continue;
      const upd = applyOutcome(cur, x.outcome, x.folder, x.junk, now);
      if (upd) {
        changed.set(upd.token, upd);
        if (x.outcome.kind === 'return') matched++;
        if (x.outcome.kind === 'bounce') bounced++;
      }
      if (o.deleteMatched) toDelete.push([x.folder, scan.positions[x.folder]!.uidValidity, x.uid]);
    }
    await store.commitReceive([...changed.values()], scan.positions, toDelete);
    let deleted = 0;
    if (toDelete.length) {
      const done = await deleteUids(reader, toDelete, o.log);
      deleted = done.deleted;
      await store.clearPendingDeletes(done.settled);
    }
    return { scanned: scan.scanned, matched, bounced, deleted, changed: [...changed.values()] };
  } finally {
    await reader.close();
  }
}

/** A matched message to delete: its folder, the folder's UIDVALIDITY when it was read, its UID. */
type ToDelete = [string, string, number];

/**
 * Delete matched messages, folder by folder. Returns how many were deleted and the entries that are
 * settled: deleted, or never to be deleted (their folder is gone, or was recreated since they were
 * read, its UIDVALIDITY changed, so their UIDs may name other messages now: those are left alone,
 * with a warning). A deletion that failed otherwise (the connection dropped, the server refused it)
 * is not settled: it stays on the store's list and is tried again at the next round.
 */
async function deleteUids(reader: ImapReader, list: readonly ToDelete[], log: Logger): Promise<{ deleted: number; settled: ToDelete[] }> {
  const groups = new Map<string, ToDelete[]>();
  for (const e of list) {
    const key = JSON.stringify([e[0], e[1]]);
    const g = groups.get(key);
    if (g) g.push(e);
    else groups.set(key, [e]);
  }
  let deleted = 0;
  const settled: ToDelete[] = [];
  for (const entries of groups.values()) {
    const [folder, uidValidity] = entries[0]!;
    try {
      const r = await reader.delete(folder, entries.map((e) => e[2]), uidValidity);
      if (r === 'deleted') deleted += entries.length;
      else log.warn('matched probes left in place: the folder was recreated since they were read (its UIDVALIDITY changed), so their UIDs may name other messages now', { folder, messages: entries.length });
      settled.push(...entries);
    } catch (e) {
      if (await folderGone(reader, folder)) {
        log.warn('matched probes not deleted: the folder no longer exists', { folder, messages: entries.length });
        settled.push(...entries);
      } else {
        log.warn('could not delete matched probes; they stay on the list and are tried again at the next round', { folder, messages: entries.length, error: (e as Error).message });
      }
    }
  }
  return { deleted, settled };
}

/** True when the server lists its folders and this one is not among them (false when it cannot tell). */
async function folderGone(reader: ImapReader, folder: string): Promise<boolean> {
  try {
    return !(await reader.folders()).some((f) => f.path === folder);
  } catch {
    return false;
  }
}
