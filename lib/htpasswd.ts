/**
 * htpasswd files as Apache's `htpasswd` writes them: `$apr1$` (its default MD5), bcrypt
 * (`$2y$`/`$2a$`/`$2b$`, `htpasswd -B`), and `{SHA}` (the original mtarep's unsalted SHA-1, accepted
 * with a warning). Parsed like Apache: `#` and blank lines skipped, split at the first `:`, first
 * matching user wins. Used by the dashboard's basic auth and by `mtarep passwd`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { nodeCrypto } from './lazy-builtins.js';

// The hash libraries load on first use: parsing a file (`mtarep check-config`) needs neither.
const requireLazy = createRequire(import.meta.url);
let bcryptLib: typeof import('bcryptjs') | undefined;
let md5Lib: ((password: string, salt?: string) => string) | undefined;
const bcrypt = {
  hashSync: (password: string, rounds: number) => (bcryptLib ??= requireLazy('bcryptjs') as typeof import('bcryptjs')).hashSync(password, rounds),
  compare: (password: string, hash: string) => (bcryptLib ??= requireLazy('bcryptjs') as typeof import('bcryptjs')).compare(password, hash),
};
const md5crypt = (password: string, salt: string) => (md5Lib ??= requireLazy('apache-md5') as (p: string, s?: string) => string)(password, salt);

export type HashScheme = 'bcrypt' | 'apr1' | 'sha1' | 'plain' | 'unsupported';

export interface HtpasswdEntry {
  user: string;
  hash: string;
  scheme: HashScheme;
}

export function schemeOf(hash: string): HashScheme {
  if (/^\$2[aby]\$\d\d\$/.test(hash)) return 'bcrypt';
  if (hash.startsWith('$apr1$') || hash.startsWith('$1$')) return 'apr1';
  if (hash.startsWith('{SHA}')) return 'sha1';
  if (/^\$[0-9a-z]+\$/.test(hash)) return 'unsupported';
  // 13-character DES crypt and anything else: refused unless plain text is explicitly allowed.
  return 'plain';
}

export function parseHtpasswd(text: string): HtpasswdEntry[] {
  const out: HtpasswdEntry[] = [];
  const seen = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const user = line.slice(0, i);
    const hash = line.slice(i + 1);
    if (seen.has(user)) continue; // first matching user wins
    seen.add(user);
    out.push({ user, hash, scheme: schemeOf(hash) });
  }
  return out;
}

function equalConstantTime(a: string, b: string): boolean {
  // Compare digests of both so lengths are equal and timing does not depend on the content.
  const da = nodeCrypto().createHash('sha256').update(a).digest();
  const db = nodeCrypto().createHash('sha256').update(b).digest();
  return nodeCrypto().timingSafeEqual(da, db);
}

/**
 * A bcrypt hash of a random password, checked against for unknown users so timing does not tell.
 * Made on first use, not at import: a full bcrypt would cost every importer (`mtarep check-config`
 * included) about 70 ms at start.
 */
let dummyHash: string | undefined;
function dummy(): string {
  return (dummyHash ??= bcrypt.hashSync(nodeCrypto().randomBytes(16).toString('hex'), 10));
}

/**
 * Verify a password against an entry (or against a dummy hash when `entry` is undefined, to keep the
 * timing of unknown users like that of known ones). `allowPlain` accepts plain-text entries.
 */
export async function verifyPassword(
  entry: HtpasswdEntry | undefined,
  password: string,
  opts: { allowPlain?: boolean } = {},
): Promise<boolean> {
  if (entry === undefined) {
    await bcrypt.compare(password, dummy());
    return false;
  }
  switch (entry.scheme) {
    case 'bcrypt':
      return bcrypt.compare(password, entry.hash.replace(/^\$2y\$/, '$2b$'));
    case 'apr1':
      return equalConstantTime(md5crypt(password, entry.hash), entry.hash);
    case 'sha1':
      return equalConstantTime('{SHA}' + nodeCrypto().createHash('sha1').update(password).digest('base64'), entry.hash);
    case 'plain':
      return opts.allowPlain === true && equalConstantTime(password, entry.hash);
    default:
      await bcrypt.compare(password, dummy());
      return false;
  }
}

/** `user:bcrypt` line content for a password (cost 10, as `htpasswd -B`). */
export function hashPassword(password: string): string {
  return bcrypt.hashSync(password, 10).replace(/^\$2b\$/, '$2y$');
}

export function validUserName(user: string): boolean {
  return /^[^:\s#][^:\s]{0,63}$/.test(user);
}

/**
 * Replace a file's content atomically (temporary file + rename, so a reader never sees half a file),
 * keeping its owner, group and mode: the dashboard may read it as another user (`mtarep` 0640; a
 * root:root 0600 copy locked the dashboard out). A symlink is followed; its target is replaced. A new
 * file gets mode 0600.
 */
export function writeKeepingOwner(file: string, text: string): void {
  let target = file;
  let st: fs.Stats | null = null;
  try {
    target = fs.realpathSync(file);
    st = fs.statSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, text);
    if (st) {
      // Owner first: chown clears set-id bits, and only then is the mode widened to the original's.
      try {
        fs.fchownSync(fd, st.uid, st.gid);
      } catch (e) {
        // Not root: the new file stays ours (we may not give it away); the mode is still kept.
        if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
      }
      fs.fchmodSync(fd, st.mode & 0o7777);
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, target);
}

/**
 * Add or replace `user` in the file (created with mode 0600 when missing), keeping every other line,
 * comments included. Written to a temporary file and renamed, so a reader never sees half a file.
 */
export function upsertUser(file: string, user: string, password: string): 'added' | 'updated' {
  if (!validUserName(user)) throw new Error(`invalid user name "${user}": no colon or white space, at most 64 characters`);
  let lines: string[] = [];
  try {
    lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
    if (lines[lines.length - 1] === '') lines.pop();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const entry = `${user}:${hashPassword(password)}`;
  let result: 'added' | 'updated' = 'added';
  const idx = lines.findIndex((l) => !l.trim().startsWith('#') && l.slice(0, l.indexOf(':')) === user);
  if (idx >= 0) {
    lines[idx] = entry;
    result = 'updated';
  } else {
    lines.push(entry);
  }
  writeKeepingOwner(file, lines.join('\n') + '\n');
  return result;
}

/** A random password for the first-start `admin` user. */
export function randomPassword(): string {
  return nodeCrypto().randomBytes(15).toString('base64url');
}
