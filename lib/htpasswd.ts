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
  return scanHtpasswd(text).entries;
}

/** What a file holds: its entries (first of a user wins) and the lines no one can log in with. */
export interface HtpasswdScan {
  entries: HtpasswdEntry[];
  /**
   * 1-based numbers of the lines that are neither blank, a comment, nor an entry with a hash mtarep
   * checks (no `user:` part, an empty, truncated or plain-text hash, an unsupported scheme).
   */
  badLines: number[];
}

/** A hash of a scheme mtarep checks, in the shape its writer gives it (a truncated one never matches). */
export function checkableHash(hash: string): boolean {
  return (
    /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash) ||
    /^\$(apr1|1)\$[^$]{0,8}\$[./0-9A-Za-z]{22}$/.test(hash) ||
    /^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash)
  );
}

/** "line 3 is" / "lines 3, 7 are" ... not entries anyone logs in with; '' for none. Never the lines' content. */
export function badLinesText(lines: readonly number[]): string {
  if (lines.length === 0) return '';
  const shown = lines.length > 10 ? `${lines.slice(0, 10).join(', ')} and ${lines.length - 10} more` : lines.join(', ');
  const which = lines.length === 1 ? `line ${lines[0]} is` : `lines ${shown} are`;
  return `${which} not user:hash with a bcrypt, $apr1$ or {SHA} hash mtarep can check: nobody logs in with ${lines.length === 1 ? 'it' : 'them'}`;
}

export function scanHtpasswd(text: string): HtpasswdScan {
  const entries: HtpasswdEntry[] = [];
  const badLines: number[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, n) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const i = line.indexOf(':');
    if (i <= 0) {
      badLines.push(n + 1);
      return;
    }
    const user = line.slice(0, i);
    const hash = line.slice(i + 1);
    if (!checkableHash(hash)) badLines.push(n + 1);
    if (seen.has(user)) return; // first matching user wins
    seen.add(user);
    entries.push({ user, hash, scheme: schemeOf(hash) });
  });
  return { entries, badLines };
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

/**
 * Why `user` cannot be written to the file, or undefined when it can. A name that was not valid
 * UTF-8 on the command line reaches us with U+FFFD in it: written, it would be a user nobody types.
 */
export function userNameProblem(user: string): string | undefined {
  if (user === '') return 'it is empty';
  if (user.includes('\uFFFD') || /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(user)) return 'it is not valid UTF-8';
  if (/[\r\n]/.test(user)) return 'it contains a line break';
  if (/[\x00-\x1f\x7f]/.test(user)) return 'it contains a control character';
  if (user.includes(':')) return 'it contains a colon (the separator of user and hash)';
  if (/\s/.test(user)) return 'it contains white space';
  if (user.startsWith('#')) return 'it starts with # (a comment line)';
  if (user.length > 64) return 'it is longer than 64 characters';
  return undefined;
}

export function validUserName(user: string): boolean {
  return userNameProblem(user) === undefined;
}

/**
 * Replace a file's content atomically (temporary file + rename, so a reader never sees half a file),
 * keeping its owner, group and mode: the dashboard may read it as another user (`mtarep` 0640; a
 * root:root 0600 copy locked the dashboard out). A symlink is followed; its target is replaced. A new
 * file gets mode 0600.
 */
export function writeKeepingOwner(file: string, text: string | Uint8Array): void {
  let target = file;
  let st: fs.Stats | null = null;
  try {
    target = fs.realpathSync(file);
    st = fs.statSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // A missing folder is created: the config checks and `mtarep passwd` allow that only under data_dir.
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o750 });
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
  try {
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

const NL = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const HASH = 0x23;
const isBlank = (b: number) => b === 0x20 || b === 0x09 || b === 0x0b || b === 0x0c || b === CR;

/** The user of a line as bytes (as parseHtpasswd reads it: trimmed, up to the first colon), or undefined. */
function userBytes(line: Buffer): Buffer | undefined {
  let start = 0;
  while (start < line.length && isBlank(line[start]!)) start++;
  if (start === line.length || line[start] === HASH) return undefined;
  const colon = line.indexOf(COLON, start);
  return colon > start ? line.subarray(start, colon) : undefined;
}

/**
 * The file's bytes with `user`'s entries replaced by `entry` (each keeping its line break) or, when
 * it has none, `entry` appended (after a line break for a last line that lacks one; CRLF when the
 * file's first line ends so). Every other byte is kept: user names in Latin-1, comments, blank lines.
 */
export function upsertEntryBytes(bytes: Buffer, user: string, entry: string): { bytes: Buffer; result: 'added' | 'updated' } {
  const want = Buffer.from(user, 'utf8');
  const parts: Buffer[] = [];
  let result: 'added' | 'updated' = 'added';
  let eol: string | undefined;
  let lastBreak = true;
  for (let at = 0; at < bytes.length; ) {
    const nl = bytes.indexOf(NL, at);
    const end = nl < 0 ? bytes.length : nl;
    const crlf = end > at && bytes[end - 1] === CR && nl >= 0;
    eol ??= nl < 0 ? undefined : crlf ? '\r\n' : '\n';
    const line = bytes.subarray(at, crlf ? end - 1 : end);
    const lineUser = userBytes(line);
    if (lineUser?.equals(want)) {
      parts.push(Buffer.from(entry, 'utf8'), bytes.subarray(line.length + at, nl < 0 ? end : nl + 1));
      result = 'updated';
    } else {
      parts.push(bytes.subarray(at, nl < 0 ? end : nl + 1));
    }
    lastBreak = nl >= 0;
    at = nl < 0 ? end : nl + 1;
  }
  if (result === 'added') {
    const br = eol ?? '\n';
    parts.push(Buffer.from(`${lastBreak ? '' : br}${entry}${br}`, 'utf8'));
  }
  return { bytes: Buffer.concat(parts), result };
}

/**
 * Add or replace `user` in the file (created with mode 0600 when missing). The file is read and
 * written as bytes: only the user's own lines change (see upsertEntryBytes). Written to a temporary
 * file and renamed, so a reader never sees half a file. Throws the fs error (with its `code`) when
 * the file cannot be read or written.
 */
export function upsertUser(file: string, user: string, password: string): 'added' | 'updated' {
  const bad = userNameProblem(user);
  if (bad !== undefined) throw new Error(`invalid user name ${JSON.stringify(user)}: ${bad}`);
  let bytes = Buffer.alloc(0);
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const out = upsertEntryBytes(bytes, user, `${user}:${hashPassword(password)}`);
  writeKeepingOwner(file, out.bytes);
  return out.result;
}

/** A random password for the first-start `admin` user. */
export function randomPassword(): string {
  return nodeCrypto().randomBytes(15).toString('base64url');
}
