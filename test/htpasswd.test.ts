import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { badLinesText, hashPassword, parseHtpasswd, scanHtpasswd, schemeOf, upsertEntryBytes, upsertUser, userNameProblem, verifyPassword } from '../lib/htpasswd.js';

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
    expect(() => upsertUser(f, 'bad:user', 'x')).toThrow(/invalid user name "bad:user": it contains a colon/);
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

  it('upsertUser changes only the user\'s own lines, byte for byte: Latin-1 names, CRLF, no final line break', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-htp-'));
    const f = path.join(dir, 'htpasswd');
    // The probe's file: a user name with the Latin-1 byte fc (ü), which is not UTF-8.
    const latin1 = Buffer.concat([Buffer.from('j'), Buffer.from([0xfc]), Buffer.from(`rgen:${apr1}\n`)]);
    fs.writeFileSync(f, latin1);
    expect(upsertUser(f, 'zed', 'a good password')).toBe('added');
    const after = fs.readFileSync(f);
    expect(after.subarray(0, latin1.length).equals(latin1)).toBe(true);
    expect(after.subarray(latin1.length).toString()).toMatch(/^zed:\$2y\$10\$.{53}\n$/);

    // CRLF, comments, blank lines, leading blanks and a last line without a line break.
    const crlf = `# users\r\n\r\n  bob:${sha}\r\nzed:old\r\nnocolon\r\ncarol:${apr1}`;
    fs.writeFileSync(f, crlf);
    expect(upsertUser(f, 'zed', 'a good password')).toBe('updated');
    const updated = fs.readFileSync(f, 'latin1');
    expect(updated.replace(/zed:\$2y\$10\$.{53}\r\n/, 'zed:old\r\n')).toBe(crlf);
    expect(upsertUser(f, 'dave', 'a good password')).toBe('added');
    // The last line gets the file's line break before the new one; nothing else moves.
    expect(fs.readFileSync(f, 'latin1')).toMatch(new RegExp(`^${escape(updated)}\r\ndave:\\$2y\\$10\\$.{53}\r\n$`));
    // bob (indented, as Apache reads it) is found; the new hash works for him.
    expect(upsertUser(f, 'bob', 'bobs new password')).toBe('updated');
    const bob = parseHtpasswd(fs.readFileSync(f, 'utf8')).find((e) => e.user === 'bob');
    return verifyPassword(bob, 'bobs new password').then((ok) => expect(ok).toBe(true));
  });

  it('upsertEntryBytes: an empty file, every entry of a duplicated user, # lines are never users', () => {
    expect(upsertEntryBytes(Buffer.alloc(0), 'a', 'a:h').bytes.toString()).toBe('a:h\n');
    const dup = upsertEntryBytes(Buffer.from('a:1\n#a:2\nb:3\na:4\n'), 'a', 'a:new');
    expect(dup).toEqual({ result: 'updated', bytes: Buffer.from('a:new\n#a:2\nb:3\na:new\n') });
    // Only whole user names match: "ab" and "a " are other users.
    expect(upsertEntryBytes(Buffer.from('ab:1\na :2'), 'a', 'a:n').bytes.toString()).toBe('ab:1\na :2\na:n\n');
    // A UTF-8 name matches its UTF-8 bytes, not the Latin-1 spelling.
    const utf8 = Buffer.from('jürgen:1\n');
    const l1 = Buffer.from([0x6a, 0xfc, 0x72, 0x67, 0x65, 0x6e, 0x3a, 0x31, 0x0a]);
    expect(upsertEntryBytes(Buffer.concat([l1, utf8]), 'jürgen', 'jürgen:2').bytes.equals(Buffer.concat([l1, Buffer.from('jürgen:2\n')]))).toBe(true);
  });

  it('user names that cannot go in the file are refused with the reason', () => {
    expect(userNameProblem('jürgen')).toBeUndefined();
    expect(userNameProblem('ops-1.x@y')).toBeUndefined();
    expect(userNameProblem('j\uFFFDrgen')).toBe('it is not valid UTF-8');
    expect(userNameProblem('j\uD800rgen')).toBe('it is not valid UTF-8');
    expect(userNameProblem('a\nb')).toBe('it contains a line break');
    expect(userNameProblem('a\rb')).toBe('it contains a line break');
    expect(userNameProblem('a\u0000b')).toBe('it contains a control character');
    expect(userNameProblem('a:b')).toMatch(/colon/);
    expect(userNameProblem('a b')).toBe('it contains white space');
    expect(userNameProblem('#a')).toMatch(/comment/);
    expect(userNameProblem('')).toBe('it is empty');
    expect(userNameProblem('x'.repeat(65))).toMatch(/longer than 64/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-htp-'));
    expect(() => upsertUser(path.join(dir, 'h'), 'a\nb:x', 'a good password')).toThrow('invalid user name "a\\nb:x": it contains a line break');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('scanHtpasswd names the lines nobody can log in with, by number', () => {
    const scan = scanHtpasswd(file);
    // alice's second entry (line 7: not a {SHA} hash), plain:opensesame (8) and weird:$6$ (9); not the comment or blank line.
    expect(scan.badLines).toEqual([7, 8, 9]);
    expect(scanHtpasswd(`# c\r\nnocolon\r\n:nouser\r\nempty:\r\ncut:${apr1.slice(0, -1)}\r\nok:${apr1}\r\n`).badLines).toEqual([2, 3, 4, 5]);
    expect(badLinesText([])).toBe('');
    expect(badLinesText([4])).toMatch(/^line 4 is not user:hash .* nobody logs in with it$/);
    expect(badLinesText(Array.from({ length: 12 }, (_, i) => i + 1))).toMatch(/^lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more are /);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
