/**
 * HTTP basic auth from the htpasswd file (lib/htpasswd.ts does the parsing and constant-time checks).
 * The file is re-read when its mtime/size/inode change (checked at most once per `statIntervalMs`),
 * not parsed per request. A successful login is remembered (keyed by an HMAC of user and password,
 * tied to the entry's hash) so bcrypt does not run on every request. A failed one is remembered for a
 * minute only while the file is unchanged (the same wrong pair again costs no bcrypt; any change to the
 * file forgets it, so a password just set always works). The password checks an address may cause
 * are limited (web/login-limiter.ts); a remembered login never waits for the limiter.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { MiddlewareHandler } from 'hono';
import { parseHtpasswd, verifyPassword, type HtpasswdEntry } from '../lib/htpasswd.js';
import type { Logger } from '../lib/log.js';
import type { WebEnv } from './env.js';
import { LoginLimiter, type LoginLimitOptions } from './login-limiter.js';

/** The outcome of a login: accepted, refused, or refused unchecked because the address used its budget. */
export type LoginResult = { ok: true } | { ok: false; retryAfterSec?: number };

export interface HtpasswdStoreOptions {
  /** How often the file's metadata is checked. Default 1000 ms; tests use 0. */
  statIntervalMs?: number;
  now?: () => number;
  /** Remembered logins expire after this long. Default 10 minutes. */
  successTtlMs?: number;
  /** Limits on failed-login work per client address (its clock defaults to `now`). */
  limits?: LoginLimitOptions;
}

/** How long a failed pair is remembered (while the file is unchanged). */
const failureTtlMs = 60_000;

export class HtpasswdStore {
  private entries = new Map<string, HtpasswdEntry>();
  private signature = '';
  private checkedAt = -Infinity;
  private readonly warned = new Set<string>();
  private readonly ok = new Map<string, { hash: string; at: number }>();
  private readonly bad = new Map<string, number>();
  /** Password checks under way, by pair key. */
  private readonly checking = new Map<string, Promise<boolean>>();
  private readonly limiter: LoginLimiter;
  private readonly limitedLogged = new Map<string, number>();
  private readonly hmacKey = crypto.randomBytes(32);
  private readonly byConnection = new WeakMap<object, { header: string; user: string; key: string }>();
  private readonly statInterval: number;
  private readonly now: () => number;
  private readonly successTtl: number;

  constructor(
    readonly file: string,
    private readonly log: Logger,
    opts: HtpasswdStoreOptions = {},
  ) {
    this.statInterval = opts.statIntervalMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.successTtl = opts.successTtlMs ?? 600_000;
    this.limiter = new LoginLimiter({ now: this.now, ...opts.limits });
    this.refresh();
  }

