/**
 * Reading a raw header block: unfold, split into (lower-case name, value) pairs, decode RFC 2047
 * encoded words (auto-replies often encode their `Re:` subject), and pull dates out of `Received:`.
 */

export type HeaderMap = Map<string, string[]>;

/** Header name (lower case) -> values in order. Stops at the first empty line. */
export function parseHeaders(raw: string): HeaderMap {
  const out: HeaderMap = new Map();
  const end = raw.search(/\r?\n\r?\n/);
  const block = end >= 0 ? raw.slice(0, end) : raw;
  const lines = block.split(/\r?\n/);
  let name = '';
  let value = '';
  const flush = () => {
    if (!name) return;
    const list = out.get(name);
    if (list) list.push(value.trim());
    else out.set(name, [value.trim()]);
  };
  for (const line of lines) {
    if (/^[ \t]/.test(line)) {
      value += ' ' + line.trim();
      continue;
    }
    flush();
    const i = line.indexOf(':');
    if (i <= 0) {
      name = '';
      continue;
    }
    name = line.slice(0, i).trim().toLowerCase();
    value = line.slice(i + 1);
  }
  flush();
  return out;
}

export function header(h: HeaderMap, name: string): string | undefined {
  return h.get(name.toLowerCase())?.[0];
}

/** Decode `=?charset?B|Q?...?=` words (whitespace between adjacent encoded words is dropped, as RFC 2047 says). */
export function decodeWords(s: string): string {
  return s
    .replace(/(=\?[^?]+\?[bqBQ]\?[^?]*\?=)\s+(?==\?[^?]+\?[bqBQ]\?[^?]*\?=)/g, '$1')
    .replace(/=\?([^?*]+)(?:\*[^?]*)?\?([bqBQ])\?([^?]*)\?=/g, (whole, charset: string, enc: string, text: string) => {
      try {
        const bytes =
          enc.toUpperCase() === 'B'
            ? Buffer.from(text, 'base64')
            : Buffer.from(
                text.replace(/_/g, ' ').replace(/=([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
                'latin1',
              );
        return new TextDecoder(charset.toLowerCase(), { fatal: false }).decode(bytes);
      } catch {
        return whole;
      }
    });
}

/** The bare address of a From-like header value ("Name <a@b>" -> "a@b"), lower case. */
export function addressOf(v: string | undefined): string {
  if (!v) return '';
  const m = /<([^>]*)>/.exec(v);
  return (m ? m[1]! : v).trim().toLowerCase();
}

/** The date at the end of a Received: header ("...; Tue, 3 Nov 2026 10:00:00 +0000"), or undefined. */
export function receivedDate(v: string): Date | undefined {
  const i = v.lastIndexOf(';');
  if (i < 0) return undefined;
  const d = new Date(v.slice(i + 1).trim().replace(/\s*\([^)]*\)\s*$/, ''));
  return Number.isNaN(d.getTime()) ? undefined : d;
}
