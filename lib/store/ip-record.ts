/**
 * The stored IpRecord's schema, built from the check plugins (lib/checks/): each check's result is a
 * CheckResult checked with that plugin's value schema, so a record whose SNDS part is garbage is
 * reported as such instead of drawing "undefined" on a page. Records written by the previous version
 * (DNSBL as a bare array of zone results) are migrated on read.
 */
import * as z from 'zod';
import { checkPlugins } from '../checks/index.js';
import type { IpRecord } from '../model.js';
import { decode, type Problems } from './codec.js';
import { checkResultSchema } from './schemas.js';

/** Checks every record has had since the first version; later ones may be absent in older records. */
const always = new Set(['dnsbl', 'senderscore', 'snds', 'dnsMatch']);

export const ipRecordSchema = z.looseObject({
  ip: z.string(),
  family: z.union([z.literal(4), z.literal(6)]),
  host: z.string(),
  fqdn: z.string(),
  checkedAt: z.string(),
  runId: z.string(),
  ...Object.fromEntries(
    checkPlugins.map((p) => {
      const s = checkResultSchema(p.value);
      return [p.name, always.has(p.name) ? s : s.optional()];
    }),
  ),
});

/**
 * A record of the previous version to the current shape: DNSBL was an array of zone results (the
 * check ran when it is present); it is now one CheckResult whose value holds the zones.
 */
export function migrateIpRecord(doc: unknown): unknown {
  if (doc === null || typeof doc !== 'object') return doc;
  const d = doc as Record<string, unknown>;
  if (!Array.isArray(d['dnsbl'])) return doc;
  return { ...d, dnsbl: { status: 'ok', at: typeof d['checkedAt'] === 'string' ? d['checkedAt'] : '', value: { zones: d['dnsbl'] } } };
}

/** Read one stored IP record (a problem naming the key when it is unreadable). */
export function readIpRecord(key: string, raw: string | null | undefined, problems: Problems): IpRecord | undefined {
  return decode(ipRecordSchema, key, raw, problems, migrateIpRecord) as IpRecord | undefined;
}
