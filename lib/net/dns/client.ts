/**
 * DNS client for every lookup the collector makes: queries over UDP (udp.ts: one socket per server
 * and 128 queries in flight, one timeout sweep, retries on the next server) behind one concurrency
 * bound (`dns.concurrency` queries in flight in total), with errors mapped to kinds. Node's c-ares
 * resolver only parses the server list and asks again over TCP when a reply is truncated. Only
 * NXDOMAIN and NODATA mean "no such record"; every other failure means "cannot tell" and callers
 * must treat it so.
 */
import { promises as dnsp } from 'node:dns';
import type { Config } from '../../config/normalize.js';
import { isIP } from '../ip.js';
import { rawReverseLabels, normalizeIp } from './names.js';
import { createUdpTransport, type UdpOutcome, type UdpServer, type UdpTransport } from './udp.js';
import { codeKinds, DnsLookupError, kindText, type DnsErrorKind } from './errors.js';
import { joinQuery, readName, type QueryType } from './wire.js';
import { phase } from '../../phases.js';

export { DnsLookupError, toLookupError, type DnsErrorKind } from './errors.js';

/** `d.c.b.a.in-addr.arpa` / 32 nibbles + `.ip6.arpa` for an IP (IPv4-mapped IPv6 as IPv4). */
export function arpaName(ip: string): string {
  const n = normalizeIp(ip);
  return `${rawReverseLabels(n)}.${n.includes(':') ? 'ip6.arpa' : 'in-addr.arpa'}`;
}

export interface LookupOptions {
  /** Resolvers as `ip:port` / `[v6]:port`, overriding the configured ones. */
  servers?: string[];
  /** Per-try timeout overriding `dns.timeout_ms`. */
  timeoutMs?: number;
}

export interface DnsClient {
  /** A records. Rejects with DnsLookupError. `servers` overrides the configured resolvers. */
  resolve4(name: string, opts?: LookupOptions): Promise<string[]>;
  resolve6(name: string, opts?: LookupOptions): Promise<string[]>;
  /** TXT records, each record's strings joined. */
  resolveTxt(name: string, opts?: LookupOptions): Promise<string[]>;
  /** PTR names of an IP. */
  reverse(ip: string, opts?: LookupOptions): Promise<string[]>;
  /** A records as data, never rejecting: the DNSBL hot path (no error object per NXDOMAIN). */
  probe4(name: string, opts?: LookupOptions): Promise<LookupOutcome>;
  /** probe4 to a callback, called exactly once (no promise per query: the DNSBL check's 200,000 lookups). It runs in the reply handler and must not throw. */
  probe4Cb(name: string, opts: LookupOptions | undefined, done: (o: LookupOutcome) => void): void;
  /**
   * probe4Cb of the name <labels>.<zone> given as its two wire parts (wire.ts wireLabels, and
   * wireTail with type A): the DNSBL check encodes each IP's labels and each zone's tail once.
   */
  probe4PartsCb(labels: Uint8Array, tail: Uint8Array, opts: LookupOptions | undefined, done: (o: LookupOutcome) => void): void;
  /** Queries asked over UDP and datagrams sent again (udp.ts resendAfter) since the client was made. */
  stats(): DnsStats;
  close(): void;
}

/**
 * Queries in flight per UDP socket. One socket carries the default 128: measured in bench:collect
 * (200,000 DNSBL queries, 128 in flight), three sockets (one per 48, a figure from the c-ares
 * channels this client replaced) cost 13-26% more of node's CPU than one, in two pairs: each socket
 * is its own readable event with its own failed read per wakeup, and a burst is split three ways.
 * A reply queue of 128 small datagrams fits a socket's default receive buffer (~200 KB) with room
 * to spare; more in flight get more sockets, as the id space and that buffer want.
 */
const perChannel = 128;

export interface DnsClientOptions {
  /** UDP sockets per server set and address family; default: one per 128 in flight, max 16. */
  poolSize?: number;
}

export interface DnsStats {
  queries: number;
  resent: number;
}

/** A lookup's outcome as data: the records, or why there are none (DnsLookupError's kind and message). */
export type LookupOutcome = { answers: string[] } | { kind: DnsErrorKind; message: string };

