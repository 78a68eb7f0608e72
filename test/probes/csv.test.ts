/** The mxtrax CSV parser (pure) and the address checks. */
import { describe, expect, it } from 'vitest';
import { checkEntry, parseDomainsCsv } from '../../lib/probes/csv.js';

describe('domain CSV', () => {
  it('skips only a header in the first data line, counts data lines, keeps line numbers', () => {
    const r = parseDomainsCsv('\n\nCustomer.friendlyname,Customer.codename,MailDomain.testuser,MailDomain.domainname\nA,a,p,a.example\n\nB,b,p\n');
    expect(r.header).toBe(true);
    expect(r.dataLines).toBe(2);
    expect(r.rows).toEqual([{ line: 4, customerName: 'A', customer: 'a', address: 'p@a.example', domain: 'a.example' }]);
    expect(r.invalid).toEqual([{ line: 6, reason: 'wrong column count: 3 instead of 4 (Customer.friendlyname,Customer.codename,MailDomain.testuser,MailDomain.domainname)' }]);
  });
  it('validates like mxtrax: address, domain, customer code', () => {
    expect(checkEntry('X', 'x', 'Probe', 'Example.COM.')).toEqual({ ok: true, address: 'probe@example.com', domain: 'example.com' });
    expect(checkEntry('X', '', 'p', 'a.example')).toMatchObject({ ok: false, reason: 'empty customer code (column 2)' });
    expect(checkEntry('X', 'x', 'p@@a.example', 'a.example')).toMatchObject({ ok: false });
    expect(checkEntry('X', 'x', 'p', 'localhost')).toMatchObject({ ok: false, reason: 'malformed domain "localhost"' });
  });
});
