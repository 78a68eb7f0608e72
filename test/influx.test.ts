import { describe, expect, it } from 'vitest';
import { escapeKey, escapeMeasurement, formatLine, nanos, quoteString } from '../lib/influx.js';

describe('influx line protocol', () => {
  it('escapes as the protocol reference does', () => {
    // The reference's own examples: measurement, tag keys/values, field keys, string fields.
    expect(escapeMeasurement('my Measurement')).toBe('my\\ Measurement');
    expect(escapeMeasurement('a,b=c')).toBe('a\\,b=c');
    expect(escapeKey('tag Key1')).toBe('tag\\ Key1');
    expect(escapeKey('tag,Value=1')).toBe('tag\\,Value\\=1');
    expect(quoteString('string field "quoted"')).toBe('"string field \\"quoted\\""');
    expect(quoteString('C:\\path')).toBe('"C:\\\\path"');
  });

  it('a backslash at the end of a tag value cannot escape the separator after it', () => {
    const line = formatLine({ measurement: 'm', tags: { t: 'ends\\' }, fields: { f: 1 } });
    expect(line).toBe('m,t=ends\\\\ f=1');
  });

  it('line breaks never split a line; empty and undefined tags are left out; tags sorted', () => {
    const line = formatLine({
      measurement: 'm\nx',
      tags: { z: 'a\nb', a: '', b: undefined, c: 'v' },
      fields: { s: 'two\r\nlines', i: { int: 3 }, b: true, f: 1.5, gone: undefined, nan: NaN },
    });
    expect(line).not.toMatch(/[\r\n]/);
    expect(line).toBe('m\\ x,c=v,z=a\\ b s="two lines",i=3i,b=true,f=1.5');
  });

  it('a point without any field value is refused; timestamps are nanoseconds', () => {
    expect(() => formatLine({ measurement: 'm', fields: { x: NaN } })).toThrow(/no field/);
    expect(() => formatLine({ measurement: '', fields: { x: 1 } })).toThrow(/empty measurement/);
    expect(nanos(new Date(1_700_000_000_123))).toBe('1700000000123000000');
    expect(formatLine({ measurement: 'm', fields: { x: 1 }, timestamp: nanos(new Date(1000)) })).toBe('m x=1 1000000000');
  });
});
