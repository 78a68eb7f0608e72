/**
 * Regular expressions from config that run on text a remote server wrote (provider-block patterns on
 * maillog lines). A backtracking engine can take exponential time on a crafted line, so:
 *  - at config load, `regexHazard` refuses the shapes that backtrack catastrophically (a repeated
 *    group that itself repeats, `(a+)+`; a repeated alternation whose branches can match the same
 *    text, `(a|ab)*`) and the features V8's linear-time engine cannot run (look-around,
 *    back-references, large `{n,m}` counts) when the pattern repeats anything;
 *  - at match time, `boundedRegExp` compiles with V8's fallback switched on: after a bounded number
 *    of backtracks V8 re-runs the match on its linear-time engine, so even a pattern this check
 *    missed cannot hang the reader; the matcher also caps the length of the text it tests.
 */
import v8 from 'node:v8';

let linearFlags = false;

/**
 * Switch on V8's linear-time regexp engine: the `l` flag (used to test a pattern at load) and the
 * fallback to it on excessive backtracking. Process-wide and read when a RegExp is compiled, so
 * patterns that must be bounded are compiled after this (boundedRegExp does both).
 */
export function enableLinearRegExp(): void {
  if (linearFlags) return;
  v8.setFlagsFromString('--enable-experimental-regexp-engine');
  v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  linearFlags = true;
}

/** A RegExp whose every match ends in time linear in the text once it backtracks too much. */
export function boundedRegExp(source: string, flags = ''): RegExp {
  enableLinearRegExp();
  return new RegExp(source, flags);
}

/** Whether V8's linear-time engine can run the pattern (so the backtracking fallback applies to it). */
export function linearCapable(source: string, flags = ''): boolean {
  enableLinearRegExp();
  try {
    new RegExp(source, flags.replace(/l/g, '') + 'l');
    return true;
  } catch {
    return false;
  }
}

interface Frame {
  start: number;
  /** Something inside has a quantifier (`?` included), at any depth. */
  repeats: boolean;
  /** Start offsets of the top-level alternatives of this group. */
  branches: number[];
}

interface Atom {
  start: number;
  end: number;
  /** A group with a quantifier inside. */
  repeats: boolean;
  /** A group: its top-level alternatives as source text. */
  alternatives?: string[];
}

/** Length of the quantifier at `i` (0 when none) and whether it lets the atom match more than once. */
function quantifierAt(src: string, i: number): { len: number; many: boolean } {
  const c = src[i];
  if (c === '*' || c === '+') return { len: 1, many: true };
  if (c === '?') return { len: 1, many: false };
  if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
    if (m) {
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      return { len: m[0].length, many: max > 1 };
    }
  }
  return { len: 0, many: false };
}

/** Whether two alternatives can start matching the same text (a conservative guess). */
function overlapping(alternatives: string[]): boolean {
  const plain = (s: string) => /^[^\\[\](){}|.*+?^$]*$/.test(s);
  for (let a = 0; a < alternatives.length; a++) {
    for (let b = a + 1; b < alternatives.length; b++) {
      const x = alternatives[a]!;
      const y = alternatives[b]!;
      // Two literal words overlap when one starts the other ("a" and "ab"; identical ones too).
      if (plain(x) && plain(y)) {
        if (x.startsWith(y) || y.startsWith(x)) return true;
        continue;
      }
      // Classes, escapes, dots: assume they can match what the other alternative matches.
      return true;
    }
  }
  return false;
}

/**
 * Why a pattern is dangerous on text from outside, or null when it is safe to run. The answer names
 * the fragment at fault, e.g. `nested quantifiers in "(a+)+"`. Assumes the pattern compiles.
 */
export function regexHazard(source: string, flags = ''): string | null {
  const stack: Frame[] = [{ start: -1, repeats: false, branches: [0] }];
  let last: Atom | null = null;
  let anyRepeat = false;
  for (let i = 0; i < source.length; ) {
    const c = source[i]!;
    const top = stack[stack.length - 1]!;
    if (c === '\\') {
      const end = source[i + 1] === 'u' && source[i + 2] === '{' ? source.indexOf('}', i) + 1 || i + 2 : i + 2;
      last = { start: i, end, repeats: false };
      i = end;
      continue;
    }
    if (c === '[') {
      let j = i + 1;
      if (source[j] === '^') j++;
      while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
      last = { start: i, end: j + 1, repeats: false };
      i = j + 1;
      continue;
    }
    if (c === '(') {
      let j = i + 1;
      const head = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)/.exec(source.slice(j));
      if (head) j += head[0].length;
      stack.push({ start: i, repeats: false, branches: [j] });
      last = null;
      i = j;
      continue;
    }
    if (c === ')' && stack.length > 1) {
      const f = stack.pop()!;
      const bounds = [...f.branches, i + 1];
      const alternatives = f.branches.map((b, n) => source.slice(b, bounds[n + 1]! - 1));
      last = { start: f.start, end: i + 1, repeats: f.repeats, alternatives };
      stack[stack.length - 1]!.repeats ||= f.repeats;
      i++;
      continue;
    }
    if (c === '|') {
      top.branches.push(i + 1);
      last = null;
      i++;
      continue;
    }
    const q = quantifierAt(source, i);
    if (q.len > 0 && last !== null) {
      let end = i + q.len;
      if (source[end] === '?') end++; // lazy: the same backtracking, in another order
      if (q.many) {
        anyRepeat = true;
        const fragment = source.slice(last.start, end);
        if (last.repeats) return `nested quantifiers in "${fragment}" (a repeated group that repeats inside: exponential backtracking)`;
        if (last.alternatives && last.alternatives.length > 1 && overlapping(last.alternatives)) {
          return `a repeated alternation whose branches can match the same text in "${fragment}" (exponential backtracking; use a character class or distinct words)`;
        }
      }
      // Even an optional part inside a repeated group (`(a?)+`) gives it many ways to match.
      top.repeats = true;
      last = null;
      i = end;
      continue;
    }
    last = { start: i, end: i + 1, repeats: false };
    i++;
  }
  if (anyRepeat && !linearCapable(source, flags)) {
    return 'repeats text and uses a look-around, a back-reference or a large {n,m} count, which cannot be matched in bounded time';
  }
  return null;
}
