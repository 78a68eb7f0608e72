/**
 * One row's severity from a snapshot: the IP's record, its host's record and the host's maillog read,
 * judged by lib/severity.ts. Shared by the overview, the host page and the API so they always agree.
 */
import type { AnyPlugin } from '../../lib/checks/index.js';
import type { BlocksRecord, ProviderBlock } from '../../lib/model.js';
import { rowSeverity, type Severity, type SeverityRules } from '../../lib/severity.js';
import type { Snapshot } from '../data.js';

/** The blocks of a host's maillog read that concern one row: those naming its IP or no IP (all of them for a row without IP). */
export function blocksFor(rec: BlocksRecord | undefined, ip: string | null): ProviderBlock[] {
  return (rec?.blocks ?? []).filter((b) => b.ip === undefined || ip === null || b.ip === ip);
}

/** The severity of the row of `host` and `ip` (null: a host without an address). */
export function rowSeverityOf(snap: Snapshot, host: string, ip: string | null, now: Date, rules: SeverityRules, plugins?: readonly AnyPlugin[]): Severity {
  const rec = ip === null ? undefined : snap.ips.get(ip);
  const hostRec = snap.hosts.get(host);
  const blocksRec = snap.blocks.get(host);
  return rowSeverity(
    { ...(rec ? { ip: rec } : {}), ...(hostRec ? { host: hostRec } : {}), ...(blocksRec ? { blocksRecord: blocksRec } : {}), blocks: blocksFor(blocksRec, ip), now, ...(plugins ? { plugins } : {}) },
    rules,
  );
}
