/**
 * The stored IpRecord's schema. Each check's result is checked with that check's value schema, so a
 * record whose SNDS part is garbage is reported as such instead of drawing "undefined" on a page.
 */
import { z } from 'zod';
import type { IpRecord } from '../model.js';
import { decode, type Problems } from './codec.js';
import { checkResultSchema } from './schemas.js';

const dnsblState = z.enum(['listed', 'not_listed', 'error', 'unknown']);

export const dnsblResultSchema = z.looseObject({
  zone: z.string(),
  kind: z.enum(['block', 'allow', 'reputation', 'score']),
  state: dnsblState,
  critical: z.boolean(),
  codes: z.array(z.string()),
  labels: z.array(z.string()),
  txt: z.string().optional(),
  reason: z.string().optional(),
  unhealthy: z.string().optional(),
  removalLink: z.string().optional(),
  at: z.string(),
  stale: z
    .looseObject({
      state: z.enum(['listed', 'not_listed']),
      codes: z.array(z.string()),
      labels: z.array(z.string()),
      txt: z.string().optional(),
      at: z.string(),
    })
    .optional(),
});

const matchPart = z.looseObject({ state: z.enum(['match', 'mismatch', 'error']), found: z.array(z.string()), reason: z.string().optional() });

const sndsData = z.looseObject({
  color: z.enum(['green', 'yellow', 'red']),
  traps: z.number(),
  complaintRate: z.string(),
  rcptCommands: z.number(),
  dataCommands: z.number(),
  recipients: z.number(),
  periodStart: z.string(),
  periodEnd: z.string(),
});

export const ipRecordSchema = z.looseObject({
  ip: z.string(),
  family: z.union([z.literal(4), z.literal(6)]),
  host: z.string(),
  fqdn: z.string(),
  checkedAt: z.string(),
  runId: z.string(),
  dnsbl: z.array(dnsblResultSchema),
  senderscore: checkResultSchema(z.looseObject({ score: z.number().nullable() })),
  snds: checkResultSchema(
    z.looseObject({
      data: sndsData.nullable(),
      blocked: z.looseObject({ blocked: z.boolean(), reason: z.string().optional() }).nullable(),
    }),
  ),
  dnsMatch: checkResultSchema(z.looseObject({ rdns: matchPart, fdns: matchPart, helo: matchPart })),
  httpReputation: checkResultSchema(z.looseObject({ verdict: z.enum(['good', 'neutral', 'bad', 'unknown']), raw: z.string() })).optional(),
});

/** Read one stored IP record (a problem naming the key when it is unreadable). */
export function readIpRecord(key: string, raw: string | null | undefined, problems: Problems): IpRecord | undefined {
  return decode(ipRecordSchema, key, raw, problems) as IpRecord | undefined;
}
