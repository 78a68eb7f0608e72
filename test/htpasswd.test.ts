import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashPassword, parseHtpasswd, schemeOf, upsertUser, verifyPassword } from '../lib/htpasswd.js';

// $apr1$ made by an independent implementation (OpenSSL), the way Apache's htpasswd writes it by default.
const apr1 = execFileSync('openssl', ['passwd', '-apr1', 'correct horse'], { encoding: 'utf8' }).trim();
// {SHA} as the Ruby mtarep documented it: base64(sha1(password)).
const sha = '{SHA}' + crypto.createHash('sha1').update('battery staple').digest('base64');
// A bcrypt $2y$ hash as `htpasswd -B` writes it, made by the system's crypt(3) (libxcrypt) through perl.
const bcrypt2y = execFileSync('perl', ['-e', 'print crypt("htpasswd-b", q($2y$05$abcdefghijklmnopqrstuu))'], { encoding: 'utf8' }).trim();

const file = `# users
alice:${apr1}

bob:${sha}
carol:${hashPassword('long enough pw')}
dave:${bcrypt2y}
alice:{SHA}second-entry-ignored
plain:opensesame
weird:$6$rounds=5000$salt$hash
`;

describe('htpasswd', () => {
  const entries = parseHtpasswd(file);
  const get = (u: string) => entries.find((e) => e.user === u);

  it('parses like Apache: comments and blanks skipped, first entry of a user wins', () => {
    expect(entries.map((e) => e.user)).toEqual(['alice', 'bob', 'carol', 'dave', 'plain', 'weird']);
    expect(get('alice')!.scheme).toBe('apr1');
    expect(get('bob')!.scheme).toBe('sha1');
    expect(get('carol')!.scheme).toBe('bcrypt');
    expect(get('dave')!.scheme).toBe('bcrypt');
    expect(schemeOf('$6$rounds=5000$salt$hash')).toBe('unsupported');
  });

  it('verifies $apr1$, {SHA}, bcrypt $2y$ and rejects wrong passwords', async () => {
    expect(await verifyPassword(get('alice'), 'correct horse')).toBe(true);
    expect(await verifyPassword(get('alice'), 'correct horsE')).toBe(false);
    expect(await verifyPassword(get('bob'), 'battery staple')).toBe(true);
    expect(await verifyPassword(get('bob'), 'battery')).toBe(false);
    expect(await verifyPassword(get('carol'), 'long enough pw')).toBe(true);
    expect(await verifyPassword(get('carol'), 'long enough pW')).toBe(false);
    expect(bcrypt2y).toMatch(/^\$2y\$05\$.{53}$/);
    expect(await verifyPassword(get('dave'), 'htpasswd-b')).toBe(true);
    expect(await verifyPassword(get('dave'), 'wrong')).toBe(false);
  });

  it('refuses plain text unless allowed, and unknown users and unsupported schemes', async () => {
    expect(await verifyPassword(get('plain'), 'opensesame')).toBe(false);
    expect(await verifyPassword(get('plain'), 'opensesame', { allowPlain: true })).toBe(true);
    expect(await verifyPassword(undefined, 'anything')).toBe(false);
    expect(await verifyPassword(get('weird'), 'hash')).toBe(false);
  });

  it('upsertUser adds and updates bcrypt entries, keeping other lines, mode 0600', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-htp-'));
    const f = path.join(dir, 'sub', 'htpasswd');
    expect(upsertUser(f, 'admin', 'first password')).toBe('added');
    fs.appendFileSync(f, '# a comment\nbob:' + sha + '\n');
    expect(upsertUser(f, 'admin', 'second password')).toBe('updated');
    const after = parseHtpasswd(fs.readFileSync(f, 'utf8'));
    expect(after.map((e) => e.user)).toEqual(['admin', 'bob']);
    expect(after[0]!.hash).toMatch(/^\$2y\$10\$/);
    expect(fs.readFileSync(f, 'utf8')).toContain('# a comment');
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(() => upsertUser(f, 'bad:user', 'x')).toThrow(/invalid user name/);
    return verifyPassword(after[0], 'second password').then((ok) => expect(ok).toBe(true));
  });

  it('upsertUser keeps an existing file\'s mode, owner and group, and a symlink', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-htp-'));
    const f = path.join(dir, 'htpasswd');
    fs.writeFileSync(f, `bob:${sha}\n`);
    fs.chmodSync(f, 0o640);
    // As root (the probe's case: `sudo mtarep passwd` on a file of the mtarep user) the owner is
    // given a user and group of its own; otherwise the file is ours and the mode is what can be kept.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) fs.chownSync(f, 4321, 4322);
    const before = fs.statSync(f);
    expect(upsertUser(f, 'admin', 'a good password')).toBe('added');
    const after = fs.statSync(f);
    expect(after.mode & 0o7777).toBe(0o640);
    expect([after.uid, after.gid]).toEqual([before.uid, before.gid]);
    if (asRoot) expect([after.uid, after.gid]).toEqual([4321, 4322]);
    expect(parseHtpasswd(fs.readFileSync(f, 'utf8')).map((e) => e.user)).toEqual(['bob', 'admin']);
    expect(fs.readdirSync(dir)).toEqual(['htpasswd']);
    // A symlinked file: its target is rewritten, the link stays a link.
    const link = path.join(dir, 'link');
    fs.symlinkSync(f, link);
    expect(upsertUser(link, 'carol', 'another password')).toBe('added');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.statSync(f).mode & 0o7777).toBe(0o640);
    expect(parseHtpasswd(fs.readFileSync(f, 'utf8')).map((e) => e.user)).toEqual(['bob', 'admin', 'carol']);
  });
});