  /** Re-read the file when it changed. A missing or unreadable file means nobody can log in. */
  private refresh(): void {
    const t = this.now();
    if (t - this.checkedAt < this.statInterval) return;
    this.checkedAt = t;
    let sig: string;
    try {
      const st = fs.statSync(this.file);
      sig = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (e) {
      sig = `missing:${(e as NodeJS.ErrnoException).code ?? 'error'}`;
    }
    if (sig === this.signature) return;
    this.signature = sig;
    this.ok.clear();
    this.bad.clear();
    this.entries = new Map();
    if (sig.startsWith('missing:')) {
      this.log.error('http_auth_file cannot be read: nobody can log in to the dashboard', { file: this.file, reason: sig.slice(8) });
      return;
    }
    try {
      for (const e of parseHtpasswd(fs.readFileSync(this.file, 'utf8'))) this.entries.set(e.user, e);
    } catch (e) {
      this.log.error('http_auth_file cannot be read: nobody can log in to the dashboard', { file: this.file, reason: (e as Error).message });
      return;
    }
    const weak = [...this.entries.values()].filter((e) => e.scheme === 'sha1' && !this.warned.has(e.user));
    if (weak.length > 0) {
      for (const e of weak) this.warned.add(e.user);
      this.log.warn('http_auth_file has unsalted {SHA} passwords: replace them with `mtarep passwd <user>` (bcrypt)', {
        users: weak.map((e) => e.user),
      });
    }
    const unsupported = [...this.entries.values()].filter((e) => e.scheme === 'unsupported' || e.scheme === 'plain');
    if (unsupported.length > 0) {
      this.log.warn('http_auth_file has entries in a format mtarep does not accept (use bcrypt, $apr1$ or {SHA})', {
        users: unsupported.map((e) => e.user),
      });
    }
  }

  private keyOf(user: string, password: string): string {
    return crypto.createHmac('sha256', this.hmacKey).update(user).update('\0').update(password).digest('base64');
  }

  /** A login that succeeded lately against the same entry: no bcrypt, no limiter. */
  private remembered(key: string, entry: HtpasswdEntry | undefined): boolean {
    const hit = this.ok.get(key);
    return entry !== undefined && hit !== undefined && hit.hash === entry.hash && this.now() - hit.at < this.successTtl;
  }

  private async checkPassword(key: string, entry: HtpasswdEntry | undefined, password: string): Promise<boolean> {
    const good = await verifyPassword(entry, password);
    if (good && entry) {
      if (this.ok.size >= 1000) this.ok.clear();
      this.ok.set(key, { hash: entry.hash, at: this.now() });
      this.bad.delete(key);
    } else {
      this.ok.delete(key);
      if (this.bad.size >= 10_000) this.bad.clear();
      this.bad.set(key, this.now());
    }
    return good;
  }

  /**
   * True when this pair logged in lately against the file's current entry: known at once, without a
   * password check or the limiter (the first step of `check`, and all the raw listener's hot path uses).
   */
  rememberedLogin(user: string, password: string): boolean {
    this.refresh();
    return this.remembered(this.keyOf(user, password), this.entries.get(user));
  }

  /**
   * The user of a remembered login sent as this `Authorization` header on this connection, else null.
   * A keep-alive client sends the same header with each request: when it is the one this connection
   * sent last, the parse and the HMAC are skipped (the login must still be remembered against the
   * file's entry now). The header is held only as long as the connection (a WeakMap on the socket).
   */
  rememberedHeader(header: string | undefined, connection: object): string | null {
    if (header === undefined) return null;
    const memo = this.byConnection.get(connection);
    if (memo !== undefined && memo.header === header) {
      this.refresh();
      return this.remembered(memo.key, this.entries.get(memo.user)) ? memo.user : null;
    }
    const cred = parseBasic(header);
    if (cred === null || !this.rememberedLogin(cred.user, cred.password)) return null;
    this.byConnection.set(connection, { header, user: cred.user, key: this.keyOf(cred.user, cred.password) });
    return cred.user;
  }

  /** True when user and password match the file now (no limit: for callers without an address). */
  async verify(user: string, password: string): Promise<boolean> {
    return (await this.check(user, password)).ok;
  }

  /**
   * Check a login from a client address: a remembered login passes at once; a pair that just failed
   * fails at once; anything else costs a password check, within the address's budget.
   */
  async check(user: string, password: string, address?: string): Promise<LoginResult> {
    if (this.rememberedLogin(user, password)) return { ok: true };
    const entry = this.entries.get(user);
    const key = this.keyOf(user, password);
    const failedAt = this.bad.get(key);
    if (failedAt !== undefined && this.now() - failedAt < failureTtlMs) return { ok: false };
    // The same pair already being checked (a browser or load tool opening many connections at once):
    // wait for that check instead of running bcrypt again; only a success is taken from it.
    const running = this.checking.get(key);
    if (running !== undefined && (await running)) return { ok: true };
    const p = this.checkLimited(key, entry, password, address);
    const ok = p.then((r) => r.ok, () => false);
    this.checking.set(key, ok);
    try {
      return await p;
    } finally {
      if (this.checking.get(key) === ok) this.checking.delete(key);
    }
  }

  private async checkLimited(key: string, entry: HtpasswdEntry | undefined, password: string, address: string | undefined): Promise<LoginResult> {
    if (address === undefined) return { ok: await this.checkPassword(key, entry, password) };
    const slot = this.limiter.begin(address);
    if ('retryAfterSec' in slot) {
      const last = this.limitedLogged.get(address);
      if (last === undefined || this.now() - last >= 60_000) {
        if (this.limitedLogged.size >= 1000) this.limitedLogged.clear();
        this.limitedLogged.set(address, this.now());
        this.log.warn('too many failed logins from one address: its logins are refused unchecked for a while', { address, retryAfterSec: slot.retryAfterSec });
      }
      return { ok: false, retryAfterSec: slot.retryAfterSec };
    }
    let good = false;
    try {
      good = await this.checkPassword(key, entry, password);
    } finally {
      slot.done(good);
    }
    return { ok: good };
  }
}

/** The peer address of the request's socket (@hono/node-server); undefined without one (app.request). */
export function clientAddress(env: unknown): string | undefined {
  const incoming = (env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress;
}

/** Parse `Authorization: Basic ...`; null when absent or malformed. */
export function parseBasic(header: string | undefined): { user: string; password: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i <= 0) return null;
  return { user: text.slice(0, i), password: text.slice(i + 1) };
}

/** Every route goes through this: 401 with a challenge unless the credentials match. */
export function basicAuth(store: HtpasswdStore): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const cred = parseBasic(c.req.header('authorization'));
    const result = cred ? await store.check(cred.user, cred.password, clientAddress(c.env)) : null;
    if (cred && result?.ok) {
      c.set('user', cred.user);
      return next();
    }
    if (result && !result.ok && result.retryAfterSec !== undefined) {
      return c.text(`Too many failed logins from your address: try again in ${result.retryAfterSec} s.\n`, 429, {
        'Retry-After': String(result.retryAfterSec),
        'Cache-Control': 'no-store',
      });
    }
    return c.text('Authentication required.\n', 401, {
      'WWW-Authenticate': 'Basic realm="mtarep", charset="UTF-8"',
      'Cache-Control': 'no-store',
    });
  };
}

/** Constant-time comparison of a presented token with the configured one (digests of equal length). */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(presented).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/**
 * For machine callers (GET /metrics): `Authorization: Bearer <token>` when a token is configured, or
 * the dashboard's basic auth. A wrong bearer token is refused, never passed on to basic auth.
 */
export function bearerOrBasicAuth(store: HtpasswdStore, token: string | undefined): MiddlewareHandler<WebEnv> {
  const basic = basicAuth(store);
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m) {
      if (token !== undefined && tokenMatches(m[1]!, token)) {
        c.set('user', 'bearer');
        return next();
      }
      return c.text('Authentication required.\n', 401, {
        'WWW-Authenticate': 'Bearer realm="mtarep", error="invalid_token"',
        'Cache-Control': 'no-store',
      });
    }
    return basic(c, next);
  };
}
