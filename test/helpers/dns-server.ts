/**
 * A real UDP DNS server on loopback for tests (node:dgram + dns-packet), serving in-memory records
 * that each test configures: A/AAAA/TXT/PTR, DNSBL listings (IPv4 octets or IPv6 nibbles), RFC 5782
 * test points, zones that fail (NXDOMAIN, SERVFAIL, REFUSED, or `drop`: never answer), wildcard zones
 * that list everything, slow zones, and names whose UDP replies are truncated (TC) so that clients ask
 * again over TCP, which it serves on the same port. It records every query (with its transport) so
 * tests can count them server side.
 *
 *   const dns = await startDnsServer();
 *   dns.list('bl.test', '192.0.2.10', ['127.0.0.2', '127.0.0.4'], 'listed for spam');
 *   dns.fail('dead.test', 'drop');
 *   config.dns.servers = [dns.address];
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { dnsblName, rawReverseLabels } from '../../lib/net/dns/names.js';

export type TestRecordType = 'A' | 'AAAA' | 'TXT' | 'PTR';
export type TestRecords = Partial<Record<TestRecordType, string[]>>;
/** How a zone fails: an rcode, or `drop` (the query is never answered: a timeout). */
export type TestFailure = 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | 'drop';

export interface ReceivedQuery {
  /** Lower-cased query name without the trailing dot. */
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
  /** The message id. */
  id: number;
  /** performance.now() when the query arrived. */
  t: number;
}

export interface TestDnsServer {
  host: string;
  port: number;
  /** `127.0.0.1:<port>`, as `dns.servers` / a zone's `servers` take it. */
  address: string;
  /** Replace the records of one name. */
  set(name: string, records: TestRecords): void;
  /** Add records to a name, keeping what it has. */
  add(name: string, records: TestRecords): void;
  /** A DNSBL listing of `ip` in `zone`: A `codes` and, when given, a TXT reason. */
  list(zone: string, ip: string, codes: string[], txt?: string): void;
  /** RFC 5782 test points: 127.0.0.2 listed, 127.0.0.1 not; with ipv6 also ::ffff:127.0.0.2. */
  testPoints(zone: string, opts?: { ipv6?: boolean; codes?: string[] }): void;
  /**
   * Every name at or under `suffix` fails this way, whatever records it has; with `type`, only
   * queries of that type do (the longest matching suffix rule decides, whatever its type).
   */
  fail(suffix: string, how: TestFailure, type?: TestRecordType): void;
  /** Every name under `suffix` without records of its own answers these (a list that lists everything). */
  wildcard(suffix: string, records: TestRecords): void;
  /** The first `n` UDP queries at or under `suffix` go unanswered (counted, as if the reply were lost); later ones are answered. */
  dropFirst(suffix: string, n: number): void;
  /** Answers for names at or under `suffix` are sent after `ms`. */
  slow(suffix: string, ms: number): void;
  /** Hold every answer under `suffix` until the returned function is called (then send them all). */
  hold(suffix: string): () => void;
  /** UDP replies for names under `suffix` carry no records and the TC bit; TCP gets the full answer. */
  truncate(suffix: string): void;
  /** Every query received, in order. */
  readonly queries: readonly ReceivedQuery[];
  /** Number of queries received, optionally only those matching. */
  count(filter?: (q: ReceivedQuery) => boolean): number;
  clearQueries(): void;
  /** Forget all records, rules and queries. */
  reset(): void;
  close(): Promise<void>;
}

const rcodeNumber = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

const lc = (name: string) => name.toLowerCase().replace(/\.$/, '');
const under = (name: string, suffix: string) => name === suffix || name.endsWith('.' + suffix);

/** Longest suffix rule that covers `name`. */
function ruleFor<T>(rules: Map<string, T>, name: string): T | undefined {
  let best: string | undefined;
  for (const suffix of rules.keys()) {
    if (under(name, suffix) && (best === undefined || suffix.length > best.length)) best = suffix;
  }
  return best === undefined ? undefined : rules.get(best);
}

/** TXT strings longer than 255 bytes go out as several character-strings. */
function txtChunks(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += 255) out.push(s.slice(i, i + 255));
  return out.length ? out : [''];
}

