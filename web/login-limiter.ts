/**
 * How much password-checking work one client address may cause. Every password check of a login not
 * remembered costs a full bcrypt (unknown users too, so timing does not tell who exists): 40 parallel
 * bad logins slowed a logged-in user's request from 1 ms to 3.1 s. Per address (IPv6 per /64):
 *  - at most `maxInFlight` checks at once;
 *  - a bucket of `burst` failures, refilled by one every `refillMs`: when it is empty, further checks
 *    from that address are refused at once (429) until it refills.
 * A right password is never locked out: a login already remembered skips the limiter (it costs no
 * bcrypt), other addresses are not affected, and the same address gets its budget back with time.
 */
import { isIP } from '../lib/net/ip.js';

export interface LoginLimitOptions {
  /** Failed checks an address may make in a row. Default 10. */
  burst?: number;
  /** One failed check is forgiven per this long. Default 6 s (10 a minute). */
  refillMs?: number;
  /** Checks of one address running at once. Default 2. */
  maxInFlight?: number;
  /** Addresses tracked at most (the oldest idle ones are dropped). Default 10,000. */
  maxClients?: number;
  now?: () => number;
}

interface Client {
  tokens: number;
  at: number;
  inFlight: number;
}

/** The key an address is limited under: IPv4 as is (also when IPv4-mapped), IPv6 by its /64. */
export function clientKey(address: string): string {
  const a = address.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  if (isIP(a) !== 6) return a;
  const full = new URL(`http://[${a.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
  // Expand "::" to get the first four groups.
  const [head = '', tail = ''] = full.split('::');
  const h = head ? head.split(':') : [];
  const t = full.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return `${groups.slice(0, 4).join(':')}::/64`;
}

export class LoginLimiter {
  private readonly clients = new Map<string, Client>();
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly maxInFlight: number;
  private readonly maxClients: number;
  private readonly now: () => number;

  constructor(opts: LoginLimitOptions = {}) {
    this.burst = opts.burst ?? 10;
    this.refillMs = opts.refillMs ?? 6000;
    this.maxInFlight = opts.maxInFlight ?? 2;
    this.maxClients = opts.maxClients ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  private get(key: string): Client {
    const t = this.now();
    let c = this.clients.get(key);
    if (!c) {
      if (this.clients.size >= this.maxClients) this.prune();
      c = { tokens: this.burst, at: t, inFlight: 0 };
      this.clients.set(key, c);
    } else {
      c.tokens = Math.min(this.burst, c.tokens + (t - c.at) / this.refillMs);
      c.at = t;
    }
    return c;
  }

  /** Drop the clients with a full bucket and nothing running; if none, the oldest half. */
  private prune(): void {
    for (const [k, c] of this.clients) if (c.inFlight === 0 && c.tokens + (this.now() - c.at) / this.refillMs >= this.burst) this.clients.delete(k);
    if (this.clients.size >= this.maxClients) {
      let n = Math.floor(this.clients.size / 2);
      for (const [k, c] of this.clients) {
        if (n-- <= 0) break;
        if (c.inFlight === 0) this.clients.delete(k);
      }
    }
  }

  /**
   * Start a password check for an address: a `done(ok)` to call when it ended, or the seconds to wait
   * when the address has used its budget (then no check may run).
   */
  begin(address: string): { done: (ok: boolean) => void } | { retryAfterSec: number } {
    const key = clientKey(address);
    const c = this.get(key);
    if (c.tokens < 1 || c.inFlight >= this.maxInFlight) {
      const wait = c.tokens < 1 ? ((1 - c.tokens) * this.refillMs) / 1000 : 1;
      return { retryAfterSec: Math.max(1, Math.ceil(wait)) };
    }
    // The check is paid for up front (checks running at once cannot overdraw the budget) and
    // refunded when the password was right.
    c.inFlight++;
    c.tokens -= 1;
    let ended = false;
    return {
      done: (ok: boolean) => {
        if (ended) return;
        ended = true;
        const cur = this.get(key);
        cur.inFlight--;
        if (ok) cur.tokens = Math.min(this.burst, cur.tokens + 1);
      },
    };
  }
}
