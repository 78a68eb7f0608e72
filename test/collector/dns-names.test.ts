import { describe, expect, it } from 'vitest';
import { dnsblName, normalizeIp, rawReverseLabels, reverseLabels, ipFamily } from '../../lib/net/dns/names.js';

describe('reverse names', () => {
  it('reverses IPv4 octets', () => {
    expect(dnsblName('192.0.2.10', 'zen.spamhaus.org')).toBe('10.2.0.192.zen.spamhaus.org');
  });
  it('expands IPv6 to 32 reversed nibbles (the note example)', () => {
    expect(dnsblName('2001:db8:7ca6:22::45', 'bl.test')).toBe(
      '5.4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.2.0.0.6.a.c.7.8.b.d.0.1.0.0.2.bl.test',
    );
    expect(reverseLabels('::1').split('.')).toHaveLength(32);
    expect(reverseLabels('2001:DB8::1')).toBe(reverseLabels('2001:db8:0:0:0:0:0:1'));
  });
  it('normalises IPv4-mapped IPv6 to IPv4 in any spelling', () => {
    expect(normalizeIp('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(normalizeIp('::FFFF:c000:0207')).toBe('192.0.2.7');
    expect(normalizeIp('0:0:0:0:0:ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(reverseLabels('::ffff:192.0.2.7')).toBe('7.2.0.192');
    expect(ipFamily('::ffff:192.0.2.7')).toBe(4);
  });
  it('canonicalises IPv6 text', () => {
    expect(normalizeIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(normalizeIp('2001:db8:0:1:0:0:0:0')).toBe('2001:db8:0:1::');
    expect(normalizeIp('2001:db8:1:1:1:1:1:1')).toBe('2001:db8:1:1:1:1:1:1');
  });
  it('keeps the mapped form for the IPv6 self-test name', () => {
    expect(rawReverseLabels('::ffff:127.0.0.2')).toBe('2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0');
  });
  it('rejects what is not an IP', () => {
    expect(() => normalizeIp('example.com')).toThrow(/not an IP/);
  });
});
