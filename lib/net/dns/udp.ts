/**
 * The DNS transport of the collector's hot path: queries over UDP, sent in bursts (see `burst`),
 * from `sockets` sockets per server (client.ts: one per 128 in flight), replies matched by id,
 * source and question (wire.ts), one timer for all the queries in flight (they share one timeout,
 * so their deadlines come in the order they were sent: a FIFO swept when its head is due), retries
 * on the next server as c-ares does (a timeout, SERVFAIL, REFUSED or NOTIMP tries again until
 * `tries` rounds over the servers are spent), and an unanswered query sent again within its try once
 * the server's answers say it should have been answered (see `resendAfter`).
 *
 * Why not node's c-ares resolvers: profiled on 200,000 DNSBL queries, c-ares and the exception node
 * builds for every NXDOMAIN took about 40% of the whole collector process. Outcomes here are plain
 * data (an error code, never a thrown error). A truncated reply (TC) is handed back as `TRUNCATED`
 * for the caller to ask again over TCP.
 */
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import { encodeQuery, decodeReply, type QueryType } from './wire.js';

export interface UdpServer {
  /** Numeric address as node reports a datagram's source (IPv6 canonical, no brackets). */
  address: string;
  port: number;
  family: 4 | 6;
}

/** Records of the asked type (maybe none: NODATA is `code: 'ENODATA'`), or a node-style error code. */
export type UdpOutcome = { records: string[] } | { code: string };

export interface UdpTransportOptions {
  servers: readonly UdpServer[];
  /** Per try. */
  timeoutMs: number;
  /** Rounds over the servers. */
  tries: number;
  /** Sockets per address family (spreads ids and kernel buffers). */
  sockets: number;
}

export interface UdpTransport {
  /** Send one query; `done` is called exactly once (also on close, with ECANCELLED). */
  query(name: string, type: QueryType, done: (o: UdpOutcome) => void): void;
  /** The same for a query already encoded (wire.ts, id 0): the transport owns the buffer from now on (it writes the id). */
  queryEncoded(query: Buffer, done: (o: UdpOutcome) => void): void;
  /** Queries sent and not yet answered or failed. */
  readonly inFlight: number;
  /** Queries asked, since the transport was made. */
  readonly queries: number;
  /** Datagrams sent again within their try (see `resendAfter`), since the transport was made. */
  readonly resent: number;
  close(): void;
}

interface Pending {
  buf: Buffer;
  done: (o: UdpOutcome) => void;
  attempt: number;
  /** Number of the current attempt (unique in the transport); a FIFO entry with another is an old attempt's. */
  seq: number;
  sock: Sock | null;
  id: number;
  server: UdpServer;
  finished: boolean;
  /** Waiting in the outbox for the next burst (see `burst`). */
  queued: boolean;
  /** performance.now() when the current try was sent. */
  sentAt: number;
  /** Times the current try's datagram was sent again. */
  resends: number;
}

interface Sock {
  /** Position in `all`. */
  index: number;
  s: dgram.Socket;
  /** By query id. */
  pending: (Pending | undefined)[];
  /** Queries sent before the socket was connected (null once it is). */
  early: Pending[] | null;
}

/** Codes after which c-ares tries the next server (a reply that says nothing about the name). */
const retryCodes: Record<number, string> = { 2: 'ESERVFAIL', 4: 'ENOTIMP', 5: 'EREFUSED' };
const rcodeCodes: Record<number, string> = { 1: 'EFORMERR', 3: 'ENOTFOUND' };

/** One frozen outcome per error code: most DNSBL answers are NXDOMAIN, and they allocate nothing. */
const failures = new Map<string, { code: string }>();
function failed(code: string): { code: string } {
  let o = failures.get(code);
  if (o === undefined) failures.set(code, (o = Object.freeze({ code })));
  return o;
}

