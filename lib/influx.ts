/**
 * InfluxDB line protocol (what Telegraf's `inputs.exec` reads with `data_format = "influx"`):
 * `measurement,tag=v,tag=v field=v,field=v [timestamp]`. Escaping follows the protocol's rules:
 * measurement escapes comma and space; tag keys, tag values and field keys escape comma, equals sign
 * and space; a backslash is doubled (two backslashes read as one, so a value ending in a backslash
 * cannot escape the separator after it); string field values are double-quoted with `"` and `\` escaped. Line breaks are not
 * allowed anywhere in a line and become spaces. Empty tag values are left out (the protocol has no
 * empty tag). Pure.
 */

/** A field value: a number (written as a float, as most exec scripts do), an integer, a boolean, a string. */
export type FieldValue = number | boolean | string | { int: number };

export interface Point {
  measurement: string;
  tags?: Record<string, string | undefined>;
  fields: Record<string, FieldValue | undefined>;
  /** Epoch nanoseconds as a bigint or a decimal string; omitted, the reader stamps the point. */
  timestamp?: bigint | string;
}

const noBreaks = (s: string) => s.replace(/[\r\n]+/g, ' ');

export function escapeMeasurement(s: string): string {
  return noBreaks(s).replace(/[\\ ,]/g, (c) => '\\' + c);
}

/** Tag keys, tag values and field keys. */
export function escapeKey(s: string): string {
  return noBreaks(s).replace(/[\\ ,=]/g, (c) => '\\' + c);
}

export function quoteString(s: string): string {
  return '"' + noBreaks(s).replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

function fieldValue(v: FieldValue): string | null {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return quoteString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : null;
  return Number.isSafeInteger(v.int) ? `${v.int}i` : null;
}

/**
 * One line, without the trailing newline. Fields whose value is undefined or not finite are left
 * out (the protocol has no NaN); a point with no field left is an error, since a reader rejects it.
 */
export function formatLine(p: Point): string {
  if (p.measurement === '') throw new Error('influx line: empty measurement');
  const tags = Object.entries(p.tags ?? {})
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `,${escapeKey(k)}=${escapeKey(v)}`)
    .join('');
  const fields: string[] = [];
  for (const [k, v] of Object.entries(p.fields)) {
    if (v === undefined) continue;
    const text = fieldValue(v);
    if (text !== null) fields.push(`${escapeKey(k)}=${text}`);
  }
  if (fields.length === 0) throw new Error(`influx line: ${p.measurement} has no field with a value`);
  const ts = p.timestamp === undefined ? '' : ` ${String(p.timestamp)}`;
  return `${escapeMeasurement(p.measurement)}${tags} ${fields.join(',')}${ts}`;
}

/** Epoch nanoseconds of a Date, as a decimal string. */
export function nanos(d: Date): string {
  return `${BigInt(d.getTime()) * 1_000_000n}`;
}
