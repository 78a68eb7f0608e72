import { describe, expect, it } from 'vitest';
import {
  newestRowPerIp,
  parseSndsData,
  parseSndsIpStatus,
  parseSndsTime,
  rangesFor,
  SndsFormatError,
} from '../../lib/checks/snds-parse.js';

// The example row of sources.md, as SNDS sends it (CRLF, no header).
const example = '1.1.1.0,12/31/2019 8:00 AM,9/29/2020 9:00 PM,14129,14129,13025,GREEN,< 0.1%,9/29/2020 8:07 AM,9/29/2020 12:03 PM,41,,,';

describe('parseSndsData', () => {
  it('reads the 14 columns of a row', () => {
    const { rows, problems } = parseSndsData(example + '\r\n');
    expect(problems).toEqual([]);
    expect(rows).toEqual([
      {
        ip: '1.1.1.0',
        line: 1,
        periodStart: '12/31/2019 8:00 AM',
        periodEnd: '9/29/2020 9:00 PM',
        rcptCommands: 14129,
        dataCommands: 14129,
        recipients: 13025,
        color: 'green',
        complaintRate: '< 0.1%',
        trapPeriodStart: '9/29/2020 8:07 AM',
        trapPeriodEnd: '9/29/2020 12:03 PM',
        traps: 41,
      },
    ]);
  });

  it('reads several rows, samples, comments, and quoted fields with commas', () => {
    const body = [
      '192.0.2.10,9/28/2020 12:00 AM,9/28/2020 11:59 PM,10,9,8,RED,> 90%,,,,mx1.example.com,bounce@example.com,',
      '192.0.2.11,9/28/2020 12:00 AM,9/28/2020 11:59 PM,5,5,5,yellow,1.2%,,,,"helo, with comma","a ""quoted"" from",note',
    ].join('\r\n');
    const { rows, problems } = parseSndsData(body);
    expect(problems).toEqual([]);
    expect(rows.map((r) => [r.ip, r.color, r.traps, r.heloSample, r.mailFromSample, r.comments])).toEqual([
      ['192.0.2.10', 'red', 0, 'mx1.example.com', 'bounce@example.com', undefined],
      ['192.0.2.11', 'yellow', 0, 'helo, with comma', 'a "quoted" from', 'note'],
    ]);
  });

  it('parses an empty body to no rows (the check decides what that means)', () => {
    expect(parseSndsData('')).toEqual({ rows: [], problems: [] });
    expect(parseSndsData('\r\n')).toEqual({ rows: [], problems: [] });
  });

  it('rejects an HTML page with a clear error naming its title', () => {
    const html = '<!DOCTYPE html><html><head><title>Sign in to your account</title></head><body>login</body></html>';
    expect(() => parseSndsData(html)).toThrow(SndsFormatError);
    expect(() => parseSndsData(html)).toThrow(/HTML page instead of CSV \("Sign in to your account"\)/);
  });

  it('reports malformed rows with line, reason and IP when readable, and keeps the good rows', () => {
    const body = [
      example,
      '192.0.2.20,9/28/2020 12:00 AM,9/28/2020 11:59 PM,10,9,8,BLUE,< 0.1%,,,,,,',
      '192.0.2.21,9/28/2020 12:00 AM,9/28/2020 11:59 PM,10,9,8,GREEN',
      'garbage line',
      '192.0.2.22,yesterday,9/28/2020 11:59 PM,10,9,8,GREEN,< 0.1%,,,,,,',
      '192.0.2.23,9/28/2020 12:00 AM,9/28/2020 11:59 PM,ten,9,8,GREEN,< 0.1%,,,,,,',
    ].join('\r\n');
    const { rows, problems } = parseSndsData(body);
    expect(rows.map((r) => r.ip)).toEqual(['1.1.1.0']);
    expect(problems).toEqual([
      { line: 2, ip: '192.0.2.20', reason: 'filter result "BLUE" is not GREEN, YELLOW or RED' },
      { line: 3, ip: '192.0.2.21', reason: 'expected 14 columns, found 7' },
      { line: 4, reason: 'expected 14 columns, found 1' },
      { line: 5, ip: '192.0.2.22', reason: 'activity start "yesterday" is not a date' },
      { line: 6, ip: '192.0.2.23', reason: 'RCPT commands "ten" is not a whole number' },
    ]);
  });

  it('refuses an IPv6 or missing address in column 1', () => {
    const { problems } = parseSndsData('2001:db8::1,9/28/2020 12:00 AM,9/28/2020 11:59 PM,1,1,1,GREEN,< 0.1%,,,,,,');
    expect(problems[0]?.reason).toBe('column 1 "2001:db8::1" is not an IPv4 address');
    expect(problems[0]?.ip).toBeUndefined();
  });
});

describe('newestRowPerIp', () => {
  it('keeps the newest activity period of an IP and sums nothing', () => {
    const body = [
      '192.0.2.10,9/27/2020 12:00 AM,9/27/2020 11:59 PM,100,100,100,RED,> 90%,,,,,,',
      '192.0.2.10,9/28/2020 12:00 AM,9/28/2020 11:59 PM,7,7,7,GREEN,< 0.1%,,,,,,',
      '192.0.2.10,9/26/2020 12:00 AM,9/26/2020 11:59 PM,50,50,50,YELLOW,5%,,,,,,',
      '192.0.2.11,9/28/2020 8:00 AM,9/28/2020 11:00 AM,1,1,1,GREEN,< 0.1%,,,,,,',
      '192.0.2.11,9/28/2020 9:00 AM,9/28/2020 11:00 AM,2,2,2,YELLOW,< 0.1%,,,,,,',
    ].join('\r\n');
    const best = newestRowPerIp(parseSndsData(body).rows);
    expect(best.get('192.0.2.10')).toMatchObject({ color: 'green', rcptCommands: 7, line: 2 });
    // Same end: the later start wins.
    expect(best.get('192.0.2.11')).toMatchObject({ color: 'yellow', rcptCommands: 2 });
  });
});

