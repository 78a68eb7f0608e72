/** IPv4 addresses as numbers (for code ranges and SNDS IP ranges). */

/** a.b.c.d as an unsigned 32-bit integer. */
export function ipv4ToInt(ip: string): number {
  const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}