/** What `dns.servers` says, as the UDP transport addresses it (node parses and checks the strings). */
function udpServers(resolver: InstanceType<typeof dnsp.Resolver>): UdpServer[] {
  return resolver.getServers().map((s) => {
    const m = /^\[(.+)\]:(\d+)$/.exec(s);
    if (m) return { address: normalizeIp(m[1]!), port: Number(m[2]), family: 6 as const };
    if (isIP(s) === 6) return { address: normalizeIp(s), port: 53, family: 6 as const };
    const [host, port] = s.split(':');
    return { address: host!, port: port ? Number(port) : 53, family: 4 as const };
  });
}

/** DnsLookupError's kind and message for a code (pure; a pool memoises them: 200,000 NXDOMAINs share one). */
function outcomeOf(code: string, timeoutMs: number): { kind: DnsErrorKind; message: string } {
  const kind = codeKinds[code] ?? 'OTHER';
  const message = kind === 'TIMEOUT' ? `timeout after ${timeoutMs} ms per try` : code ? `${kindText[kind]} [${code}]` : kindText[kind];
  return { kind, message };
}

interface Pool {
  udp: UdpTransport;
  /** c-ares, only for a reply too long for UDP (it asks again over TCP); made on first need. */
  tcp: () => InstanceType<typeof dnsp.Resolver>;
  timeout: number;
  failures: Map<string, { kind: DnsErrorKind; message: string }>;
}

function failure(pool: Pool, code: string): { kind: DnsErrorKind; message: string } {
  let o = pool.failures.get(code);
  if (o === undefined) pool.failures.set(code, (o = Object.freeze(outcomeOf(code, pool.timeout))));
  return o;
}

/**
 * Build the collector's DNS client from `config.dns`: `servers` (empty = the system's resolvers),
 * `timeoutMs` per try, `tries`, `concurrency` in flight in total. Queries go over UDP (udp.ts); a
 * truncated reply is asked again through node's resolver, which retries over TCP.
 */
