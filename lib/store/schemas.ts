/**
 * zod schemas of every stored record (lib/model.ts holds their types). What the store reads is checked
 * against these before anyone uses it: a record of the wrong shape is reported by key, never half-used.
 * Objects are loose (unknown fields kept) so a record written by a newer version still reads.
 */
import * as z from 'zod';

const iso = z.string();
const status = z.enum(['ok', 'error', 'skipped']);

/** A check result whose value is checked by `value` (CheckResult<T> of lib/model.ts). */
export function checkResultSchema<T extends z.ZodType>(value: T) {
  return z.looseObject({
    status,
    at: iso,
    value: value.optional(),
    reason: z.string().optional(),
    stale: z.looseObject({ value, at: iso }).optional(),
  });
}

export const hostRecordSchema = z.looseObject({
  name: z.string(),
  fqdn: z.string(),
  ips: z.array(z.string()),
  resolve: z.looseObject({ status: z.enum(['ok', 'config', 'error']), reason: z.string().optional(), at: iso }),
  checkedAt: iso,
  runId: z.string(),
});

export const providerBlockSchema = z.looseObject({
  provider: z.string(),
  line: z.string(),
  at: iso,
  ip: z.string().optional(),
  recipientDomain: z.string().optional(),
});

export const blocksRecordSchema = z.looseObject({
  host: z.string(),
  status,
  reason: z.string().optional(),
  at: iso,
  blocksAt: iso,
  blocks: z.array(providerBlockSchema),
  lines: z.looseObject({ read: z.number(), unparsed: z.number() }).optional(),
});

export const historyPointSchema = z.looseObject({
  t: z.number(),
  score: z.number().nullable(),
  listings: z.number(),
  traps: z.number().nullable(),
  color: z.enum(['green', 'yellow', 'red']).nullable(),
});

const counts = z.looseObject({ ok: z.number(), error: z.number(), skipped: z.number() });

export const runSummarySchema = z.looseObject({
  id: z.string(),
  startedAt: iso,
  finishedAt: iso,
  durationMs: z.number(),
  hosts: z.number(),
  ips: z.number(),
  status: z.enum(['ok', 'partial', 'failed']),
  checks: z.record(z.string(), counts),
  unhealthyZones: z.array(z.string()),
  errors: z.array(z.string()),
});
