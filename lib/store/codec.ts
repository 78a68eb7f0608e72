/**
 * Decoding what Redis holds, one way for every reader: JSON text -> checked record, or a problem line
 * naming the key. A key holding the wrong Redis type (WRONGTYPE) is a problem of that key too, not an
 * outage: the rest of the data keeps working. Only a failure of Redis itself is thrown.
 */
import type * as z from 'zod';

/** Problems found while reading: one line each, "<key>: <what is wrong>". */
export type Problems = string[];

/**
 * The last good decode per key: a dashboard reads every record on each uncached page although most
 * have not changed since the previous read; the same text decodes to the same record, so it is
 * checked once. Bounded (cleared when full). Records read are shared: callers treat them as read-only.
 */
const decoded = new Map<string, { raw: string; schema: z.ZodType; value: unknown }>();
const maxDecoded = 100_000;

/** Parse and check one stored JSON value. Absent (null) is undefined without a problem. */
export function decode<S extends z.ZodType>(
  schema: S,
  key: string,
  raw: string | null | undefined,
  problems: Problems,
  migrate?: (doc: unknown) => unknown,
): z.output<S> | undefined {
  if (raw === null || raw === undefined) return undefined;
  const hit = decoded.get(key);
  if (hit !== undefined && hit.raw === raw && hit.schema === schema) return hit.value as z.output<S>;
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (e) {
    problems.push(`${key}: unreadable record (not JSON: ${(e as Error).message})`);
    return undefined;
  }
  const r = schema.safeParse(migrate ? migrate(doc) : doc);
  if (r.success) {
    if (decoded.size >= maxDecoded) decoded.clear();
    decoded.set(key, { raw, schema, value: r.data });
    return r.data;
  }
  const first = r.error.issues[0];
  const where = first && first.path.length ? `${first.path.join('.')}: ` : '';
  problems.push(`${key}: unreadable record (wrong shape: ${where}${first?.message ?? 'invalid'})`);
  return undefined;
}

/** A write refused because a key holds another Redis type: names the key. */
export class WrongTypeError extends Error {
  constructor(
    readonly key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WrongTypeError';
  }
}

/** Whether a Redis reply error says the key holds another type. */
export function isWrongType(e: unknown): boolean {
  return e instanceof Error && e.message.startsWith('WRONGTYPE');
}

export function wrongTypeProblem(key: string, expected: string): string {
  return `${key}: holds the wrong Redis type (expected a ${expected}); ignored until it is fixed or deleted`;
}

/**
 * Pipeline replies as values. A WRONGTYPE reply becomes a problem naming its key and the value
 * `fallback`; any other per-command error is thrown (pipelines do not throw by themselves).
 */
export function replies(
  res: [Error | null, unknown][] | null,
  keyOf: (i: number) => { key: string; type: string } | undefined,
  problems: Problems,
): unknown[] {
  if (res === null) throw new Error('pipeline aborted');
  return res.map(([err, v], i) => {
    if (!err) return v;
    const k = keyOf(i);
    if (k && isWrongType(err)) {
      problems.push(wrongTypeProblem(k.key, k.type));
      return null;
    }
    throw err;
  });
}