export function createDnsClient(config: Config, options: DnsClientOptions = {}): DnsClient {
  const { servers, timeoutMs, tries, concurrency } = config.dns;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
  const sockets = options.poolSize ?? Math.min(16, Math.max(1, Math.ceil(concurrency / perChannel)));
  const pools = new Map<string, Pool>();
  let closed = false;
  // The global bound: a counter and a FIFO of queries waiting for a slot (a moving head: it may hold 200,000).
  let active = 0;
  let waiting: (() => void)[] = [];
  let head = 0;
  const release = () => {
    active--;
    if (head < waiting.length) {
      const next = waiting[head]!;
      waiting[head++] = undefined as unknown as () => void;
      if (head > 1024 && head * 2 > waiting.length) {
        waiting = waiting.slice(head);
        head = 0;
      }
      active++;
      next();
    }
  };

  // The pool of the configured servers, and of each options object seen (a zone's is made once).
  let defaultPool: Pool | undefined;
  const byOptions = new WeakMap<LookupOptions, Pool>();
  const poolOf = (opts: LookupOptions | undefined): Pool => {
    if (opts === undefined || (opts.servers === undefined && opts.timeoutMs === undefined)) return (defaultPool ??= makePool(undefined));
    let pool = byOptions.get(opts);
    if (pool === undefined) byOptions.set(opts, (pool = makePool(opts)));
    return pool;
  };
  const makePool = (opts: LookupOptions | undefined): Pool => {
    const list = opts?.servers ?? servers;
    const timeout = opts?.timeoutMs ?? timeoutMs;
    const key = `${list.join(',')}|${timeout}`;
    let pool = pools.get(key);
    if (!pool) {
      const make = () => {
        const r = new dnsp.Resolver({ timeout, tries });
        // setServers once, before any query; an empty list keeps the system's resolv.conf servers.
        if (list.length > 0) r.setServers(list);
        return r;
      };
      const parsed = make();
      let tcp: InstanceType<typeof dnsp.Resolver> | undefined;
      pool = {
        udp: createUdpTransport({ servers: udpServers(parsed), timeoutMs: timeout, tries, sockets }),
        tcp: () => (tcp ??= parsed),
        timeout,
        failures: new Map(),
      };
      pools.set(key, pool);
    }
    return pool;
  };

  /**
   * One lookup as data, to a callback called exactly once. `query`: the query already encoded (its
   * name is then read back from it only to ask again over TCP).
   */
  const lookupCb = (name: string | null, type: QueryType, opts: LookupOptions | undefined, done: (o: LookupOutcome) => void, query?: Buffer): void => {
    if (closed) return done({ kind: 'OTHER', message: 'DNS client is closed' });
    let pool: Pool;
    try {
      pool = poolOf(opts);
    } catch (e) {
      return done({ kind: 'OTHER', message: `bad DNS server list: ${(e as Error).message}` });
    }
    const settle = (o: UdpOutcome) => {
      if ('records' in o) {
        release();
        done({ answers: o.records });
      } else if (o.code === 'TRUNCATED') {
        // Too long for a datagram: node's resolver asks again (over TCP), still in this slot.
        viaTcp(pool, name ?? readName(query!, 12).name, type).then((r) => {
          release();
          done(r);
        });
      } else {
        release();
        done(failure(pool, o.code));
      }
    };
    if (active < concurrency) {
      active++;
      if (query === undefined) pool.udp.query(name!, type, settle);
      else pool.udp.queryEncoded(query, settle);
    } else waiting.push(() => (query === undefined ? pool.udp.query(name!, type, settle) : pool.udp.queryEncoded(query, settle)));
  };
  const stats = (): DnsStats => {
    const s = { queries: 0, resent: 0 };
    for (const pool of pools.values()) {
      s.queries += pool.udp.queries;
      s.resent += pool.udp.resent;
    }
    return s;
  };
  /** One lookup as data: never rejects. */
  const lookup = (name: string, type: QueryType, opts: LookupOptions | undefined): Promise<LookupOutcome> =>
    new Promise((resolve) => lookupCb(name, type, opts, resolve));

  const viaTcp = async (pool: Pool, name: string, type: QueryType): Promise<LookupOutcome> => {
    const r = pool.tcp();
    try {
      if (type === 'A') return { answers: await r.resolve4(name) };
      if (type === 'AAAA') return { answers: await r.resolve6(name) };
      if (type === 'PTR') return { answers: await r.resolvePtr(name) };
      return { answers: (await r.resolveTxt(name)).map((chunks) => chunks.join('')) };
    } catch (e) {
      return failure(pool, (e as { code?: string } | null)?.code ?? '');
    }
  };

  const rejecting = async (name: string, type: QueryType, opts: LookupOptions | undefined, query = name): Promise<string[]> => {
    const o = await lookup(name, type, opts);
    if ('answers' in o) return o.answers;
    throw lookupError(o, query);
  };

  return {
    resolve4: (name, opts) => rejecting(name, 'A', opts),
    resolve6: (name, opts) => rejecting(name, 'AAAA', opts),
    resolveTxt: (name, opts) => rejecting(name, 'TXT', opts),
    // A PTR query on the arpa name (node's Resolver.reverse() reported a SERVFAIL or a timeout as
    // ENOTFOUND, i.e. "no PTR"): the rcode is kept.
    reverse: (ip, opts) => {
      let name: string;
      try {
        name = arpaName(ip);
      } catch (e) {
        return Promise.reject(new DnsLookupError('OTHER', (e as Error).message, { query: ip }));
      }
      return rejecting(name, 'PTR', opts, ip);
    },
    probe4: (name, opts) => lookup(name, 'A', opts),
    probe4Cb: (name, opts, done) => lookupCb(name, 'A', opts, done),
    probe4PartsCb: (labels, tail, opts, done) => {
      let query: Buffer;
      try {
        query = joinQuery(labels, tail);
      } catch {
        // Longer than a name may be: the name's own lookup reports that, as for any name.
        const whole = Buffer.alloc(12 + labels.length + tail.length);
        whole.set(labels, 12);
        whole.set(tail, 12 + labels.length);
        return lookupCb(readName(whole, 12).name, 'A', opts, done);
      }
      lookupCb(null, 'A', opts, done, query);
    },
    stats,
    close() {
      closed = true;
      const { resent } = stats();
      for (const pool of pools.values()) pool.udp.close();
      // Datagrams sent again because no answer came in time (udp.ts): for MTAREP_PHASES readers.
      if (pools.size > 0) phase('dns: datagrams resent', { value: resent, unit: 'count' });
      pools.clear();
      defaultPool = undefined;
    },
  };
}

/** A DnsLookupError from an outcome, without a stack (see toLookupError). */
function lookupError(o: { kind: DnsErrorKind; message: string }, query: string): DnsLookupError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new DnsLookupError(o.kind, o.message, { query });
  } finally {
    Error.stackTraceLimit = limit;
  }
}
