/**
 * A fast reader for the plain YAML that config files are mostly written in: block mappings and
 * sequences by indentation (mappings in lists included), one-line flow lists and mappings, plain and quoted one-line scalars,
 * comments. The `yaml` package costs a `mtarep check-config` start more CPU than anything else
 * of mtarep's own work (its lexer, parser and composer run cold, once). For any text outside this
 * subset the answer is `undefined` and the caller uses the `yaml` package, which also gives every
 * error: this reader never reports one. Where it answers, its value is the one `yaml` gives for the
 * same text (parseDocument with uniqueKeys, then toJS, YAML 1.2 core schema): plain scalars are
 * typed as that schema types them, and anything it types other than as a string, null, a boolean or
 * a plain decimal integer (octal, hex, floats, .inf, leading zeros) is left to `yaml`.
 * test/config-yaml-subset.test.ts compares the two on the example config and on generated documents.
 */

/** Thrown inside to leave the subset; caught by parseYamlSubset. */
const outside = Symbol('outside the subset');

interface Line {
  indent: number;
  text: string;
}

/** Keys read here: letters, digits, `_`, `.`, `-`, `/` (host names, IP addresses, CIDR ranges), typed as strings. */
const keyPattern = /^([A-Za-z0-9_][A-Za-z0-9_./-]*):(?: +(.*))?$/;
/** Words the core schema reads as null or a boolean: as keys they would not be these strings. */
const specialWords = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);
/** A decimal integer JavaScript holds exactly, written as `Number` and YAML's core schema both read it. */
const plainInt = /^(?:0|-?[1-9][0-9]{0,14})$/;
/** What else the core schema reads as a number (int, octal, hex, float, exponent, inf, nan). */
const otherNumber = [
  /^[-+]?[0-9]+$/,
  /^0o[0-7]+$/,
  /^0x[0-9a-fA-F]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
];
/** Characters a plain scalar may not start with (YAML's indicators), and `-` unless it is a number. */
const indicatorStart = /^[-?:,[\]{}#&*!|>'"%@`]/;

function fail(): never {
  throw outside;
}

/** A plain scalar as the core schema types it. `flow`: inside [ ] or { }, where more characters end it. */
function plainScalar(s: string, flow: boolean): unknown {
  if (s === '' || s !== s.trim()) fail();
  if (s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  if (s === 'true' || s === 'True' || s === 'TRUE') return true;
  if (s === 'false' || s === 'False' || s === 'FALSE') return false;
  if (plainInt.test(s)) return Number(s);
  if (indicatorStart.test(s)) fail();
  // Every number form starts with a digit, a sign or a dot.
  if (/^[-+.0-9]/.test(s) && otherNumber.some((re) => re.test(s))) fail();
  if (s.includes(': ') || s.endsWith(':') || s.includes(' #')) fail();
  // In [ ] and { } a comma or bracket ends a plain scalar; a colon may stay inside (IPv6 addresses).
  if (flow && /[,[\]{}#]/.test(s)) fail();
  return s;
}

/** A one-line scalar: quoted or plain. */
function scalar(s: string, flow: boolean): unknown {
  if (s.startsWith("'")) {
    if (s.length < 2 || !s.endsWith("'")) fail();
    const inner = s.slice(1, -1);
    // '' is a quote; a lone ' would end the scalar early.
    if (inner.replace(/''/g, '').includes("'")) fail();
    return inner.replace(/''/g, "'");
  }
  if (s.startsWith('"')) {
    if (s.length < 2 || !s.endsWith('"')) fail();
    const inner = s.slice(1, -1);
    if (inner.includes('"') || inner.includes('\\')) fail();
    return inner;
  }
  return plainScalar(s, flow);
}

/** The items of a one-line flow collection, split at commas (no nested collections, no commas in quotes). */
function flowItems(inner: string): string[] {
  if (/[[\]{}]/.test(inner)) fail();
  if (inner.trim() === '') return [];
  // A quoted item holding a comma is cut in two here: neither half is a whole scalar, so it fails.
  return inner.split(',').map((item) => {
    const t = item.trim();
    if (t === '') fail();
    return t;
  });
}

function setKey(map: Record<string, unknown>, key: string, value: unknown): void {
  // A key the core schema reads as a number, null or a boolean is left to yaml (it would be one).
  if (key === '__proto__' || specialWords.has(key) || plainScalar(key, false) !== key || Object.prototype.hasOwnProperty.call(map, key)) fail();
  map[key] = value;
}

/** The value after `key: `: a flow collection or a scalar, with a trailing comment cut off. */
function inlineValue(rest: string): unknown {
  let s = rest;
  const first = s[0];
  if (first === '[' || first === '{' || first === "'" || first === '"') {
    const close = first === '[' ? ']' : first === '{' ? '}' : first;
    const end = s.indexOf(close, 1);
    if (end < 0) fail();
    const after = s.slice(end + 1);
    // Only a comment may follow; a quote quoted by doubling ('it''s') is left to yaml.
    if (after.trim() !== '' && !/^ +#/.test(after)) fail();
    s = s.slice(0, end + 1);
    if (first === '[') return flowItems(s.slice(1, -1)).map((item) => scalar(item, true));
    if (first === '{') {
      const map: Record<string, unknown> = {};
      for (const item of flowItems(s.slice(1, -1))) {
        const m = /^([A-Za-z0-9_][A-Za-z0-9_./-]*): +(.+)$/.exec(item);
        if (!m) fail();
        setKey(map, m[1]!, scalar(m[2]!, true));
      }
      return map;
    }
    return scalar(s, false);
  }
  const hash = s.indexOf(' #');
  if (hash >= 0) s = s.slice(0, hash);
  return plainScalar(s.trimEnd(), false);
}

/** The block (mapping or sequence) whose first line is lines[at], all at lines[at].indent. */
function block(lines: Line[], at: number): { value: unknown; next: number } {
  const indent = lines[at]!.indent;
  const isSeq = (l: Line) => l.text === '-' || l.text.startsWith('- ');
  if (isSeq(lines[at]!)) {
    const list: unknown[] = [];
    let i = at;
    while (i < lines.length && lines[i]!.indent === indent) {
      const l = lines[i]!;
      if (!isSeq(l)) fail();
      const item = l.text.slice(2).trim();
      // `-` alone (a nested block) and `- - x` are left to yaml.
      if (item === '') fail();
      if (keyPattern.test(item)) {
        // `- key: value`: a mapping in the list, its keys in the column of the first one.
        lines[i] = { indent: indent + l.text.length - l.text.slice(1).trimStart().length, text: item };
        const inner = block(lines, i);
        if (Array.isArray(inner.value)) fail();
        list.push(inner.value);
        i = inner.next;
      } else {
        list.push(inlineValue(item));
        i++;
      }
      if (i < lines.length && lines[i]!.indent > indent) fail();
    }
    return { value: list, next: i };
  }
  const map: Record<string, unknown> = {};
  let i = at;
  while (i < lines.length && lines[i]!.indent === indent) {
    const m = keyPattern.exec(lines[i]!.text);
    if (!m) fail();
    const key = m[1]!;
    const rest = m[2];
    i++;
    if (rest !== undefined && rest !== '' && !rest.startsWith('#')) {
      setKey(map, key, inlineValue(rest));
      if (i < lines.length && lines[i]!.indent > indent) fail();
    } else if (i < lines.length && lines[i]!.indent > indent) {
      const inner = block(lines, i);
      setKey(map, key, inner.value);
      i = inner.next;
      if (i < lines.length && lines[i]!.indent > indent) fail();
    } else {
      // `key:` with nothing under it (a list at the key's own indentation is left to yaml).
      if (i < lines.length && lines[i]!.indent === indent && (lines[i]!.text === '-' || lines[i]!.text.startsWith('- '))) fail();
      setKey(map, key, null);
    }
  }
  return { value: map, next: i };
}

/**
 * The mapping a config text holds, when the text is in the subset this reader knows (see the module
 * note); otherwise undefined, and the caller parses it with the `yaml` package.
 */
export function parseYamlSubset(text: string): Record<string, unknown> | undefined {
  // Printable ASCII and newlines only: no tabs, carriage returns, byte order marks or other scripts.
  if (!/^[\x20-\x7e\n]*$/.test(text)) return undefined;
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    const body = raw.trimStart();
    if (body === '' || body.startsWith('#')) continue;
    // Directives, document markers, anchors, aliases, tags, block scalars, complex keys: yaml's.
    if (/^(?:---|\.\.\.|%|\?|&|\*|!|\||>)/.test(body)) return undefined;
    lines.push({ indent: raw.length - body.length, text: body.trimEnd() });
  }
  if (lines.length === 0 || lines[0]!.indent !== 0) return undefined;
  try {
    const { value, next } = block(lines, 0);
    if (next !== lines.length || Array.isArray(value)) return undefined;
    return value as Record<string, unknown>;
  } catch {
    // `outside`, or anything unforeseen (a nesting too deep for the stack): yaml reads it and reports.
    return undefined;
  }
}
