import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDnsClient, DnsLookupError, type DnsClient } from '../../lib/net/dns/client.js';
import { wireLabels, wireTail } from '../../lib/net/dns/wire.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { configFrom } from '../helpers/collector-config.js';
import { ANSWERS_MS, SILENT_MS } from '../helpers/timeouts.js';

let server: TestDnsServer;
let other: TestDnsServer;
let dns: DnsClient;

beforeAll(async () => {
  server = await startDnsServer();
  other = await startDnsServer();
  dns = createDnsClient(configFrom({ dns: { servers: [server.address], timeout_ms: ANSWERS_MS, tries: 1, concurrency: 8 } }));
});
afterAll(async () => {
  dns.close();
  await server.close();
  await other.close();
});
beforeEach(() => {
  server.reset();
  other.reset();
});

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    expect(e).toBeInstanceOf(DnsLookupError);
    return (e as DnsLookupError).kind;
  }
}

describe('DNS client against a real UDP server', () => {
  it('resolves A, AAAA, TXT and PTR', async () => {
    server.set('mx1.example.test', { A: ['192.0.2.1', '192.0.2.2'], AAAA: ['2001:db8::1'] });
    server.set('t.example.test', { TXT: ['a'.repeat(300), 'short'] });
    server.set('1.2.0.192.in-addr.arpa', { PTR: ['mx1.example.test'] });
    expect((await dns.resolve4('mx1.example.test')).sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(await dns.resolve6('mx1.example.test')).toEqual(['2001:db8::1']);
    expect((await dns.resolveTxt('t.example.test')).sort()).toEqual(['a'.repeat(300), 'short']);
    expect(await dns.reverse('192.0.2.1')).toEqual(['mx1.example.test']);
  });

  it('maps every failure to its kind', async () => {
    server.set('exists.test', { A: ['192.0.2.1'] });
    server.fail('servfail.test', 'SERVFAIL');
    server.fail('refused.test', 'REFUSED');
    server.fail('dead.test', 'drop');
    expect(await kindOf(dns.resolve4('missing.test'))).toBe('NXDOMAIN');
    expect(await kindOf(dns.resolve6('exists.test'))).toBe('NODATA');
    expect(await kindOf(dns.resolve4('x.servfail.test'))).toBe('SERVFAIL');
    expect(await kindOf(dns.resolve4('x.refused.test'))).toBe('REFUSED');
    expect(await kindOf(dns.resolve4('x.dead.test', { timeoutMs: SILENT_MS }))).toBe('TIMEOUT');
  });

  it('keeps the rcode of a failed PTR lookup (node reverse() would call a SERVFAIL "not found")', async () => {
    server.fail('3.2.0.192.in-addr.arpa', 'SERVFAIL');
    expect(await kindOf(dns.reverse('192.0.2.3'))).toBe('SERVFAIL');
    expect(await kindOf(dns.reverse('192.0.2.4'))).toBe('NXDOMAIN');
    server.set('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa', { PTR: ['v6.example.test'] });
    expect(await dns.reverse('2001:db8::1')).toEqual(['v6.example.test']);
    expect(await dns.reverse('::ffff:192.0.2.1').catch(() => 'nx')).toBe('nx');
    expect(server.count((q) => q.name === '1.2.0.192.in-addr.arpa' && q.type === 'PTR')).toBe(1);
  });

  it('never puts the query name in the error message', async () => {
    server.fail('secretkey123.zen.dq.spamhaus.net', 'SERVFAIL');
    const e = await dns.resolve4('2.0.0.127.secretkey123.zen.dq.spamhaus.net').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DnsLookupError);
    expect((e as Error).message).not.toContain('secretkey123');
    expect((e as Error).message).toContain('SERVFAIL');
  });

  it('reports a server that is not listening as a network error or timeout, never as no data', async () => {
    const port = other.port;
    await other.close();
    const kind = await kindOf(dns.resolve4('x.test', { servers: [`127.0.0.1:${port}`], timeoutMs: SILENT_MS }));
    expect(['NETWORK', 'TIMEOUT']).toContain(kind);
    other = await startDnsServer();
  });

  it('uses per-call servers instead of the global ones', async () => {
    other.set('only-there.test', { A: ['192.0.2.9'] });
    expect(await kindOf(dns.resolve4('only-there.test'))).toBe('NXDOMAIN');
    expect(await dns.resolve4('only-there.test', { servers: [other.address] })).toEqual(['192.0.2.9']);
    expect(other.count((q) => q.name === 'only-there.test')).toBe(1);
  });

  it('keeps at most dns.concurrency queries in flight (counted at the server)', async () => {
    const release = server.hold('slow.test');
    server.wildcard('slow.test', { A: ['192.0.2.1'] });
    const client = createDnsClient(configFrom({ dns: { servers: [server.address], timeout_ms: ANSWERS_MS, tries: 1, concurrency: 4 } }));
    try {
      const all = Promise.all(Array.from({ length: 12 }, (_, i) => client.resolve4(`n${i}.slow.test`)));
      // No answer leaves the server until released: the client can have sent its first 4 only.
      const sent = () => server.count((q) => q.name.endsWith('slow.test'));
      await expect.poll(sent, { timeout: ANSWERS_MS }).toBeGreaterThanOrEqual(4);
      await new Promise((r) => setImmediate(r));
      expect(sent()).toBe(4);
      release();
      const res = await all;
      expect(res).toHaveLength(12);
      expect(sent()).toBe(12);
    } finally {
      client.close();
    }
  });

  it('rejects lookups after close', async () => {
    const client = createDnsClient(configFrom({ dns: { servers: [server.address] } }));
    client.close();
    expect(await kindOf(client.resolve4('x.test'))).toBe('OTHER');
  });

  it('gives outcomes as data without rejecting (probe4, the DNSBL hot path)', async () => {
    server.set('2.0.0.127.bl.test', { A: ['127.0.0.2'] });
    server.fail('x.servfail.test', 'SERVFAIL');
    expect(await dns.probe4('2.0.0.127.bl.test')).toEqual({ answers: ['127.0.0.2'] });
    expect(await dns.probe4('1.0.0.127.bl.test')).toEqual({ kind: 'NXDOMAIN', message: 'no such name (NXDOMAIN) [ENOTFOUND]' });
    expect(await dns.probe4('x.servfail.test')).toMatchObject({ kind: 'SERVFAIL' });
    expect(await dns.probe4('bad..name')).toMatchObject({ kind: 'OTHER' });
  });

  it('gives the same outcomes to a callback, called once each (probe4Cb, no promise per query)', async () => {
    server.set('2.0.0.127.bl.test', { A: ['127.0.0.2'] });
    server.fail('x.servfail.test', 'SERVFAIL');
    const names = ['2.0.0.127.bl.test', '1.0.0.127.bl.test', 'x.servfail.test', 'bad..name'];
    const calls: unknown[][] = names.map(() => []);
    await new Promise<void>((resolve) => {
      let left = names.length;
      names.forEach((n, i) =>
        dns.probe4Cb(n, undefined, (o) => {
          calls[i]!.push(o);
          if (--left === 0) resolve();
        }),
      );
    });
    expect(calls).toEqual([
      [{ answers: ['127.0.0.2'] }],
      [{ kind: 'NXDOMAIN', message: 'no such name (NXDOMAIN) [ENOTFOUND]' }],
      [expect.objectContaining({ kind: 'SERVFAIL' })],
      [expect.objectContaining({ kind: 'OTHER' })],
    ]);
  });

  it('gives the same outcomes for a name given as its wire parts (probe4PartsCb), a truncated reply and a name too long included', async () => {
    server.set('2.0.0.127.bl.test', { A: ['127.0.0.2'] });
    server.set('3.0.0.127.big.test', { A: ['127.0.0.3'] });
    server.truncate('big.test');
    const long = `${'abcdefghi.'.repeat(13)}test`;
    const cases: [string, string][] = [
      ['2.0.0.127', 'bl.test'],
      ['1.0.0.127', 'bl.test'],
      ['3.0.0.127', 'big.test'],
      [long, long],
    ];
    const viaParts = await Promise.all(cases.map(([l, z]) => new Promise((r) => dns.probe4PartsCb(wireLabels(l), wireTail(z, 'A'), undefined, r))));
    const viaName = await Promise.all(cases.map(([l, z]) => dns.probe4(`${l}.${z}`)));
    expect(viaParts).toEqual(viaName);
    expect(viaParts.slice(0, 3)).toEqual([{ answers: ['127.0.0.2'] }, { kind: 'NXDOMAIN', message: 'no such name (NXDOMAIN) [ENOTFOUND]' }, { answers: ['127.0.0.3'] }]);
    expect(viaParts[3]).toMatchObject({ kind: 'OTHER' });
    // The truncated one was asked again over TCP, by its name.
    expect(server.count((q) => q.name === '3.0.0.127.big.test' && q.transport === 'tcp')).toBe(2);
  });

  it('asks again over TCP when the UDP reply is truncated', async () => {
    const long = 'reason '.repeat(120);
    server.set('big.test', { TXT: [long], A: ['192.0.2.5'] });
    server.truncate('big.test');
    expect(await dns.resolveTxt('big.test')).toEqual([long]);
    expect(await dns.resolve4('big.test')).toEqual(['192.0.2.5']);
    // Node's resolver, which takes over, tries UDP once more itself before TCP.
    expect(server.count((q) => q.name === 'big.test' && q.transport === 'udp')).toBeGreaterThanOrEqual(2);
    expect(server.count((q) => q.name === 'big.test' && q.transport === 'tcp')).toBe(2);
  });

  it('tries each try on the next server: a silent or failing server is passed over', async () => {
    other.set('both.test', { A: ['192.0.2.9'] });
    server.fail('both.test', 'drop');
    const client = createDnsClient(configFrom({ dns: { servers: [server.address, other.address], timeout_ms: SILENT_MS, tries: 1 } }));
    try {
      expect(await client.resolve4('both.test')).toEqual(['192.0.2.9']);
      server.fail('both.test', 'SERVFAIL');
      expect(await client.resolve4('both.test')).toEqual(['192.0.2.9']);
      expect(server.count((q) => q.name === 'both.test')).toBe(2);
      expect(other.count((q) => q.name === 'both.test')).toBe(2);
    } finally {
      client.close();
    }
  });

  it('sends a burst of queries asked together once each, all answered (queued sends: lib/net/dns/udp.ts burst)', async () => {
    server.wildcard('burst.test', { A: ['192.0.2.7'] });
    const client = createDnsClient(configFrom({ dns: { servers: [server.address], timeout_ms: ANSWERS_MS, tries: 1, concurrency: 100 } }));
    try {
      // One first, so the sockets are connected (queries asked before that wait for the connect).
      expect(await client.resolve4('first.burst.test')).toEqual(['192.0.2.7']);
      // 100 asked in one turn of the event loop: 6 full bursts of 16 and a last one of 4 at the turn's end.
      const res = await Promise.all(Array.from({ length: 100 }, (_, i) => client.resolve4(`q${i}.burst.test`)));
      expect(res.every((r) => r.length === 1 && r[0] === '192.0.2.7')).toBe(true);
      for (let i = 0; i < 100; i++) expect(server.count((q) => q.name === `q${i}.burst.test`)).toBe(1);
    } finally {
      client.close();
    }
  });

  it('spends `tries` attempts on a server that times out or fails, then reports that', async () => {
    server.fail('dead.test', 'drop');
    server.fail('sick.test', 'SERVFAIL');
    const client = createDnsClient(configFrom({ dns: { servers: [server.address], timeout_ms: SILENT_MS, tries: 3 } }));
    try {
      const t0 = performance.now();
      expect(await kindOf(client.resolve4('x.dead.test'))).toBe('TIMEOUT');
      expect(performance.now() - t0).toBeGreaterThanOrEqual(3 * SILENT_MS - 5);
      expect(await kindOf(client.resolve4('x.sick.test'))).toBe('SERVFAIL');
      expect(server.count((q) => q.name === 'x.dead.test')).toBe(3);
      expect(server.count((q) => q.name === 'x.sick.test')).toBe(3);
    } finally {
      client.close();
    }
  });

  describe('a datagram with no answer in time is sent again within its try (lib/net/dns/udp.ts resendAfter)', () => {
    /** A client with one try of ANSWERS_MS that has timed its server with a few answers. */
    async function warmClient(): Promise<DnsClient> {
      server.wildcard('warm.test', { A: ['192.0.2.5'] });
      const client = createDnsClient(configFrom({ dns: { servers: [server.address], timeout_ms: ANSWERS_MS, tries: 1 } }));
      for (let i = 0; i < 4; i++) expect(await client.resolve4(`w${i}.warm.test`)).toEqual(['192.0.2.5']);
      return client;
    }
    const copies = (name: string) => server.queries.filter((q) => q.name === name);

    it('answers a query whose first datagram was lost, from the copy sent again (same id), in its one try', async () => {
      server.set('lost.test', { A: ['192.0.2.8'] });
      server.dropFirst('lost.test', 1);
      const client = await warmClient();
      try {
        // One try of 5 s: without the resend this would be a TIMEOUT.
        expect(await client.resolve4('lost.test')).toEqual(['192.0.2.8']);
        const seen = copies('lost.test');
        expect(seen).toHaveLength(2);
        expect(seen[1]!.id).toBe(seen[0]!.id);
        // The four warm-up lookups and this one; one datagram sent again.
        expect(client.stats()).toEqual({ queries: 5, resent: 1 });
      } finally {
        client.close();
      }
    });

    it('never gives a slow answer up sooner: a query answered after the resend takes the first answer, once', async () => {
      server.set('slow.test', { A: ['192.0.2.9'] });
      const release = server.hold('slow.test');
      const client = await warmClient();
      try {
        const outcomes: unknown[] = [];
        const answered = new Promise<void>((resolve) =>
          client.probe4Cb('slow.test', undefined, (o) => {
            outcomes.push(o);
            resolve();
          }),
        );
        // Unanswered, the datagram goes again (same id); then both answers come.
        await expect.poll(() => copies('slow.test').length, { timeout: ANSWERS_MS }).toBeGreaterThanOrEqual(2);
        expect(copies('slow.test')[1]!.id).toBe(copies('slow.test')[0]!.id);
        release();
        await answered;
        // A lookup after both answers were sent is read after them: the second answer was ignored.
        expect(await client.resolve4('after.warm.test')).toEqual(['192.0.2.5']);
        expect(outcomes).toEqual([{ answers: ['192.0.2.9'] }]);
      } finally {
        client.close();
      }
    });

    it('sends a datagram at most three times in one try, and still reports the timeout after the whole try', async () => {
      server.fail('gone.test', 'drop');
      const client = await warmClient();
      try {
        const t0 = performance.now();
        expect(await kindOf(client.resolve4('x.gone.test'))).toBe('TIMEOUT');
        expect(performance.now() - t0).toBeGreaterThanOrEqual(ANSWERS_MS - 5);
        const seen = copies('x.gone.test');
        expect(seen).toHaveLength(3);
        expect(new Set(seen.map((q) => q.id)).size).toBe(1);
      } finally {
        client.close();
      }
    });

    it('resends a datagram lost among the first queries once enough answers come, with no further query to wake it', async () => {
      server.wildcard('first.test', { A: ['192.0.2.11'] });
      server.dropFirst('lost.first.test', 1);
      const client = createDnsClient(configFrom({ dns: { servers: [server.address], timeout_ms: ANSWERS_MS, tries: 1 } }));
      try {
        // All asked in one turn, before any answer: the lost one's resend is due only once three
        // answers have timed the server, and nothing is sent after them.
        const names = ['a.first.test', 'b.first.test', 'c.first.test', 'lost.first.test'];
        const res = await Promise.all(names.map((n) => client.resolve4(n)));
        expect(res).toEqual(names.map(() => ['192.0.2.11']));
        expect(client.stats()).toEqual({ queries: 4, resent: 1 });
      } finally {
        client.close();
      }
    });

    it('resends nothing to a server that has not answered yet (no answer time to go by)', async () => {
      server.dropFirst('cold.test', 1);
      server.set('cold.test', { A: ['192.0.2.10'] });
      const client = createDnsClient(configFrom({ dns: { servers: [server.address], timeout_ms: SILENT_MS, tries: 2 } }));
      try {
        // The first try is lost and never sent again; the second try (a new id) is answered.
        expect(await client.resolve4('cold.test')).toEqual(['192.0.2.10']);
        const seen = copies('cold.test');
        expect(seen).toHaveLength(2);
        expect(seen[1]!.id).not.toBe(seen[0]!.id);
      } finally {
        client.close();
      }
    });
  });

  it('ignores datagrams that do not answer the query (another id or question) and takes the one that does', async () => {
    const fake = dgram.createSocket('udp4');
    fake.on('message', (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      const reply = (id: number, name: string, data: string) =>
        fake.send(
          dnsPacket.encode({ type: 'response', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ ...q.questions![0]!, name }], answers: [{ type: 'A', name, ttl: 1, data }] }),
          rinfo.port,
          rinfo.address,
        );
      const name = q.questions![0]!.name;
      reply(((q.id ?? 0) + 1) & 0xffff, name, '192.0.2.66'); // another id
      reply(q.id ?? 0, `x${name}`, '192.0.2.67'); // another question
      reply(q.id ?? 0, name, '192.0.2.1');
    });
    await new Promise<void>((r) => fake.bind(0, '127.0.0.1', r));
    const client = createDnsClient(configFrom({ dns: { servers: [`127.0.0.1:${fake.address().port}`], timeout_ms: ANSWERS_MS, tries: 1 } }));
    try {
      expect(await client.resolve4('spoofed.test')).toEqual(['192.0.2.1']);
    } finally {
      client.close();
      await new Promise<void>((r) => fake.close(() => r()));
    }
  });

  it('fails the lookups in flight when closed, as errors', async () => {
    const release = server.hold('held.test');
    server.set('held.test', { A: ['192.0.2.1'] });
    const client = createDnsClient(configFrom({ dns: { servers: [server.address], timeout_ms: ANSWERS_MS, tries: 1 } }));
    const pending = kindOf(client.resolve4('held.test'));
    await expect.poll(() => server.count((q) => q.name === 'held.test'), { timeout: ANSWERS_MS }).toBe(1);
    client.close();
    expect(await pending).toBe('OTHER');
    release();
  });
});