export async function startDnsServer(opts: { host?: string } = {}): Promise<TestDnsServer> {
  const host = opts.host ?? '127.0.0.1';
  const names = new Map<string, TestRecords>();
  const failures = new Map<string, { how: TestFailure; type?: TestRecordType }>();
  const wildcards = new Map<string, TestRecords>();
  const delays = new Map<string, number>();
  const holds = new Map<string, { sends: (() => void)[] | null }>();
  const truncated = new Map<string, true>();
  const dropsLeft = new Map<string, { left: number }>();
  const queries: ReceivedQuery[] = [];

  const answer = (name: string, type: string): { rcode: keyof typeof rcodeNumber; answers: dnsPacket.Answer[] } | null => {
    const rule = ruleFor(failures, name);
    const failure = rule && (rule.type === undefined || rule.type === type) ? rule.how : undefined;
    if (failure === 'drop') return null;
    if (failure) return { rcode: failure, answers: [] };
    const records = names.get(name) ?? ruleFor(wildcards, name);
    if (!records) return { rcode: 'NXDOMAIN', answers: [] };
    const values = records[type as TestRecordType] ?? [];
    const answers = values.map((v): dnsPacket.Answer => {
      if (type === 'TXT') return { type: 'TXT', name, ttl: 60, data: txtChunks(v) };
      return { type: type as 'A' | 'AAAA' | 'PTR', name, ttl: 60, data: v };
    });
    return { rcode: 'NOERROR', answers };
  };

  /** The reply to one query message (null: no reply), after the rules' delay or hold. */
  const respond = (msg: Buffer, transport: 'udp' | 'tcp', reply: (packet: Buffer) => void) => {
    let req: dnsPacket.DecodedPacket;
    try {
      req = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const q = req.questions?.[0];
    if (!q) return;
    const name = lc(q.name);
    queries.push({ name, type: q.type, transport, id: req.id ?? 0, t: performance.now() });
    const drop = transport === 'udp' ? ruleFor(dropsLeft, name) : undefined;
    if (drop !== undefined && drop.left > 0) {
      drop.left--;
      return;
    }
    const res = answer(name, q.type);
    if (res === null) return;
    const tc = transport === 'udp' && ruleFor(truncated, name) !== undefined;
    const packet = dnsPacket.encode({
      type: 'response',
      id: req.id ?? 0,
      flags:
        dnsPacket.AUTHORITATIVE_ANSWER |
        dnsPacket.RECURSION_AVAILABLE |
        (req.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) |
        (tc ? dnsPacket.TRUNCATED_RESPONSE : 0) |
        rcodeNumber[res.rcode],
      questions: [q],
      answers: tc ? [] : res.answers,
    });
    const delay = ruleFor(delays, name);
    const send = () => reply(packet);
    const hold = ruleFor(holds, name);
    if (hold?.sends) hold.sends.push(send);
    else if (delay) setTimeout(send, delay);
    else send();
  };

  // A UDP port the OS picks, and TCP on the same number: when TCP is taken there, try another pair.
  const conns = new Set<net.Socket>();
  const tcpServer = () =>
    net.createServer((conn) => {
      conns.add(conn);
      conn.on('close', () => conns.delete(conn));
      let buf = Buffer.alloc(0);
      conn.on('error', () => {});
      conn.on('data', (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        // RFC 1035 4.2.2: each message after its 2-byte length.
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          respond(msg, 'tcp', (packet) => {
            const len = Buffer.alloc(2);
            len.writeUInt16BE(packet.length);
            if (!conn.destroyed) conn.write(Buffer.concat([len, packet]));
          });
        }
      });
    });
  let socket!: dgram.Socket;
  let tcp!: net.Server;
  for (let attempt = 0; ; attempt++) {
    socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const s = socket;
    s.on('message', (msg, rinfo) => respond(msg, 'udp', (packet) => s.send(packet, rinfo.port, rinfo.address)));
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, host, () => {
        s.off('error', reject);
        resolve();
      });
    });
    tcp = tcpServer();
    const t = tcp;
    const listening = await new Promise<boolean>((resolve, reject) => {
      t.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' && attempt < 20 ? resolve(false) : reject(e)));
      t.listen(s.address().port, host, () => resolve(true));
    });
    if (listening) break;
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  const port = socket.address().port;

  const add = (name: string, records: TestRecords) => {
    const key = lc(name);
    const cur = names.get(key) ?? {};
    for (const [t, v] of Object.entries(records) as [TestRecordType, string[]][]) cur[t] = [...(cur[t] ?? []), ...v];
    names.set(key, cur);
  };

  return {
    host,
    port,
    address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    set: (name, records) => void names.set(lc(name), { ...records }),
    add,
    list(zone, ip, codes, txt) {
      const name = dnsblName(ip, lc(zone));
      names.set(name, { A: [...codes], ...(txt !== undefined ? { TXT: [txt] } : {}) });
    },
    testPoints(zone, o = {}) {
      const z = lc(zone);
      names.set(`2.0.0.127.${z}`, { A: o.codes ?? ['127.0.0.2'], TXT: ['test point'] });
      names.delete(`1.0.0.127.${z}`);
      if (o.ipv6) names.set(`${rawReverseLabels('::ffff:127.0.0.2')}.${z}`, { A: o.codes ?? ['127.0.0.2'], TXT: ['test point'] });
    },
    truncate: (suffix) => void truncated.set(lc(suffix), true),
    fail: (suffix, how, type) => void failures.set(lc(suffix), { how, ...(type !== undefined ? { type } : {}) }),
    wildcard: (suffix, records) => void wildcards.set(lc(suffix), { ...records }),
    dropFirst: (suffix, n) => void dropsLeft.set(lc(suffix), { left: n }),
    slow: (suffix, ms) => void delays.set(lc(suffix), ms),
    hold(suffix) {
      const h: { sends: (() => void)[] | null } = { sends: [] };
      holds.set(lc(suffix), h);
      return () => {
        const sends = h.sends ?? [];
        h.sends = null;
        for (const send of sends) send();
      };
    },
    get queries() {
      return queries;
    },
    count: (filter) => (filter ? queries.filter(filter).length : queries.length),
    clearQueries: () => void (queries.length = 0),
    reset() {
      names.clear();
      failures.clear();
      wildcards.clear();
      delays.clear();
      holds.clear();
      truncated.clear();
      dropsLeft.clear();
      queries.length = 0;
    },
    close: () =>
      Promise.all([
        new Promise<void>((resolve) => socket.close(() => resolve())),
        new Promise<void>((resolve) => {
          tcp.close(() => resolve());
          // Connections a client keeps open (c-ares does) must not hold the close.
          for (const c of conns) c.destroy();
        }),
      ]).then(() => undefined),
  };
}