describe('parseSndsTime', () => {
  it('reads 12-hour times and refuses impossible dates', () => {
    expect(parseSndsTime('12/31/2019 8:00 AM')).toBe(Date.UTC(2019, 11, 31, 8, 0));
    expect(parseSndsTime('1/1/2020 12:00 AM')).toBe(Date.UTC(2020, 0, 1, 0, 0));
    expect(parseSndsTime('1/1/2020 12:30 PM')).toBe(Date.UTC(2020, 0, 1, 12, 30));
    expect(parseSndsTime('9/29/2020 9:00 PM')).toBe(Date.UTC(2020, 8, 29, 21, 0));
    expect(parseSndsTime('2/30/2020 9:00 PM')).toBeNull();
    expect(parseSndsTime('13:00')).toBeNull();
  });
});

describe('CSV records', () => {
  it('reads a quoted field holding a line break (CRLF or LF) as one field, and keeps line numbers right', () => {
    const body = [
      '192.0.2.10,9/28/2020 12:00 AM,9/28/2020 11:59 PM,10,9,8,GREEN,< 0.1%,,,,mx1.example.com,a@example.com,"first line\r\nsecond line"',
      '',
      '192.0.2.11,9/28/2020 12:00 AM,9/28/2020 11:59 PM,5,5,5,RED,> 90%,,,,"helo\nwith LF","x@example.com",',
      '   ',
      '192.0.2.12,9/28/2020 12:00 AM,9/28/2020 11:59 PM,1,1,1,GREEN,BAD,,,,,,,extra',
      '192.0.2.13,9/28/2020 12:00 AM,9/28/2020 11:59 PM,1,1,1,GREEN,< 0.1%,,,,,,',
    ].join('\r\n');
    const { rows, problems } = parseSndsData('\uFEFF' + body + '\r\n');
    expect(rows.map((r) => [r.line, r.ip, r.heloSample, r.comments])).toEqual([
      [1, '192.0.2.10', 'mx1.example.com', 'first line\r\nsecond line'],
      [4, '192.0.2.11', 'helo\nwith LF', undefined],
      [8, '192.0.2.13', undefined, undefined],
    ]);
    expect(problems).toEqual([{ line: 7, ip: '192.0.2.12', reason: 'expected 14 columns, found 15' }]);
  });

  it('splits plain and quoted fields; quotes inside a plain field are text', () => {
    const { ranges, problems } = parseSndsIpStatus('192.0.2.1,192.0.2.9,Yes,"x,y ""z"""\r\n192.0.2.20,192.0.2.29,No,say "hi"\r\n192.0.2.30,192.0.2.31,No,\r\n');
    expect(problems).toEqual([]);
    expect(ranges.map((r) => r.reason)).toEqual(['x,y "z"', 'say "hi"', '']);
  });

  it('an unterminated quote keeps the rows before it and reports the rest from the line it starts on', () => {
    const { rows, problems } = parseSndsData(`${example}\r\n${example}\r\n192.0.2.5,"open\r\n${example}\r\n`);
    expect(rows.map((r) => r.line)).toEqual([1, 2]);
    expect(problems).toEqual([{ line: 3, reason: 'unterminated quoted field: the export is not readable from here to its end' }]);
    expect(parseSndsIpStatus('"open').problems).toEqual([{ line: 1, reason: 'unterminated quoted field: the export is not readable from here to its end' }]);
  });
});

describe('parseSndsIpStatus', () => {
  it('reads blocked ranges and matches them to IPs', () => {
    const body = '192.0.2.0,192.0.2.127,Yes,Blocked due to user complaints or other evidence of spamming\r\n198.51.100.7,198.51.100.7,Yes,Junked\r\n';
    const { ranges, problems } = parseSndsIpStatus(body);
    expect(problems).toEqual([]);
    expect(ranges.map((r) => [r.first, r.last, r.blocked])).toEqual([
      ['192.0.2.0', '192.0.2.127', true],
      ['198.51.100.7', '198.51.100.7', true],
    ]);
    expect(rangesFor('192.0.2.5', ranges).map((r) => r.reason)).toEqual(['Blocked due to user complaints or other evidence of spamming']);
    expect(rangesFor('192.0.2.127', ranges)).toHaveLength(1);
    expect(rangesFor('192.0.2.128', ranges)).toEqual([]);
    expect(rangesFor('198.51.100.7', ranges)).toHaveLength(1);
  });

  it('empty means no blocked range; bad rows and HTML are reported', () => {
    expect(parseSndsIpStatus('')).toEqual({ ranges: [], problems: [] });
    expect(parseSndsIpStatus('192.0.2.9,192.0.2.1,Yes,x').problems[0]?.reason).toMatch(/ends before it starts/);
    expect(parseSndsIpStatus('192.0.2.1,192.0.2.9,Maybe,x').problems[0]?.reason).toMatch(/not Yes or No/);
    expect(parseSndsIpStatus('192.0.2.1,192.0.2.9').problems[0]?.reason).toBe('expected 4 columns, found 2');
    expect(() => parseSndsIpStatus('<html><body>error</body></html>')).toThrow(SndsFormatError);
  });
});
