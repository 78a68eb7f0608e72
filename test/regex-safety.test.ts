import { describe, expect, it } from 'vitest';
import { boundedRegExp, linearCapable, regexHazard } from '../lib/regex-safety.js';

describe('regexHazard: the load-time check of patterns run on remote text', () => {
  const refused: Array<[string, RegExp]> = [
    ['^(a+)+$', /^nested quantifiers in "\(a\+\)\+"/],
    ['(x+x+)+y', /^nested quantifiers in "\(x\+x\+\)\+"/],
    ['(?:\\d+\\.)+\\d', /^nested quantifiers in "\(\?:\\d\+\\\.\)\+"/],
    ['(.*a){12}', /^nested quantifiers in "\(\.\*a\)\{12\}"/],
    ['(a?)+b', /^nested quantifiers/],
    ['((ab)+c)*', /^nested quantifiers in "\(\(ab\)\+c\)\*"/],
    ['(?<n>a+)+?', /^nested quantifiers in "\(\?<n>a\+\)\+\?"/],
    ['(a|ab)*c', /^a repeated alternation whose branches can match the same text in "\(a\|ab\)\*"/],
    ['(\\s|-)+', /^a repeated alternation/],
    ['(a)\\1.*', /back-reference/],
    ['x(?=y).+', /look-around/],
  ];
  for (const [src, why] of refused) {
    it(`refuses /${src}/`, () => expect(regexHazard(src)).toMatch(why));
  }

  const accepted = [
    'postmaster\\.info\\.aol\\.com\\/errors\\/5',
    '\\.untd\\.com.*550\\sAccess\\sdenied',
    'Error\\sCode:\\sCXBL',
    '(foo|bar)+x',
    '[(]a+[)]+',
    '\\(a+\\)+',
    'a(?=b)',
    '(blk)-\\1',
  ];
  for (const src of accepted) {
    it(`accepts /${src}/`, () => expect(regexHazard(src)).toBeNull());
  }
});

describe('boundedRegExp', () => {
  it('ends on a line that backtracks exponentially (2^40 steps when unbounded)', () => {
    expect(linearCapable('^(a+)+$')).toBe(true);
    const re = boundedRegExp('^(a+)+$');
    expect(re.test('a'.repeat(40) + '!')).toBe(false);
    expect(re.test('a'.repeat(40))).toBe(true);
  });

  it('ends on a polynomial pattern over a long line', () => {
    const re = boundedRegExp('.*.*.*.*=.*.*x');
    expect(re.test('a'.repeat(4000) + '=b')).toBe(false);
    expect(re.test('a'.repeat(10) + '=bx')).toBe(true);
  });
});
