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

/**
 * The JSON text of each deeply frozen value `encode` met (null: frozen, but something inside may
 * still change, so never reused). A deeply frozen plain object or array can never change: its text
 * is made once.
 */
const encoded = new WeakMap<object, string | null>();

/** An array, or an object of Object's or no prototype (not a Date, Map or boxed primitive). */
function isPlain(v: object): boolean {
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A plain object or array, frozen, holding only data properties whose values are primitives or such
 * values in turn (no getter, no toJSON): its JSON can never change.
 */
function deeplyFrozen(v: object): boolean {
  if (!Object.isFrozen(v) || !isPlain(v) || (!Array.isArray(v) && 'toJSON' in v)) return false;
  for (const d of Object.values(Object.getOwnPropertyDescriptors(v))) {
    if (!('value' in d)) return false;
    const x = d.value as unknown;
    if (typeof x === 'object' && x !== null && !deeplyFrozen(x)) return false;
  }
  return true;
}

/**
 * `JSON.stringify(value)`, the same text, with each deeply frozen object or array written once and
 * its text reused wherever it appears again: the DNSBL check gives every clean answer of a zone one
 * frozen result, met 200,000 times in the records of a large run (lib/checks/dnsbl.ts), and
 * `JSON.stringify` of those records was most of the time spent writing them. Only the other parts
 * are walked here; for plain data (what records hold) the text is JSON.stringify's.
 */
export function encode(value: unknown): string {
  const parts: string[] = [];
  return encodeInto(parts, value, '') ? parts.join('') : 'null';
}

/** Property names as JSON strings: records repeat the same few thousand times. */
const keyTexts = new Map<string, string>();
function keyText(k: string): string {
  let text = keyTexts.get(k);
  if (text === undefined) {
    text = `${JSON.stringify(k)}:`;
    if (keyTexts.size < 10_000) keyTexts.set(k, text);
  }
  return text;
}

/** A plain object or array holding no object (JSON.stringify alone gives its text). */
function flat(v: object): boolean {
  if (!isPlain(v)) return false;
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (typeof x === 'object' && x !== null) return false;
  }
  return true;
}

/** Push the JSON text of `v` onto `parts`; false (nothing pushed) where JSON.stringify leaves a value out. */
function encodeInto(parts: string[], v: unknown, key: string): boolean {
  if (typeof v !== 'object' || v === null) {
    const text = JSON.stringify(v) as string | undefined;
    if (text === undefined) return false;
    parts.push(text);
    return true;
  }
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return encodeInto(parts, (v as { toJSON(k: string): unknown }).toJSON(key), key);
  if (Object.isFrozen(v)) {
    let text = encoded.get(v);
    if (text === undefined) encoded.set(v, (text = deeplyFrozen(v) ? JSON.stringify(v) : null));
    if (text !== null) {
      parts.push(text);
      return true;
    }
  }
  // Primitives only inside (most of a record's small objects): JSON.stringify writes it in one call.
  if (flat(v)) {
    parts.push(JSON.stringify(v));
    return true;
  }
  if (Array.isArray(v)) {
    parts.push('[');
    for (let i = 0; i < v.length; i++) {
      if (i > 0) parts.push(',');
      if (!encodeInto(parts, v[i], String(i))) parts.push('null');
    }
    parts.push(']');
    return true;
  }
  // Anything but a plain object (a boxed primitive, a Map): JSON.stringify's own rules.
  if (!isPlain(v)) {
    parts.push(JSON.stringify(v));
    return true;
  }
  parts.push('{');
  let empty = true;
  for (const k of Object.keys(v)) {
    const at = parts.length;
    if (!empty) parts.push(',');
    parts.push(keyText(k));
    if (encodeInto(parts, (v as Record<string, unknown>)[k], k)) empty = false;
    else parts.length = at;
  }
  parts.push('}');
  return true;
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
