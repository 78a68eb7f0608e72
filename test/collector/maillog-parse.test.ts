import { describe, expect, it } from 'vitest';
import { parseHeader, parseLine } from '../../collector/maillog/parse.js';
import { HostClock } from '../../collector/maillog/time.js';

const clock = new HostClock(new Date('2026-11-04T12:00:00Z'), 'UTC');
const p = (line: string, c = clock) => parseLine(line, c);

describe('parseLine: line shapes from the note', () => {
  it('smtp sent, traditional stamp', () => {
    const r = p('Nov  3 07:30:02 mta1 postfix/smtp[4154]: 3F2A81234: to=<u@Gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.102.27]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 OK ...)');
    expect(r.kind).toBe('delivery');
    if (r.kind !== 'delivery') return;
    expect(r).toMatchObject({ qid: '3F2A81234', rcpt: 'u@gmail.com', domain: 'gmail.com', status: 'sent', agent: 'smtp' });
    expect(r.header.day).toBe('20261103');
    expect(new Date(r.header.ms).toISOString()).toBe('2026-11-03T07:30:02.000Z');
    expect(r.header.program).toBe('postfix/smtp');
  });

  it('bounced with a provider reply and deferred with relay=none', () => {
    const b = p('Nov  3 07:30:03 mta1 postfix/smtp[4155]: 4A1B2C3D4: to=<x@hotmail.com>, relay=...[52.101.10.3]:25, delay=0.8, delays=..., dsn=5.7.1, status=bounced (host ...[52.101.10.3] said: 550 5.7.1 Unfortunately, messages from [192.0.2.10] weren\'t sent. ... http://mail.live.com/mail/troubleshooting.aspx#errors. (in reply to MAIL FROM command))');
    expect(b).toMatchObject({ kind: 'delivery', status: 'bounced', domain: 'hotmail.com', qid: '4A1B2C3D4' });
    const d = p('Nov  3 07:31:00 mta1 postfix/smtp[4156]: 5C2D3E4F5: to=<y@example.org>, relay=none, delay=3600, delays=3600/0/0/0, dsn=4.4.1, status=deferred (connect to mx.example.org[198.51.100.7]:25: Connection timed out)');
    expect(d).toMatchObject({ kind: 'delivery', status: 'deferred', domain: 'example.org' });
  });

  it('qmgr expired names the queue id only', () => {
    const r = p('Nov  4 07:31:00 mta1 postfix/qmgr[1234]: 5C2D3E4F5: from=<bounce@news.example.com>, status=expired, returned to sender');
    expect(r).toMatchObject({ kind: 'expired', qid: '5C2D3E4F5' });
    expect(p('Nov  4 07:31:00 mta1 postfix/qmgr[1234]: 5C2D3E4F5: from=<>, status=expired, returned to sender')).toMatchObject({ kind: 'expired' });
  });

  it('qmgr from=, removed, smtpd and cleanup lines are "other"', () => {
    for (const l of [
      'Nov  3 07:30:01 mta1 postfix/qmgr[1234]: 3F2A81234: from=<bounce@news.example.com>, size=8731, nrcpt=1 (queue active)',
      'Nov  3 07:30:02 mta1 postfix/qmgr[1234]: 3F2A81234: removed',
      'Nov  3 07:30:02 mta1 postfix/smtpd[99]: connect from unknown[198.51.100.1]',
      'Nov  3 07:30:02 mta1 postfix/cleanup[98]: 3F2A81234: message-id=<a@b>',
    ]) {
      expect(p(l).kind).toBe('other');
    }
  });

  it('RFC 3339 stamps, with fraction and offset; the day is the host zone\'s', () => {
    const r = p('2026-11-03T07:30:01.123456+00:00 mta1 postfix/smtp[4154]: 3F2A81234: to=<u@gmail.com>, relay=x[1.2.3.4]:25, dsn=2.0.0, status=sent (ok)');
    expect(r.kind).toBe('delivery');
    if (r.kind !== 'delivery') return;
    expect(new Date(r.header.ms).toISOString()).toBe('2026-11-03T07:30:01.123Z');
    // 23:30 at -05:00 is the 4th in UTC; a host in New York counts it into the 3rd.
    const ny = new HostClock(new Date('2026-11-04T12:00:00Z'), 'America/New_York');
    const late = p('2026-11-03T23:30:00-05:00 mta1 postfix/smtp[1]: ABCDE12345: to=<u@gmail.com>, relay=x, status=sent (ok)', ny);
    expect(late.kind === 'delivery' && late.header.day).toBe('20261103');
    expect(late.kind === 'delivery' && new Date(late.header.ms).toISOString()).toBe('2026-11-04T04:30:00.000Z');
    const utc = p('2026-11-03T23:30:00-05:00 mta1 postfix/smtp[1]: ABCDE12345: to=<u@gmail.com>, relay=x, status=sent (ok)');
    expect(utc.kind === 'delivery' && utc.header.day).toBe('20261104');
    const z = p('2026-11-03T07:30:01Z mta1 postfix/smtp[1]: ABCDE12345: to=<u@gmail.com>, relay=x, status=sent (ok)');
    expect(z.kind).toBe('delivery');
  });

  it('traditional stamps are the host\'s wall clock', () => {
    const ny = new HostClock(new Date('2026-11-04T12:00:00Z'), 'America/New_York');
    const r = p('Nov  3 23:30:00 mta1 postfix/smtp[1]: ABCDE12345: to=<u@gmail.com>, relay=x, status=sent (ok)', ny);
    expect(r.kind === 'delivery' && r.header.day).toBe('20261103');
    expect(r.kind === 'delivery' && new Date(r.header.ms).toISOString()).toBe('2026-11-04T04:30:00.000Z');
    // Summer time: -04:00
    const s = p('Jul  1 12:00:00 mta1 postfix/smtp[1]: ABCDE12345: to=<u@gmail.com>, relay=x, status=sent (ok)', ny);
    expect(s.kind === 'delivery' && new Date(s.header.ms).toISOString()).toBe('2026-07-01T16:00:00.000Z');
    // Day without padding.
    expect(p('Nov 3 07:30:02 mta1 postfix/smtp[1]: ABCDE12345: to=<u@gmail.com>, relay=x, status=sent (ok)').kind).toBe('delivery');
  });

  it('every delivery agent and service prefixes', () => {
    for (const agent of ['smtp', 'lmtp', 'local', 'virtual', 'pipe', 'error', 'discard']) {
      for (const prog of [`postfix/${agent}`, `postfix-out/${agent}`, `postfix/relay/${agent}`]) {
        const r = p(`Nov  3 07:30:02 mta1 ${prog}[7]: 3F2A81234: to=<a@b.example>, relay=none, delay=1, status=sent (delivered)`);
        expect(r, prog).toMatchObject({ kind: 'delivery', agent, domain: 'b.example' });
      }
    }
    // smtpd is not a delivery agent, even under an instance prefix.
    expect(p('Nov  3 07:30:02 mta1 postfix/submission/smtpd[7]: 3F2A81234: client=x[1.2.3.4], sasl_method=PLAIN').kind).toBe('other');
    expect(p('Nov  3 07:30:02 mta1 postfix-out/qmgr[7]: 3F2A81234: from=<a@b>, status=expired, returned to sender').kind).toBe('expired');
  });

  it('short and long queue ids, orig_to', () => {
    expect(p('Nov  3 07:30:02 mta1 postfix/smtp[1]: 4Nz8pW1bG7z9sQk: to=<a@b.example>, relay=x, status=deferred (x)')).toMatchObject({ qid: '4Nz8pW1bG7z9sQk', status: 'deferred' });
    expect(p('Nov  3 07:30:02 mta1 postfix/smtp[1]: 3F2A8: to=<a@b.example>, orig_to=<alias@c.example>, relay=x, status=sent (x)')).toMatchObject({ qid: '3F2A8', domain: 'b.example' });
  });

  it('non-UTF-8 bytes and UTF-8 addresses', () => {
    const bytes = Buffer.concat([Buffer.from('Nov  3 07:30:02 mta1 postfix/smtp[1]: 3F2A81234: to=<'), Buffer.from('jörg@bücher.example', 'utf8'), Buffer.from('>, relay=x, status=sent (250 \xff\xfe junk)', 'latin1')]);
    const r = p(bytes.toString('latin1'));
    expect(r).toMatchObject({ kind: 'delivery', domain: 'bücher.example', rcpt: 'jörg@bücher.example' });
  });

  it('very long lines', () => {
    const long = 'Nov  3 07:30:02 mta1 postfix/smtp[1]: 3F2A81234: to=<a@b.example>, relay=x, status=bounced (' + 'x'.repeat(500_000) + ')';
    expect(p(long)).toMatchObject({ kind: 'delivery', status: 'bounced' });
  });

  it('what it does not understand is "unparsed" or "other", never a throw', () => {
    for (const l of ['', 'garbage', 'Foo  3 07:30:02 mta1 x: y', 'Nov 33 07:30:02 mta1 x: y', 'Nov  3 25:30:02 mta1 x: y', '2026-13-03T07:30:01Z mta1 x: y', 'Nov  3 07:30:02', '\x00\xff\xfe']) {
      expect(p(l).kind).toBe('unparsed');
    }
    expect(p('Nov  3 07:30:02 mta1 postfix/smtp[1]: 3F2A81234: to=<a@b.example, relay=x, status=sent').kind).toBe('unparsed');
    expect(p('Nov  3 07:30:02 mta1 postfix/smtp[1]: 3F2A81234: to=<a@b.example>, relay=x, status=deliverable (verify)').kind).toBe('other');
  });
});

