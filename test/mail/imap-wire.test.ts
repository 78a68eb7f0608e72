/**
 * The IMAP client's pure parts: answers framed with their literals however the bytes are cut,
 * tokenizing, quoting, modified UTF-7 names, sequence sets, and a FETCH answer read as a message.
 */
import { describe, expect, it } from 'vitest';
import { headerAnswer } from '../../lib/mail/imap.js';
import { AnswerReader, astring, decodeMailbox, encodeMailbox, responseCode, searchDate, tokenize, uidSet } from '../../lib/mail/imap-wire.js';

const wire =
  '* 3 FETCH (UID 17 INTERNALDATE "29-Nov-2026 19:18:51 +0000" RFC822.SIZE 930 BODY[HEADER] {24}\r\nSubject: a {5}\r\nX: y\r\n\r\n)\r\n' +
  '* 4 FETCH (FLAGS (\\Seen))\r\n' +
  'M7 OK [READ-WRITE] Fetch completed.\r\n';

describe('IMAP wire', () => {
  it('frames answers with their literals, the same whichever way the bytes are cut', () => {
    const whole = new AnswerReader().push(Buffer.from(wire, 'latin1'));
    expect(whole.map((a) => a.text)).toEqual([
      '* 3 FETCH (UID 17 INTERNALDATE "29-Nov-2026 19:18:51 +0000" RFC822.SIZE 930 BODY[HEADER] {24})',
      '* 4 FETCH (FLAGS (\\Seen))',
      'M7 OK [READ-WRITE] Fetch completed.',
    ]);
    expect(whole[0]!.literals.map((l) => l.toString())).toEqual(['Subject: a {5}\r\nX: y\r\n\r\n']);
    const bytes = Buffer.from(wire, 'latin1');
    for (const cut of [1, 2, 7, 13, 64]) {
      const r = new AnswerReader();
      const got = [];
      for (let i = 0; i < bytes.length; i += cut) got.push(...r.push(bytes.subarray(i, i + cut)));
      expect(got).toEqual(whole);
    }
  });

  it('tokenizes atoms, bracket sections, quoted strings with escapes, literals, NIL and lists', () => {
    const [a] = new AnswerReader().push(Buffer.from('* LIST (\\HasNoChildren \\Junk) "/" "Sp\\"am" NIL BODY[HEADER.FIELDS (SUBJECT FROM)] {3}\r\nabc\r\n'));
    expect(tokenize(a!)).toEqual(['*', 'LIST', ['\\HasNoChildren', '\\Junk'], '/', 'Sp"am', null, 'BODY[HEADER.FIELDS (SUBJECT FROM)]', Buffer.from('abc')]);
    expect(responseCode('[UIDVALIDITY 42] UIDs valid')).toEqual({ code: 'UIDVALIDITY', args: '42' });
    expect(responseCode('[READ-WRITE] Select completed.')).toEqual({ code: 'READ-WRITE', args: '' });
    expect(responseCode('Logged in')).toBeUndefined();
  });

  it('reads a FETCH answer as a scanned message; a flag change is none', () => {
    const [fetch, flags] = new AnswerReader().push(Buffer.from(wire, 'latin1'));
    expect(headerAnswer(fetch!, 'INBOX')).toEqual({
      folder: 'INBOX',
      uid: 17,
      headers: 'Subject: a {5}\r\nX: y\r\n\r\n',
      internalDate: new Date('2026-11-29T19:18:51Z'),
      size: 930,
    });
    expect(headerAnswer(flags!, 'INBOX')).toBeUndefined();
  });

  it('quotes printable ASCII, sends anything else as a literal', () => {
    expect(astring('probes@mon.test')).toBe('"probes@mon.test"');
    expect(astring('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(astring('pässword')).toEqual({ literal: Buffer.from('pässword', 'utf8') });
    expect(astring('line\r\nbreak')).toEqual({ literal: Buffer.from('line\r\nbreak') });
  });

  it('modified UTF-7 mailbox names both ways (RFC 3501 5.1.3)', () => {
    for (const [plain, wireName] of [
      ['INBOX', 'INBOX'],
      ['Unerwünscht', 'Unerw&APw-nscht'],
      ['R&D', 'R&-D'],
      ['日本語', '&ZeVnLIqe-'],
      ['[Gmail]/Spam', '[Gmail]/Spam'],
    ] as const) {
      expect(encodeMailbox(plain)).toBe(wireName);
      expect(decodeMailbox(wireName)).toBe(plain);
    }
  });

  it('sequence sets and search dates', () => {
    expect(uidSet([7, 1, 2, 3, 3, 9, 10])).toBe('1:3,7,9:10');
    expect(uidSet([42])).toBe('42');
    expect(uidSet([])).toBe('');
    expect(searchDate(new Date('2026-01-05T23:59:00Z'))).toBe('5-Jan-2026');
  });
});
