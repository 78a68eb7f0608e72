/**
 * The fast reader of plain config YAML (lib/config/yaml-subset.ts) against the `yaml` package it
 * stands in for: wherever it answers, its value is yaml's (parseDocument with uniqueKeys, toJS) and
 * yaml finds no error; everything else it leaves to yaml. Checked on the example config, on hand-made
 * edge cases and on generated documents mixing every form it reads with ones it must leave alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseYamlSubset } from '../lib/config/yaml-subset.js';

function viaYaml(text: string): { errors: number; value: unknown } {
  const doc = parseDocument(text, { uniqueKeys: true });
  return { errors: doc.errors.length, value: doc.errors.length ? undefined : doc.toJS({ maxAliasCount: 100 }) };
}

/** The reader answers as yaml does, or not at all. Returns whether it answered. */
function agrees(text: string): boolean {
  const fast = parseYamlSubset(text);
  if (fast === undefined) return false;
  const y = viaYaml(text);
  expect({ text, errors: y.errors }).toEqual({ text, errors: 0 });
  expect({ text, value: fast }).toEqual({ text, value: y.value });
  return true;
}

describe('the fast YAML subset reader', () => {
  it('reads the example config and typical configs exactly as yaml does', () => {
    const example = fs.readFileSync(path.join(__dirname, '../mtarep.example.yml'), 'utf8');
    expect(agrees(example)).toBe(true);
    const hosts = Array.from({ length: 50 }, (_, i) => `  mta${i}: mta${i}.example.com`).join('\n');
    const typical = `http_auth_file: ./htpasswd
rbls: [zen.spamhaus.org, bl.spamcop.net, b.barracudacentral.org]
provider_block_strings: { gmail: 'gsmtp.*550', hotmail: 'S3150' }
mta_map:
${hosts}
`;
    expect(agrees(typical)).toBe(true);
    const commented = `# mtarep.yml
redis_url: redis://127.0.0.1:6379/0   # the shared Redis
listen: 127.0.0.1:8080
dns:
  servers: ["127.0.0.1:5353", '::1']
  timeout_ms: 1500
  tries: 2

severity:
    critical_zones:
      - spamhaus
      - spamcop   # both
mta_map:
  mx1:
    fqdn: mx1.example.com
    ips: [192.0.2.7, 2001:db8::7]
    ssh: false
  mx2: mx2.example.com
`;
    expect(agrees(commented)).toBe(true);
  });

  it('types plain scalars as the core schema does, and leaves the doubtful ones to yaml', () => {
    const values = [
      'x', 'null', 'Null', 'NULL', '~', 'nULL', 'true', 'True', 'TRUE', 'tRue', 'false', 'yes', 'no', 'on', 'off', 'y',
      '0', '7', '-7', '007', '+7', '-0', '123456789012345', '1234567890123456789', '0o17', '0x1F', '0b101', '1_000',
      '1.5', '.5', '5.', '-1.5e3', '1e3', '.inf', '-.Inf', '.nan', '.NaN', '1.2.3', '127.0.0.1', '192.0.2.7:8080',
      '2001:db8::7', '[::1]:53', 'a:b', 'a: b', 'a:', 'http://x.example/y?z=1#frag', 'a #b', 'a#b', "it's", 'say "hi"',
      'a, b', 'a]', 'a}', '{a}', '[a]', '-a', '- a', '?a', ':a', '@a', '`a', '%a', '!a', '&a', '*a', '|', '>', "'a'",
      '"a"', "'it''s'", '"a\\tb"', "'a' # c", '"a" # c', "'a' b", 'a  b', 'a # c', '2026-11-29', '12:30', '.foo', '+foo',
      '__proto__', 'a\\b', "''", '""', "'", '"',
    ];
    let answered = 0;
    for (const v of values) {
      if (agrees(`key: ${v}\n`)) answered++;
      agrees(`list:\n  - ${v}\n`);
      agrees(`flow: [${v}]\n`);
      agrees(`map: { k: ${v} }\n`);
      agrees(`${v}: 1\n`);
    }
    expect(answered).toBeGreaterThan(20);
  });

  it('leaves structure it does not know to yaml', () => {
    const texts = [
      'a: 1\na: 2\n', // duplicate key: yaml's error
      'a: { b: 1, b: 2 }\n',
      'a:\n- 1\n- 2\n', // a list at its key's indentation
      'a:\n  - b: 1\n    c: [2]\n  -   d: 3\n      e:\n        f: x\n  - g\n', // mappings in a list
      'a:\n  - b: 1\n   c: 2\n', // a key between the dash's column and the mapping's
      'a:\n  - b: 1\n      c: 2\n',
      '- a: 1\n  b: 2\n',
      'a:\n  - b:\n    c: 1\n',
      'a:\n  - b:\n      - c\n',
      'a:\n  - - 1\n',
      'a: 1\n  b: 2\n', // continuation
      'a:\n    b: 1\n  c: 2\n', // dedent to a level that was never opened
      'a: |\n  text\n',
      'a: >\n  text\n',
      'a: &x 1\nb: *x\n',
      'a: !!str 1\n',
      '---\na: 1\n',
      '%YAML 1.1\n---\na: yes\n',
      '? a\n: 1\n',
      'a:\tb\n',
      'a: 1\r\nb: 2\r\n',
      '\ufeffa: 1\n',
      'a: caf\u00e9\n',
      '  a: 1\n',
      '- 1\n- 2\n',
      '',
      '# only a comment\n',
      'a: [1, [2]]\n',
      'a: [1, 2,]\n',
      'a: {b: {c: 1}}\n',
      'a: "multi\n  line"\n',
      'a: plain\n  continued\n',
      'a: [1,\n  2]\n',
      '__proto__: 1\n',
      'a: {__proto__: 1}\n',
    ];
    for (const t of texts) agrees(t);
  });

  it('agrees with yaml on generated documents', () => {
    // A fixed-seed generator (xorshift): the same documents on every run.
    let seed = 0x2545f491;
    const rnd = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const pick = <T>(xs: readonly T[]) => xs[rnd(xs.length)]!;
    const scalars = ['a', 'b.example.com', '127.0.0.2', '2001:db8::1', '5', '-3', '0', '007', '1e3', 'null', '~', 'true', 'False', 'yes', "'q'", "'it''s'", '"dq"', '"a\\nb"', 'x # c', 'a:b', 'a: b', "it's", '[x]', '{x}', '&a', '.5', 'a b  c', '#', ''];
    const keys = ['a', 'b', 'mx1', 'mx1.example.com', 'snake_key', 'dash-key', 'null', 'true', '1', '_', 'a', '127.0.0.2', '127.0.0.0/24', '1e3', '0x1f', '2001:db8::1', '.5', 'a/b'];
    const doc = (depth: number, indent: string): string => {
      const n = 1 + rnd(4);
      let out = '';
      for (let i = 0; i < n; i++) {
        const key = pick(keys);
        const kind = rnd(depth > 2 ? 4 : 7);
        if (kind === 0 || kind === 1) out += `${indent}${key}: ${pick(scalars)}${rnd(5) === 0 ? ' # note' : ''}\n`;
        else if (kind === 2) out += `${indent}${key}: [${Array.from({ length: rnd(4) }, () => pick(scalars)).join(', ')}]\n`;
        else if (kind === 3) out += `${indent}${key}: { ${Array.from({ length: rnd(3) }, () => `${pick(keys)}: ${pick(scalars)}`).join(', ')} }\n`;
        else if (kind === 4) out += `${indent}${key}:\n${Array.from({ length: 1 + rnd(3) }, () => `${indent}  - ${pick(scalars)}\n`).join('')}`;
        else if (kind === 5) out += `${indent}${key}:\n${doc(depth + 1, indent + pick(['  ', '    ']))}`;
        else if (kind === 6 && rnd(2) === 0) {
          const inner = indent + pick(['  ', '    ']);
          out += `${indent}${key}:\n`;
          for (let k = 1 + rnd(3); k > 0; k--) {
            const d = doc(depth + 1, inner + '  ');
            out += `${inner}- ${d.slice(inner.length + 2)}`;
          }
        }
        else out += `${indent}${key}:${rnd(3) === 0 ? ' # empty' : ''}\n${rnd(4) === 0 ? `${indent}# between\n\n` : ''}`;
      }
      return out;
    };
    let answered = 0;
    for (let i = 0; i < 1500; i++) if (agrees(doc(0, ''))) answered++;
    // Most generated documents hold a duplicate key or a form left to yaml; enough are read here.
    expect(answered).toBeGreaterThan(100);

    // Configs as yaml's own stringify writes them (as the tests and `mtarep init` write configs).
    const value = (depth: number): unknown => {
      const k = rnd(depth > 2 ? 6 : 9);
      if (k === 0) return pick(scalars);
      if (k === 1) return pick([0, 7, -3, 1.5, 1e21, 123456789012345, -0.25]);
      if (k === 2) return pick([true, false, null]);
      if (k === 3) return pick(['', ' lead', 'trail ', 'a\tb', 'two\nlines', 'caf\u00e9', '- x', 'x: y', '# no', "'", '"']);
      if (k === 4) return `${pick(['mx', 'zen.', 'https://'])}${rnd(1000)}${pick(['', '.example.com', '/path?q=1'])}`;
      if (k === 5) return pick(['0777', '0x1f', '1e3', '.inf', 'True', 'NULL', '~']);
      if (k === 6) return Array.from({ length: rnd(4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: rnd(4) }, () => [pick([...keys, 'with space', 'ключ', '1.5']), value(depth + 1)]));
    };
    let stringified = 0;
    for (let i = 0; i < 800; i++) {
      const v = value(0);
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && agrees(stringify(v))) stringified++;
    }
    expect(stringified).toBeGreaterThan(10);
  });
});