/**
 * Resending within a try. A datagram lost on the way (a server's receive buffer overflowing for a
 * moment: rbldnsd on a busy machine drops a few in 200,000) used to cost its query the whole
 * `timeout_ms` of its try, and the run waited for it: one lost datagram near the end of a 4 s DNSBL
 * run added up to 2 s to it. Now an unanswered query is sent again, same id and socket, once it has
 * waited `resendFactor` times the server's average answer time (never sooner than `minResendMs`),
 * at most `maxResends` times per try. Either copy's answer is taken; the try's deadline and the number
 * of tries do not change, so a slow answer is never given up sooner than before. The figures are
 * c-ares's own dynamic timeouts (1.32: 5x the average latency, at least 250 ms, about the round trip
 * half-way around the world; c-ares moves on to the next try then, this client keeps waiting):
 * a resolver's cache misses are much slower than its cache hits, so the average is multiplied. Only
 * answers to datagrams sent once are timed (Karn's rule: an answer to a resent one could be to either
 * copy), and there is no resend before `minSamples` answers (a server that never answered gets none).
 */
const resendFactor = 5;
const minResendMs = 250;
const maxResends = 2;
const minSamples = 3;
/** Resends due within this much of each other go out in one timer callback. */
const resendSlackMs = 20;

export function createUdpTransport(opts: UdpTransportOptions): UdpTransport {
  if (opts.servers.length === 0) throw new Error('no DNS servers to send to');
  const attempts = Math.max(1, opts.tries) * opts.servers.length;
  // By server index.
  const socks: Sock[][] = [];
  let nextSock = 0;
  let inFlight = 0;
  let closed = false;
  const all: Sock[] = [];
  let seq = 0;
  // The timeout FIFO, as numbers only (socket, id, attempt, deadline): an answered query is
  // referenced by nothing and dies young, instead of being kept until its deadline passes.
  let fifoSock: number[] = [];
  let fifoId: number[] = [];
  let fifoSeq: number[] = [];
  let fifoDeadline: number[] = [];
  let head = 0;
  // The resend cursor over the same FIFO: entries before it were due a resend already (see `resendAfter`).
  let rhead = 0;
  let resent = 0;
  let queries = 0;
  // The average answer time (an exponentially weighted mean, 1/8 per answer, as TCP's smoothed RTT).
  let rttAvg = 0;
  let rttCount = 0;
  /** How long an unanswered datagram waits before it is sent again; Infinity: not (yet) at all. */
  const resendAfter = () => (rttCount < minSamples ? Infinity : Math.max(minResendMs, rttAvg * resendFactor));
  /**
   * Datagrams go out in bursts: queued, and sent when `burst` are waiting or at the end of the turn
   * of the event loop (setImmediate runs after the poll phase, so after the replies read in that
   * turn). A lone datagram to a server that has just emptied its queue wakes it, which is expensive
   * (an inter-processor interrupt; a VM exit on a virtual machine) and is paid again for the next
   * one; a burst keeps it busy. Bursts of 16 rather than a whole turn's: the server starts on the
   * first while the rest of the replies are read. Measured in bench:collect (200,000 DNSBL queries,
   * 128 in flight, to rbldnsd on 2 cores), four pairs alternated: the check took 5.9-7.2 s with one
   * send per datagram and 4.7-5.9 s in bursts of 16 (better in every pair); node's CPU 6.3-7.6 s ->
   * 5.0-6.3 s, rbldnsd's 2.0-2.4 s -> 1.5-1.7 s. Bursts of 4 to 32 measured alike.
   */
  const burst = 16;
  let outbox: Pending[] = [];
  let flushing = false;
  let timer: NodeJS.Timeout | null = null;
  let timerAt = Infinity;

  // Random ids 8,192 at a time: one crypto call per 8,192 queries (each call costs ~10-60 µs).
  const ids = new Uint16Array(8192);
  let idNext = ids.length;
  const randomId = () => {
    if (idNext === ids.length) {
      crypto.randomFillSync(ids);
      idNext = 0;
    }
    return ids[idNext++]!;
  };

  /**
   * The sockets of one server, connected to it: a send then skips node's address lookup (a tick per
   * datagram) and the kernel drops datagrams from anyone else.
   */
  const socketsOf = (server: UdpServer, index: number): Sock[] => {
    let list = socks[index];
    if (list === undefined) {
      list = socks[index] = [];
      for (let i = 0; i < Math.max(1, opts.sockets); i++) {
        const sock: Sock = { index: all.length, s: dgram.createSocket(server.family === 4 ? 'udp4' : 'udp6'), pending: new Array<Pending | undefined>(65536), early: [] };
        all.push(sock);
        sock.s.on('message', (msg, rinfo) => onMessage(sock, msg, rinfo));
        // A socket error (an ICMP unreachable, say) fails what it carried; a retry goes out again.
        sock.s.on('error', (e: NodeJS.ErrnoException) => {
          for (const p of sock.pending.filter((x) => x !== undefined)) failAttempt(p, e.code ?? 'ECONNRESET');
        });
        sock.s.connect(server.port, server.address, () => {
          const early = sock.early ?? [];
          sock.early = null;
          for (const p of early) if (p.sock === sock && !p.finished) sock.s.send(p.buf);
        });
        if (inFlight === 0) sock.s.unref();
        list.push(sock);
      }
    }
    return list;
  };

  const setRef = (on: boolean) => {
    for (const list of socks) if (list) for (const s of list) (on ? s.s.ref() : s.s.unref());
  };

  const arm = () => {
    if (head >= fifoDeadline.length) return;
    let at = fifoDeadline[head]!;
    const r = Math.max(rhead, head);
    if (r < fifoDeadline.length) {
      const due = fifoDeadline[r]! - opts.timeoutMs + resendAfter() + resendSlackMs;
      if (due < at) at = due;
    }
    if (timer !== null && timerAt <= at) return;
    if (timer !== null) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(sweep, Math.max(0, Math.ceil(at - performance.now())));
  };

  function sweep() {
    timer = null;
    timerAt = Infinity;
    const now = performance.now();
    while (head < fifoDeadline.length) {
      const p = all[fifoSock[head]!]!.pending[fifoId[head]!];
      const live = p !== undefined && p.seq === fifoSeq[head];
      if (live && fifoDeadline[head]! > now) break;
      head++;
      if (live) failAttempt(p, 'ETIMEOUT');
    }
    // Entries are in the order they were sent (each one's deadline is its send time + timeoutMs).
    const wait = resendAfter();
    if (rhead < head) rhead = head;
    while (rhead < fifoDeadline.length && fifoDeadline[rhead]! - opts.timeoutMs + wait <= now) {
      const p = all[fifoSock[rhead]!]!.pending[fifoId[rhead]!];
      if (p !== undefined && p.seq === fifoSeq[rhead] && p.resends < maxResends) resend(p, now);
      rhead++;
    }
    if (head > 4096 && head * 2 > fifoDeadline.length) {
      fifoSock = fifoSock.slice(head);
      fifoId = fifoId.slice(head);
      fifoSeq = fifoSeq.slice(head);
      fifoDeadline = fifoDeadline.slice(head);
      rhead -= head;
      head = 0;
    }
    arm();
  }

  /**
   * Send the try's datagram again (same id and socket) and, while it may be sent once more, put it at
   * the FIFO's end as if sent now, so the resend cursor meets it again. That entry never times the try
   * out: by its deadline the try's own entry has (the query then has another seq, or is finished).
   */
  function resend(p: Pending, now: number) {
    if (p.sock === null || p.sock.early !== null) return;
    p.resends++;
    resent++;
    if (p.resends < maxResends) {
      fifoSock.push(p.sock.index);
      fifoId.push(p.id);
      fifoSeq.push(p.seq);
      fifoDeadline.push(now + opts.timeoutMs);
    }
    enqueue(p);
  }

  const finish = (p: Pending, o: UdpOutcome) => {
    if (p.finished) return;
    p.finished = true;
    if (p.sock) p.sock.pending[p.id] = undefined;
    p.sock = null;
    if (--inFlight === 0) setRef(false);
    p.done(o);
  };

  /** This attempt failed: try again (next server) while attempts remain, else report `code`. */
  function failAttempt(p: Pending, code: string) {
    if (p.finished) return;
    if (p.sock) p.sock.pending[p.id] = undefined;
    p.sock = null;
    if (p.attempt + 1 < attempts && !closed) {
      p.attempt++;
      send(p);
    } else finish(p, failed(code));
  }

  function send(p: Pending) {
    const index = p.attempt % opts.servers.length;
    const server = opts.servers[index]!;
    const list = socks[index] ?? socketsOf(server, index);
    const sock = list[nextSock++ % list.length]!;
    let id = randomId();
    while (sock.pending[id] !== undefined) id = randomId();
    p.id = id;
    p.sock = sock;
    p.server = server;
    p.buf.writeUInt16BE(id, 0);
    sock.pending[id] = p;
    p.seq = ++seq;
    p.resends = 0;
    p.sentAt = performance.now();
    fifoSock.push(sock.index);
    fifoId.push(id);
    fifoSeq.push(p.seq);
    fifoDeadline.push(p.sentAt + opts.timeoutMs);
    arm();
    if (sock.early) sock.early.push(p);
    else enqueue(p);
  }

  function enqueue(p: Pending) {
    if (p.queued) return;
    p.queued = true;
    outbox.push(p);
    if (outbox.length >= burst) flush();
    else if (!flushing) {
      flushing = true;
      setImmediate(flushTurn);
    }
  }

  function flushTurn() {
    flushing = false;
    flush();
  }
  function flush() {
    const list = outbox;
    outbox = [];
    for (const p of list) {
      p.queued = false;
      // Finished (answered by an earlier attempt, closed) or between attempts: nothing to send. On a
      // socket still connecting (a resend queued, then a retry moved the query to the next server's
      // new socket): its connect sends it. No callback: node then sends at once without a completion
      // request and tick per datagram. A datagram the kernel refuses is a lost query: its attempt
      // times out and is retried.
      if (p.finished || p.sock === null || p.sock.early !== null) continue;
      try {
        p.sock.s.send(p.buf);
      } catch (e) {
        // A send refused at once (a socket node no longer runs): this attempt failed, the next may go
        // elsewhere. Never thrown out of the flush, which may run from setImmediate.
        failAttempt(p, (e as NodeJS.ErrnoException).code ?? 'ESEND');
      }
    }
  }

  function start(buf: Buffer, done: (o: UdpOutcome) => void) {
    queries++;
    if (inFlight++ === 0) setRef(true);
    send({ buf, done, attempt: 0, seq: 0, sock: null, id: 0, server: opts.servers[0]!, finished: false, queued: false, sentAt: 0, resends: 0 });
  }

  function onMessage(sock: Sock, msg: Buffer, rinfo: dgram.RemoteInfo) {
    if (msg.length < 12) return;
    const p = sock.pending[msg.readUInt16BE(0)];
    if (!p || rinfo.port !== p.server.port || rinfo.address !== p.server.address) return;
    const reply = decodeReply(msg, p.buf);
    if (reply === null) return; // not the reply to this question: keep waiting for it
    // An answer (records, NODATA or NXDOMAIN) to a datagram sent once times the server (c-ares counts the same).
    if (p.resends === 0 && (reply.rcode === 0 || reply.rcode === 3)) {
      const rtt = performance.now() - p.sentAt;
      rttAvg = rttCount++ === 0 ? rtt : rttAvg + (rtt - rttAvg) / 8;
      // Resends start now: the timer may be set for the first deadline only, with nothing more to send.
      if (rttCount === minSamples) arm();
    }
    if (reply.tc) return finish(p, failed('TRUNCATED'));
    if (reply.rcode === 0) return finish(p, reply.records.length > 0 ? { records: reply.records } : failed('ENODATA'));
    const retry = retryCodes[reply.rcode];
    if (retry) return failAttempt(p, retry);
    finish(p, failed(rcodeCodes[reply.rcode] ?? 'EBADRESP'));
  }

  return {
    query(name, type, done) {
      if (closed) return done(failed('ECANCELLED'));
      let buf: Buffer;
      try {
        buf = encodeQuery(0, name, type);
      } catch (e) {
        return done(failed((e as { code?: string }).code ?? 'EBADNAME'));
      }
      start(buf, done);
    },
    queryEncoded(query, done) {
      if (closed) return done(failed('ECANCELLED'));
      start(query, done);
    },
    get inFlight() {
      return inFlight;
    },
    get queries() {
      return queries;
    },
    get resent() {
      return resent;
    },
    close() {
      if (closed) return;
      closed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      for (const sock of all) for (const p of sock.pending) if (p) finish(p, failed('ECANCELLED'));
      fifoSock = [];
      fifoId = [];
      fifoSeq = [];
      fifoDeadline = [];
      head = 0;
      rhead = 0;
      for (const list of socks) if (list) for (const s of list) s.s.close();
    },
  };
}
