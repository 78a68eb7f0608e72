/**
 * The pure parts of the SMTP client (RFC 5321): reading replies from a byte stream, the EHLO
 * extensions, and writing a message body for DATA (line ends, dot-stuffing, the end-of-data line).
 * No I/O here, so each rule is tested on its own (test/mail/smtp-wire.test.ts).
 */

export interface Reply {
  code: number;
  /** Every line of the reply with its code ("250-mx.test\n250 PIPELINING"), as the server said it. */
  text: string;
}

/** A server that sends this much without ending a line is broken (RFC 5321 allows 512 octets). */
const maxLine = 64 * 1024;

/**
 * Splits received text into complete replies (multi-line `250-` replies joined). `push` returns the
 * replies completed by the chunk; a line that is not a reply line throws.
 */
export class ReplyReader {
  private rest = '';
  private lines: string[] = [];

  push(chunk: string): Reply[] {
    const data = this.rest + chunk;
    const out: Reply[] = [];
    let start = 0;
    for (let nl = data.indexOf('\n'); nl >= 0; nl = data.indexOf('\n', start)) {
      const line = data.charCodeAt(nl - 1) === 13 && nl > start ? data.slice(start, nl - 1) : data.slice(start, nl);
      start = nl + 1;
      const code = replyCode(line);
      if (code === undefined) throw new Error(`not an SMTP reply line: ${JSON.stringify(line.slice(0, 120))}`);
      this.lines.push(line);
      if (line.length === 3 || line.charCodeAt(3) !== 45 /* '-' */) {
        out.push({ code, text: this.lines.join('\n') });
        this.lines = [];
      }
    }
    this.rest = start === 0 ? data : data.slice(start);
    if (this.rest.length > maxLine) throw new Error(`the server sent ${this.rest.length} bytes without ending the line`);
    return out;
  }
}

function replyCode(line: string): number | undefined {
  if (line.length < 3 || (line.length > 3 && line[3] !== ' ' && line[3] !== '-')) return undefined;
  const c = Number(line.slice(0, 3));
  return Number.isInteger(c) && c >= 200 && c <= 599 ? c : undefined;
}

/** The text of a reply without its codes, one line per line ("mx.test\nPIPELINING"). */
export function replyLines(r: Reply): string[] {
  return r.text.split('\n').map((l) => l.slice(4));
}

/** EHLO keywords (upper case) with their parameters: `AUTH PLAIN LOGIN` is AUTH -> "PLAIN LOGIN". */
export function ehloExtensions(r: Reply): Map<string, string> {
  const ext = new Map<string, string>();
  for (const l of replyLines(r).slice(1)) {
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:[ =](.*))?$/.exec(l.trim());
    if (!m) continue;
    const key = m[1]!.toUpperCase();
    const params = (m[2] ?? '').trim();
    // Old servers repeat AUTH as AUTH=...: the parameters of both count.
    const had = ext.get(key);
    ext.set(key, had ? `${had} ${params}`.trim() : params);
  }
  return ext;
}

/**
 * A message as it goes after DATA's 354: every line ending CRLF (bare LF too: raw text from a file),
 * a line starting with "." doubled (RFC 5321 4.5.2), and the end-of-data line. Latin-1 text, so the
 * bytes of a Buffer pass unchanged.
 */
export function dataBody(raw: string | Buffer): string {
  let s = typeof raw === 'string' ? raw : raw.toString('latin1');
  if (/(?:^|[^\r])\n/.test(s)) s = s.replace(/\r?\n/g, '\r\n');
  if (s.charCodeAt(0) === 46 || s.includes('\n.')) s = s.replace(/(^|\n)\./g, '$1..');
  return s.endsWith('\r\n') ? `${s}.\r\n` : `${s}\r\n.\r\n`;
}

/** True when the text has a byte outside 7-bit ASCII (BODY=8BITMIME, SMTPUTF8). */
export function hasEightBit(s: string): boolean {
  return /[^\x00-\x7f]/.test(s);
}
