/**
 * known_hosts parsing and host-key verification, as OpenSSH does it: plain host patterns (with `*`,
 * `?` and `!` negation), hashed `|1|salt|hmac` entries, `[host]:port` for non-22 ports, and the
 * `@revoked` marker. Pure apart from `loadKnownHosts`. `@cert-authority` lines are not supported
 * (they are skipped: such a host is then "unknown", never silently accepted).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';

export interface KnownHostEntry {
  /** Raw host field: comma-separated patterns, or one `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  /** The public key blob (base64-decoded). */
  key: Buffer;
  revoked: boolean;
  line: number;
}

export type HostKeyVerdict =
  | { ok: true }
  | { ok: false; kind: 'unknown' | 'changed' | 'revoked'; message: string };

/** Parse a known_hosts file's text. Malformed lines are skipped (OpenSSH ignores them too). */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]?.startsWith('@')) {
      const marker = fields.shift();
      if (marker === '@revoked') revoked = true;
      else return; // @cert-authority: not supported, see header
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64) return;
    const key = Buffer.from(b64, 'base64');
    if (key.length === 0) return;
    out.push({ hosts, keyType, key, revoked, line: i + 1 });
  });
  return out;
}

export function loadKnownHosts(file: string): KnownHostEntry[] {
  return parseKnownHosts(fs.readFileSync(file, 'utf8'));
}

/**
 * The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise, lower-cased as ssh does
 * before it looks (hashed entries are hashes of the lower-case name).
 */
export function hostLookupName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

function globToRegExp(p: string): RegExp {
  const src = p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${src}$`, 'i');
}

/** Whether an entry's host field names `name` (already in `[host]:port` form when needed). */
export function entryMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (!salt || !hash) return false;
    const mac = crypto.createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const pat of hosts.split(',')) {
    const negated = pat.startsWith('!');
    const body = negated ? pat.slice(1) : pat;
    if (globToRegExp(body).test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Entries that apply to a host and port. */
export function entriesFor(entries: readonly KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  const name = hostLookupName(host, port);
  return entries.filter((e) => entryMatches(e.hosts, name));
}

/** The ssh2 host-key algorithm names that can present a key of a known_hosts key type. */
export function hostKeyAlgorithms(keyType: string): string[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [keyType];
}

/**
 * Compare the key a server presented with the known_hosts entries for it. A revoked key, a key that
 * differs from every entry for the host, or no entry at all is a refusal with a message naming why.
 */
export function verifyHostKey(entries: readonly KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const mine = entriesFor(entries, host, port);
  const name = hostLookupName(host, port);
  if (mine.some((e) => e.revoked && e.key.equals(key))) {
    return { ok: false, kind: 'revoked', message: `host key of ${name} is marked @revoked in known_hosts` };
  }
  const live = mine.filter((e) => !e.revoked);
  if (live.some((e) => e.key.equals(key))) return { ok: true };
  if (live.length === 0) {
    return { ok: false, kind: 'unknown', message: `host key of ${name} is not in known_hosts (add it with ssh-keyscan after checking its fingerprint)` };
  }
  const fp = 'SHA256:' + crypto.createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
  return {
    ok: false,
    kind: 'changed',
    message: `HOST KEY CHANGED for ${name}: server presented ${fp}, which matches no known_hosts entry (lines ${live.map((e) => e.line).join(', ')})`,
  };
}
