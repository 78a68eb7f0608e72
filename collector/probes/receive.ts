/**
 * Receive: one pass over the new messages of the probe mailbox (configured folders + Junk), each
 * classified locally (collector/probes/classify.ts), outcomes applied to the probe records. Matched
 * messages are recorded together with the new read positions and a to-delete list in one transaction,
 * then deleted (a crash between leaves them on the list for the next round, never counted twice).
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
      await deleteUids(reader, pending, o.log);
      await store.clearPendingDeletes(pending);
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
    const toDelete: [string, string, number][] = [];
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
      deleted = await deleteUids(reader, toDelete, o.log);
      await store.clearPendingDeletes(toDelete);
    }
    return { scanned: scan.scanned, matched, bounced, deleted, changed: [...changed.values()] };
  } finally {
    await reader.close();
  }
}

async function deleteUids(reader: ImapReader, list: readonly [string, string, number][], log: Logger): Promise<number> {
  const byFolder = new Map<string, number[]>();
  for (const [f, , uid] of list) byFolder.set(f, [...(byFolder.get(f) ?? []), uid]);
  let n = 0;
  for (const [folder, uids] of byFolder) {
    try {
      await reader.delete(folder, uids);
      n += uids.length;
    } catch (e) {
      log.warn('could not delete matched probes', { folder, error: (e as Error).message });
    }
  }
  return n;
}
