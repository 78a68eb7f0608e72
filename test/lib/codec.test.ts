/** The store's JSON encoder: JSON.stringify's text, with deeply frozen values written once. */
import { describe, expect, it } from 'vitest';
import { encode } from '../../lib/store/codec.js';
import { ipRecord, zoneResult } from '../helpers/ip-record.js';

const at = '2025-03-04T05:06:07.000Z';

describe('encode', () => {
  it('gives JSON.stringify\'s text for records, shared frozen zone results among them', () => {
    const clean = Object.freeze({ ...zoneResult('bl.example.test', 'not_listed', at), codes: Object.freeze([]), labels: Object.freeze([]) });
    const records = [
      ipRecord('192.0.2.1', at, { dnsbl: [clean as never, zoneResult('zen.spamhaus.org', 'listed', at, { txt: 'see "https://x/?ip=192.0.2.1"\n' })] }),
      ipRecord('192.0.2.2', at, { dnsbl: [clean as never, clean as never] }),
      ipRecord('2001:db8::1', at, { dnsMatch: { status: 'error', at, reason: 'timeout \u2028 \ud800 é' } }),
    ];
    for (const r of records) expect(encode(r)).toBe(JSON.stringify(r));
    // Twice: the second time from the texts kept for the frozen results.
    for (const r of records) expect(encode(r)).toBe(JSON.stringify(r));
  });

  it('follows JSON.stringify on what plain data can hold', () => {
    const values: unknown[] = [
      null,
      undefined,
      0,
      -0,
      NaN,
      Infinity,
      1.5e300,
      true,
      'a "quoted"\\ \u0000 line\n',
      [],
      {},
      [undefined, () => 1, Symbol('s'), null, 1],
      { a: undefined, b: () => 1, c: Symbol('s'), d: 1 },
      { b: 1, 2: 'two', a: { z: [1, { y: null }] }, 1: 'one' },
      Object.assign(Object.create(null) as object, { x: 1 }),
      { when: new Date(Date.UTC(2025, 0, 2)), boxed: [new Number(3), new String('s'), new Boolean(false)], map: new Map([[1, 2]]) },
      { viaToJSON: { toJSON: (key: string) => `key was ${key}` } },
      [{ toJSON: (key: string) => `index ${key}` }],
      Object.freeze({ date: new Date(0) }),
      Object.freeze([Object.freeze({ a: [1, 2] })]),
    ];
    for (const v of values) expect(encode(v)).toBe(JSON.stringify(v) ?? 'null');
  });

  it('never reuses the text of a frozen value whose inside can still change', () => {
    const inner = { n: 1 };
    const shallow = Object.freeze({ inner });
    expect(encode({ v: shallow })).toBe('{"v":{"inner":{"n":1}}}');
    inner.n = 2;
    expect(encode({ v: shallow })).toBe('{"v":{"inner":{"n":2}}}');

    let n = 1;
    const getter = Object.freeze({
      get n() {
        return n;
      },
    });
    expect(encode([getter])).toBe('[{"n":1}]');
    n = 2;
    expect(encode([getter])).toBe('[{"n":2}]');

    const date = Object.freeze(new Date(0));
    const holder = Object.freeze({ date });
    expect(encode(holder)).toBe(JSON.stringify(holder));
    date.setTime(86_400_000); // a frozen Date still changes
    expect(encode(holder)).toBe('{"date":"1970-01-02T00:00:00.000Z"}');
  });

  it('throws where JSON.stringify throws', () => {
    expect(() => encode({ n: 1n })).toThrow(TypeError);
  });
});