describe('year inference', () => {
  it('a December line read in early January belongs to last year', () => {
    const jan = new HostClock(new Date('2027-01-01T00:10:00Z'), 'UTC');
    const h = parseHeader('Dec 31 23:59:59 mta1 postfix/smtp[1]: x', jan)!;
    expect(h.day).toBe('20261231');
    expect(new Date(h.ms).toISOString()).toBe('2026-12-31T23:59:59.000Z');
    const h2 = parseHeader('Jan  1 00:05:00 mta1 postfix/smtp[1]: x', jan)!;
    expect(h2.day).toBe('20270101');
  });

  it('a line up to a day ahead (clock skew) stays in this year; further ahead is last year', () => {
    const c = new HostClock(new Date('2026-06-15T12:00:00Z'), 'UTC');
    expect(parseHeader('Jun 16 11:00:00 mta1 p[1]: x', c)!.day).toBe('20260616');
    expect(parseHeader('Jun 17 13:00:00 mta1 p[1]: x', c)!.day).toBe('20250617');
  });

  it('uses the host zone for "now": just after New Year in Tokyo while UTC is still in December', () => {
    const tokyo = new HostClock(new Date('2026-12-31T16:30:00Z'), 'Asia/Tokyo'); // 01:30 on Jan 1st 2027 in Tokyo
    expect(tokyo.today).toBe('20270101');
    expect(parseHeader('Jan  1 01:00:00 mta1 p[1]: x', tokyo)!.day).toBe('20270101');
    expect(parseHeader('Dec 31 23:00:00 mta1 p[1]: x', tokyo)!.day).toBe('20261231');
  });
});
