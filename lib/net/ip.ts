/**
 * IP address text: which family a string is (as node:net's isIP, without its regular expressions:
 * Node's IPv6 expression takes 10-30 ms to compile on first use, most of a `check-config` start's
 * budget), and IPv4 addresses as numbers (for code ranges and SNDS IP ranges).
 */

/** A decimal byte as IPv4 writes it: 0-255, no leading zero. */
function v4Byte(s: string, from: number, to: number): boolean {
  const n = to - from;
  if (n < 1 || n > 3) return false;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return false;
    v = v * 10 + c;
  }
  return v <= 255 && (n === 1 || s.charCodeAt(from) !== 48);
}

function v4Part(s: string, from: number, to: number): boolean {
  let start = from;
  let dots = 0;
  for (let i = from; i <= to; i++) {
    if (i === to || s.charCodeAt(i) === 46) {
      if (!v4Byte(s, start, i)) return false;
      if (i < to && ++dots > 3) return false;
      start = i + 1;
    }
  }
  return dots === 3;
}

/** Whether `s` is a dotted-quad IPv4 address (the same strings node:net's isIPv4 accepts). */
export function isIPv4(s: string): boolean {
  return typeof s === 'string' && s.length <= 15 && v4Part(s, 0, s.length);
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Zone index characters node:net accepts after `%`: letters, digits, `-`, `.`, `:`. */
function zoneChar(c: number): boolean {
  return (c >= 48 && c <= 58) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46;
}

/**
 * Whether `s` is an IPv6 address (the same strings node:net's isIPv6 accepts): up to eight groups of
 * 1-4 hex digits, one `::` standing for at least one group, an IPv4 tail counting as two groups, and
 * an optional `%zone`.
 */
export function isIPv6(s: string): boolean {
  if (typeof s !== 'string') return false;
  let end = s.indexOf('%');
  if (end === -1) end = s.length;
  else {
    if (end === s.length - 1) return false;
    for (let i = end + 1; i < s.length; i++) if (!zoneChar(s.charCodeAt(i))) return false;
  }
  if (end < 2) return false;
  let groups = 0;
  let compressed = false;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    // A leading ':' only as the start of '::'.
    if (s.charCodeAt(1) !== 58) return false;
    compressed = true;
    i = 2;
    if (i === end) return true;
  }
  for (;;) {
    // One group (or the IPv4 tail) from i.
    let j = i;
    while (j < end && isHex(s.charCodeAt(j))) j++;
    if (j < end && s.charCodeAt(j) === 46) {
      // IPv4 tail: must run to the end.
      if (!v4Part(s, i, end)) return false;
      groups += 2;
      break;
    }
    if (j === i || j - i > 4) return false;
    groups++;
    if (j === end) break;
    if (s.charCodeAt(j) !== 58) return false;
    if (s.charCodeAt(j + 1) === 58) {
      if (compressed) return false;
      compressed = true;
      i = j + 2;
      if (i === end) break;
    } else {
      i = j + 1;
      if (i === end) return false;
    }
  }
  return compressed ? groups <= 7 : groups === 8;
}

/** 4, 6 or 0, as node:net's isIP. */
export function isIP(s: string): 0 | 4 | 6 {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0;
}

/** a.b.c.d as an unsigned 32-bit integer. */
export function ipv4ToInt(ip: string): number {
  const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** The integer a.b.c.d as text. */
export function intToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** The network mask of a /bits prefix (0-32) as an unsigned 32-bit integer (a shift by 32 is a no-op in JS). */
export function ipv4Mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}
