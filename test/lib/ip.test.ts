import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ipv4ToInt, isIP, isIPv4, isIPv6 } from '../../lib/net/ip.js';

/** A fixed-seed generator: the same strings on every run. */
function lcg(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % n;
  };
}

describe('isIP (node:net semantics without its regular expressions)', () => {
  it('accepts and refuses the usual forms', () => {
    for (const s of ['0.0.0.0', '127.0.0.1', '255.255.255.255', '192.0.2.10']) expect(isIP(s)).toBe(4);
    for (const s of ['256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1..2.3', '', ' 1.2.3.4', '1.2.3.4 ']) expect(isIPv4(s)).toBe(false);
    for (const s of ['::', '::1', '2001:db8::1', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '::ffff:192.0.2.1', '1:2:3:4:5:6:1.2.3.4', 'fe80::1%eth0', 'FE80::a:B']) expect(isIP(s)).toBe(6);
    for (const s of [':', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '::1:2:3:4:5:6:7:8', '12345::1', '1:2:3:4:5:6::1.2.3.4', '::1.2.3', 'fe80::1%', 'fe80::1%a b', ':1::2', '1::2:']) expect(isIPv6(s)).toBe(false);
  });

  it('agrees with node:net isIP on 200,000 generated strings', () => {
    const r = lcg(12345);
    const atoms = ['0', '1', '9', 'a', 'f', 'F', 'g', ':', '::', '.', '%', '1.2.3.4', '255', '256', '01', 'ffff', '12345', '-', 'Z', ':::', '00', '2001', 'db8'];
    const hex = '0123456789abcdefABCDEFg';
    let valid = 0;
    const wrong: string[] = [];
    const check = (s: string) => {
      const want = net.isIP(s);
      if (want) valid++;
      if (isIP(s) !== want && wrong.length < 10) wrong.push(`${JSON.stringify(s)}: ${isIP(s)}, node:net ${want}`);
    };
    for (let k = 0; k < 100_000; k++) {
      let s = '';
      const len = 1 + r(14);
      for (let i = 0; i < len; i++) s += atoms[r(atoms.length)];
      check(s);
    }
    for (let k = 0; k < 100_000; k++) {
      const parts: string[] = [];
      for (let i = r(10); i > 0; i--) {
        let h = '';
        for (let j = r(6); j > 0; j--) h += hex[r(hex.length)];
        parts.push(h);
      }
      if (r(3) === 0) parts.push(`${r(300)}.${r(300)}.${r(260)}.${r(3) ? r(256) : '0' + r(9)}`);
      let s = parts.join(':');
      if (r(2)) {
        const p = r(s.length + 1);
        s = s.slice(0, p) + (r(4) ? '::' : ':') + s.slice(p);
      }
      if (r(8) === 0) s += '%' + ['eth0', '', 'a.b-c:d', 'x y', '1'][r(5)];
      check(s);
    }
    expect(wrong).toEqual([]);
    // The generator reaches valid addresses, not only garbage.
    expect(valid).toBeGreaterThan(5_000);
  });

  it('ipv4ToInt', () => {
    expect(ipv4ToInt('127.0.0.2')).toBe(0x7f000002);
    expect(ipv4ToInt('255.255.255.255')).toBe(0xffffffff);
  });
});
