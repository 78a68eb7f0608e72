/** The SMTP client's pure parts: reading replies, EHLO keywords, the DATA text. */
import { describe, expect, it } from 'vitest';
import { dataBody, ehloExtensions, hasEightBit, ReplyReader } from '../../lib/mail/smtp-wire.js';

describe('ReplyReader', () => {
  it('joins multi-line replies and completes replies split across chunks', () => {
    const r = new ReplyReader();
    expect(r.push('220 mx.test ESMTP\r\n250-mx.test\r\n250-PIPE')).toEqual([{ code: 220, text: '220 mx.test ESMTP' }]);
    expect(r.push('LINING\r\n250 8BITMIME\r')).toEqual([]);
    expect(r.push('\n354 go ahead\r\n')).toEqual([
      { code: 250, text: '250-mx.test\n250-PIPELINING\n250 8BITMIME' },
      { code: 354, text: '354 go ahead' },
    ]);
  });

  it('takes bare LF line ends and a code without text', () => {
    expect(new ReplyReader().push('250\n550 5.1.1 no\n')).toEqual([
      { code: 250, text: '250' },
      { code: 550, text: '550 5.1.1 no' },
    ]);
  });

  it('throws on a line that is not a reply and on an endless line', () => {
    expect(() => new ReplyReader().push('HTTP/1.1 400 Bad Request\r\n')).toThrow(/not an SMTP reply line: "HTTP\/1.1 400 Bad Request"/);
    expect(() => new ReplyReader().push('2500 x\r\n')).toThrow(/not an SMTP reply/);
    expect(() => new ReplyReader().push('250 ' + 'x'.repeat(70_000))).toThrow(/without ending the line/);
  });
});

describe('ehloExtensions', () => {
  it('keywords in upper case with their parameters; the first line is the greeting name', () => {
    const ext = ehloExtensions({ code: 250, text: '250-mx.test Hello\n250-pipelining\n250-AUTH PLAIN LOGIN\n250-AUTH=LOGIN\n250-SIZE 10240000\n250 STARTTLS' });
    expect([...ext.keys()]).toEqual(['PIPELINING', 'AUTH', 'SIZE', 'STARTTLS']);
    expect(ext.get('AUTH')).toBe('PLAIN LOGIN LOGIN');
    expect(ext.get('SIZE')).toBe('10240000');
    expect(ext.has('MX.TEST')).toBe(false);
  });
});

describe('dataBody', () => {
  it('doubles a leading dot on every line (the first too) and ends with CRLF.CRLF', () => {
    expect(dataBody('.hidden\r\nline\r\n..two\r\n.')).toBe('..hidden\r\nline\r\n...two\r\n..\r\n.\r\n');
  });
  it('makes bare LF line ends CRLF and keeps an existing final CRLF', () => {
    expect(dataBody('a\nb\r\nc\n')).toBe('a\r\nb\r\nc\r\n.\r\n');
    expect(dataBody('Subject: x\r\n\r\nbody')).toBe('Subject: x\r\n\r\nbody\r\n.\r\n');
  });
  it('passes the bytes of a Buffer unchanged (latin-1 text)', () => {
    const raw = Buffer.from('Subject: Grüße\r\n\r\n.ä\r\n', 'utf8');
    const out = dataBody(raw);
    expect(Buffer.from(out, 'latin1').toString('utf8')).toBe('Subject: Grüße\r\n\r\n..ä\r\n.\r\n');
    expect(hasEightBit(out)).toBe(true);
    expect(hasEightBit('plain ascii')).toBe(false);
  });
});
