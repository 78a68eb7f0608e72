import { describe, expect, it } from 'vitest';
import { configLink, fillIp, lookupByName, safeUrl } from '../../web/links.js';

describe('links', () => {
  it('allows only absolute http and https URLs', () => {
    expect(safeUrl('https://a.example/x?y=1')).toBe('https://a.example/x?y=1');
    expect(safeUrl('http://a.example/')).toBe('http://a.example/');
    for (const bad of ['javascript:alert(1)', ' JavaScript:alert(1)', 'data:text/html,<b>', 'vbscript:x', '/relative', '//evil.example/', 'ftp://x.example/']) {
      expect(safeUrl(bad), bad).toBeNull();
    }
    expect(safeUrl(undefined)).toBeNull();
  });

  it('fills the IP where the link expects it', () => {
    expect(fillIp('https://x.example/lookup?ip=', '192.0.2.1')).toBe('https://x.example/lookup?ip=192.0.2.1');
    expect(fillIp('https://x.example/{ip}/info', '2001:db8::1')).toBe('https://x.example/2001%3Adb8%3A%3A1/info');
    expect(fillIp('https://x.example/form', '192.0.2.1')).toBe('https://x.example/form');
  });

  it('matches a configured name exactly, then as whole labels of the zone (most specific first)', () => {
    const map = { spamhaus: 'https://a.example/', 'zen.spamhaus.org': 'https://b.example/', spamcop: 'https://c.example/', att: 'https://att.example/', cox: 'https://cox.example/' };
    expect(lookupByName(map, 'zen.spamhaus.org')).toBe('https://b.example/');
    expect(lookupByName(map, 'sbl.spamhaus.org')).toBe('https://a.example/');
    expect(lookupByName(map, 'bl.spamcop.net')).toBe('https://c.example/');
    expect(lookupByName(map, 'b.barracudacentral.org')).toBeUndefined();
    // Provider keys such as att or cox never attach to a zone that merely contains those letters.
    expect(lookupByName(map, 'dnsbl.attacker-list.example')).toBeUndefined();
    expect(lookupByName(map, 'coxcomb.bl.example')).toBeUndefined();
    expect(lookupByName(map, 'att')).toBe('https://att.example/');
    expect(configLink({ x: 'javascript:alert(1)' }, 'x', '192.0.2.1')).toBeNull();
  });
});
