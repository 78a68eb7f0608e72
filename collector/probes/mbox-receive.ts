/**
 * Receive from a local mbox (mxtrax's way): under the MDA's locks, every message is classified like an
 * IMAP one; outcomes are recorded first, then the file is rewritten without the matched messages (a
 * crash between leaves them in the mbox; the next round sees them as already counted and removes them).
 */
import fs from 'node:fs';
import type { Logger } from '../../lib/log.js';
import { parseHeaders } from '../../lib/mail/headers.js';
import { tokensInHeaders } from '../../lib/mail/match.js';
import { formatMboxMessage, parseMbox, withMboxLock } from '../../lib/mail/mbox.js';
import type { ProbeRecord } from '../../lib/probes/model.js';
import type { ProbeStore } from '../../lib/probes/store.js';
import { classify, looksLikeDsn } from './classify.js';
import { applyOutcome, type ReceiveResult } from './receive.js';

export async function receiveMbox(
  store: ProbeStore,
  o: { path: string; probeFrom: string; now: () => number; log: Logger; lockTimeoutMs?: number },
): Promise<ReceiveResult> {
  return withMboxLock(
    o.path,
    async () => {
      const text = fs.readFileSync(o.path, 'utf8');
      const msgs = parseMbox(text);
      const known = new Map<string, ProbeRecord | undefined>();
      const lookup = async (t: string) => {
        if (!known.has(t)) known.set(t, (await store.get([t]))[0]);
        return known.get(t);
      };
      const changed = new Map<string, ProbeRecord>();
      const drop = new Set<number>();
      let matched = 0;
      let bounced = 0;
      const now = o.now();
      for (let i = 0; i < msgs.length; i++) {
        const m = msgs[i]!;
        const parsed = parseHeaders(m.raw);
        const tokens = tokensInHeaders(parsed);
        if (tokens.length === 0 && !looksLikeDsn(parsed)) continue;
        const outcome = await classify(
          { parsed, tokens, folder: 'mbox', junk: false, internalDate: undefined, source: () => Promise.resolve(Buffer.from(m.raw)) },
          lookup,
          o.probeFrom,
          now,
        );
        if (!outcome) continue;
        drop.add(i);
        const cur = changed.get(outcome.token) ?? known.get(outcome.token);
        if (!cur) continue;
        const upd = applyOutcome(cur, outcome, 'mbox', false, now);
        if (upd) {
          changed.set(upd.token, upd);
          if (outcome.kind === 'return') matched++;
          if (outcome.kind === 'bounce') bounced++;
        }
      }
      await store.save([...changed.values()]);
      if (drop.size) {
        const kept = msgs.filter((_, i) => !drop.has(i)).map(formatMboxMessage).join('');
        // In place (same inode): the MDA appends to this file; we hold its locks.
        const fd = fs.openSync(o.path, 'r+');
        try {
          fs.ftruncateSync(fd, 0);
          fs.writeSync(fd, kept, 0, 'utf8');
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
      return { scanned: msgs.length, matched, bounced, deleted: drop.size, changed: [...changed.values()] };
    },
    o.lockTimeoutMs !== undefined ? { timeoutMs: o.lockTimeoutMs } : {},
  );
}
