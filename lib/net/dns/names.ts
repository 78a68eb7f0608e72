/**
 * DNSBL query names (../shared/notes/dnsbl.md): IPv4 reversed octets, IPv6 as 32 reversed nibbles
 * (ip6.arpa style). IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is an IPv4 address and is normalised first,
 * except by `rawReverseLabels`, which the IPv6 self-test (`::ffff:127.0.0.2`) needs verbatim.
 */
import { isIP } from '../ip.js';

/** Expand an IPv6 address to 8 groups of 4 hex digits. Throws on a malformed address. */
export function expandIpv6(ip: string): string[] {
  if (isIP(ip) !== 6) throw new Error(`not an IPv6 address: ${ip}`);
  let text = ip.toLowerCase();
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, quad.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0'));
}

/** `::ffff:a.b.c.d` (in any spelling) -> `a.b.c.d`; any other address unchanged (IPv6 lower-cased). */
export function normalizeIp(ip: string): string {
  const fam = isIP(ip);
  if (fam === 4) return ip;
  if (fam !== 6) throw new Error(`not an IP address: ${ip}`);
  const g = expandIpv6(ip);
  if (g.slice(0, 5).every((x) => x === '0000') && g[5] === 'ffff') {
    const hi = parseInt(g[6]!, 16);
    const lo = parseInt(g[7]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return compressIpv6(g);
}

/** Canonical (RFC 5952) text of 8 expanded groups: lower case, longest zero run as `::`. */
function compressIpv6(groups: string[]): string {
  const parts = groups.map((g) => parseInt(g, 16).toString(16));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return parts.join(':');
  return parts.slice(0, best).join(':') + '::' + parts.slice(best + bestLen).join(':');
}

/** Address family after normalisation. */
export function ipFamily(ip: string): 4 | 6 {
  return isIP(normalizeIp(ip)) === 4 ? 4 : 6;
}

/** Reverse labels without normalising: octets for IPv4, 32 nibbles for any IPv6 (mapped included). */
export function rawReverseLabels(ip: string): string {
  if (isIP(ip) === 4) return ip.split('.').reverse().join('.');
  return expandIpv6(ip).join('').split('').reverse().join('.');
}

/** Reverse labels of an IP as DNSBLs want them (IPv4-mapped IPv6 queried as IPv4). */
export function reverseLabels(ip: string): string {
  return rawReverseLabels(normalizeIp(ip));
}

/** `<reversed ip>.<zone>`. */
export function dnsblName(ip: string, zone: string): string {
  return `${reverseLabels(ip)}.${zone}`;
}
