/**
 * The pure parts of the IMAP client (RFC 3501): framing server answers (lines with their literals),
 * tokenizing them into values, quoting arguments, modified UTF-7 mailbox names, sequence sets.
 * No I/O here: imap-conn.ts feeds the bytes in.
 */

/** One server answer: its text (latin-1, one character per byte) with literals taken out in order. */
export interface Answer {
  /** The answer's line(s) without CRLF; each `{n}` marker stays where its literal was. */
  text: string;
  literals: Buffer[];
}

/** A tokenized value: atom or quoted string, literal bytes, NIL, or a parenthesized list. */
export type Value = string | Buffer | null | Value[];

/** Largest literal accepted (a scan fetches headers, a source fetch asks for at most a few MB). */
const MAX_LITERAL = 64 * 1024 * 1024;
/** Longest line between literals (a SEARCH answer of a million UIDs is ~7 MB). */
const MAX_LINE = 32 * 1024 * 1024;

/** Cuts the byte stream from the server into answers. */
export class AnswerReader {
  private buf: Buffer = Buffer.alloc(0);
  private parts: string[] = [];
  private literals: Buffer[] = [];
  private need = -1;

  /** Feed bytes; returns the answers they complete. Throws on a literal or line past the limits. */
  push(chunk: Buffer): Answer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Answer[] = [];
    let pos = 0;
    for (;;) {
      if (this.need >= 0) {
        if (this.buf.length - pos < this.need) break;
        this.literals.push(Buffer.from(this.buf.subarray(pos, pos + this.need)));
        pos += this.need;
        this.need = -1;
        continue;
      }
      const nl = this.buf.indexOf(10, pos);
      if (nl < 0) {
        if (this.buf.length - pos > MAX_LINE) throw new Error(`server line longer than ${MAX_LINE} bytes`);
        break;
      }
      const line = this.buf.toString('latin1', pos, nl > pos && this.buf[nl - 1] === 13 ? nl - 1 : nl);
      pos = nl + 1;
      const lit = /\{(\d+)\+?\}$/.exec(line);
      this.parts.push(line);
      if (lit) {
        const n = Number(lit[1]);
        if (n > MAX_LITERAL) throw new Error(`server literal of ${n} bytes is larger than ${MAX_LITERAL}`);
        this.need = n;
        continue;
      }
      out.push({ text: this.parts.join(''), literals: this.literals });
      this.parts = [];
      this.literals = [];
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
    return out;
  }
}

const SPECIALS = new Set([' ', '(', ')', '"', '{', '\r', '\n']);

/**
 * Tokenize an answer: atoms (a `[...]` section is part of its atom, spaces included), quoted strings,
 * literals (each `{n}` takes the next of `literals`), NIL, lists. `* 3 FETCH (UID 9)` gives
 * ['*', '3', 'FETCH', ['UID', '9']].
 */
export function tokenize(a: Answer): Value[] {
  const { text, literals } = a;
  let i = 0;
  let lit = 0;
  const stack: Value[][] = [[]];
  const top = () => stack[stack.length - 1]!;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ') {
      i++;
    } else if (c === '(') {
      const l: Value[] = [];
      top().push(l);
      stack.push(l);
      i++;
    } else if (c === ')') {
      if (stack.length > 1) stack.pop();
      i++;
    } else if (c === '"') {
      let s = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        s += text[i];
        i++;
      }
      i++;
      top().push(s);
    } else if (c === '{') {
      const m = /^\{(\d+)\+?\}/.exec(text.slice(i, i + 24));
      if (!m) {
        top().push(c);
        i++;
        continue;
      }
      top().push(literals[lit++] ?? Buffer.alloc(0));
      i += m[0].length;
    } else {
      let j = i;
      while (j < text.length && !SPECIALS.has(text[j]!)) {
        if (text[j] === '[') {
          const close = text.indexOf(']', j);
          j = close < 0 ? text.length : close + 1;
        } else j++;
      }
      const atom = text.slice(i, j);
      top().push(atom.toUpperCase() === 'NIL' ? null : atom);
      i = j;
    }
  }
  return stack[0]!;
}

/** The `[CODE args]` at the start of a status text (`[UIDVALIDITY 5] UIDs valid` -> ['UIDVALIDITY', '5']). */
export function responseCode(text: string): { code: string; args: string } | undefined {
  const m = /^\[([^\s\]]+)(?: ([^\]]*))?\]/.exec(text);
  return m ? { code: m[1]!.toUpperCase(), args: m[2] ?? '' } : undefined;
}

/** A string argument: quoted when it is short printable ASCII, else a literal (the caller sends it). */
export type Arg = string | { literal: Buffer };

export function astring(s: string): Arg {
  if (s.length < 1024 && /^[\x20-\x7e]*$/.test(s)) return `"${s.replace(/[\\"]/g, (c) => '\\' + c)}"`;
  return { literal: Buffer.from(s, 'utf8') };
}

/** Modified UTF-7 (RFC 3501 5.1.3) for mailbox names. */
export function encodeMailbox(name: string): string {
  let out = '';
  let run = '';
  const flush = () => {
    if (!run) return;
    const u16 = Buffer.alloc(run.length * 2);
    for (let k = 0; k < run.length; k++) u16.writeUInt16BE(run.charCodeAt(k), k * 2);
    out += '&' + u16.toString('base64').replace(/=+$/, '').replace(/\//g, ',') + '-';
    run = '';
  };
  for (const ch of name) {
    const code = ch.charCodeAt(0);
    if (ch.length === 1 && code >= 0x20 && code <= 0x7e) {
      flush();
      out += ch === '&' ? '&-' : ch;
    } else run += ch;
  }
  flush();
  return out;
}

export function decodeMailbox(name: string): string {
  return name.replace(/&([^-]*)-/g, (_, b64: string) => {
    if (b64 === '') return '&';
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64');
    let s = '';
    for (let k = 0; k + 1 < bytes.length; k += 2) s += String.fromCharCode(bytes.readUInt16BE(k));
    return s;
  });
}

/** UIDs as an IMAP sequence set, consecutive runs as ranges (1,2,3,7 -> 1:3,7): a shorter command. */
export function uidSet(uids: readonly number[]): string {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `${sorted[i]}:${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return parts.join(',');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A SEARCH date (`SINCE 1-Jan-2026`), UTC. */
export function searchDate(d: Date): string {
  return `${d.getUTCDate()}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()}`;
}

/** Latin-1 wire text as UTF-8 where the server wrote UTF-8 (response texts, quoted names). */
export function wireText(s: string): string {
  return /[\x80-\xff]/.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}
