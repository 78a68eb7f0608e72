import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { BadNameError, decodeReply, encodeQuery, ipv6Text, joinQuery, readName, wireLabels, wireTail } from '../../lib/net/dns/wire.js';

/** A reply to `query` built by dns-packet (an independent encoder), with `patch` applied. */
function replyTo(query: Buffer, answers: dnsPacket.Answer[], patch: { rcode?: number; tc?: boolean; id?: number; qname?: string } = {}): Buffer {
  const q = dnsPacket.decode(query);
  const flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (patch.tc ? dnsPacket.TRUNCATED_RESPONSE : 0) | (patch.rcode ?? 0);
  return dnsPacket.encode({
    type: 'response',
    id: patch.id ?? q.id ?? 0,
    flags,
    questions: patch.qname ? [{ ...q.questions![0]!, name: patch.qname }] : q.questions!,
    answers,
  });
}

describe('DNS wire format', () => {
  it('encodes a query that another implementation reads back', () => {
    const buf = encodeQuery(0xbeef, '10.2.0.192.zen.spamhaus.org.', 'A');
    const p = dnsPacket.decode(buf);
    expect(p.id).toBe(0xbeef);
    expect(p.flag_rd).toBe(true);
    expect(p.type).toBe('query');
    expect(p.questions).toEqual([{ name: '10.2.0.192.zen.spamhaus.org', type: 'A', class: 'IN' }]);
    expect(dnsPacket.decode(encodeQuery(1, 't.example.test', 'TXT')).questions![0]!.type).toBe('TXT');
    expect(dnsPacket.decode(encodeQuery(1, 'x.ip6.arpa', 'PTR')).questions![0]!.type).toBe('PTR');
    expect(dnsPacket.decode(encodeQuery(1, 'mx.example.test', 'AAAA')).questions![0]!.type).toBe('AAAA');
  });

  it('refuses names that cannot go on the wire', () => {
    for (const bad of ['a..b', '.a', `${'x'.repeat(64)}.test`, `${'abcdefghi.'.repeat(26)}test`, 'caf\u00e9.test', 'a b.test']) {
      expect(() => encodeQuery(1, bad, 'A'), bad).toThrow(BadNameError);
    }
    expect(() => encodeQuery(1, `${'x'.repeat(63)}.test`, 'A')).not.toThrow();
  });

  it('builds from wire parts (an IP\'s labels, a zone\'s tail) the very query encodeQuery makes of the whole name', () => {
    const labels = wireLabels('10.2.0.192');
    for (const [zone, type] of [['zen.spamhaus.org', 'A'], ['key123.zen.dq.spamhaus.net.', 'A'], ['t.example.test', 'TXT']] as const) {
      const q = joinQuery(labels, wireTail(zone, type));
      expect(q.equals(encodeQuery(0, `10.2.0.192.${zone}`, type)), zone).toBe(true);
      expect(dnsPacket.decode(q).questions).toEqual([{ name: `10.2.0.192.${zone.replace(/\.$/, '')}`, type, class: 'IN' }]);
    }
    // Each query is its own buffer: the transport writes its id into it.
    const tail = wireTail('bl.test', 'A');
    expect(joinQuery(labels, tail)).not.toBe(joinQuery(labels, tail));
    // The parts are checked as a name is; their join may not pass 255 bytes either.
    expect(() => wireLabels('a..b')).toThrow(BadNameError);
    expect(() => wireTail(`${'x'.repeat(64)}.test`, 'A')).toThrow(BadNameError);
    const long = `${'abcdefghi.'.repeat(13)}test`;
    expect(() => encodeQuery(0, `${long}.${long}`, 'A')).toThrow(BadNameError);
    expect(() => joinQuery(wireLabels(long), wireTail(long, 'A'))).toThrow(BadNameError);
    expect(() => joinQuery(wireLabels(long), wireTail('x.test', 'A'))).not.toThrow();
  });

  it('reads A records, NXDOMAIN, SERVFAIL and the TC bit', () => {
    const q = encodeQuery(7, '2.0.0.127.bl.test', 'A');
    const a = (data: string) => ({ type: 'A' as const, name: '2.0.0.127.bl.test', ttl: 60, data });
    expect(decodeReply(replyTo(q, [a('127.0.0.2'), a('127.0.0.4')]), q)).toEqual({ rcode: 0, tc: false, records: ['127.0.0.2', '127.0.0.4'] });
    expect(decodeReply(replyTo(q, [], { rcode: 3 }), q)).toEqual({ rcode: 3, tc: false, records: [] });
    expect(decodeReply(replyTo(q, [], { rcode: 2 }), q)).toEqual({ rcode: 2, tc: false, records: [] });
    expect(decodeReply(replyTo(q, [], { tc: true }), q)).toMatchObject({ tc: true, records: [] });
    expect(decodeReply(replyTo(q, []), q)).toEqual({ rcode: 0, tc: false, records: [] });
  });

  it('accepts a reply only to its own query: id, question (case aside), a response', () => {
    const q = encodeQuery(7, '2.0.0.127.BL.test', 'A');
    const a = [{ type: 'A' as const, name: '2.0.0.127.bl.test', ttl: 60, data: '127.0.0.2' }];
    expect(decodeReply(replyTo(q, a, { id: 8 }), q)).toBeNull();
    expect(decodeReply(replyTo(q, a, { qname: '3.0.0.127.bl.test' }), q)).toBeNull();
    expect(decodeReply(replyTo(q, a, { qname: '2.0.0.127.bl.TEST' }), q)?.records).toEqual(['127.0.0.2']);
    expect(decodeReply(q, q)).toBeNull(); // the query itself, looped back
    expect(decodeReply(replyTo(encodeQuery(7, '2.0.0.127.BL.test', 'TXT'), []), q)).toBeNull(); // another type
    expect(decodeReply(replyTo(q, a).subarray(0, 40), q)).toBeNull(); // cut short
  });

  it('follows a CNAME chain and keeps only the records at its end', () => {
    const q = encodeQuery(9, 'www.example.test', 'A');
    const r = replyTo(q, [
      { type: 'CNAME', name: 'www.example.test', ttl: 60, data: 'edge.example.test' },
      { type: 'CNAME', name: 'edge.example.test', ttl: 60, data: 'host.example.test' },
      { type: 'A', name: 'host.example.test', ttl: 60, data: '192.0.2.7' },
      { type: 'A', name: 'other.example.test', ttl: 60, data: '192.0.2.8' },
    ]);
    expect(decodeReply(r, q)?.records).toEqual(['192.0.2.7']);
  });

  it('reads TXT (strings of a record joined), AAAA (RFC 5952 text) and PTR', () => {
    const t = encodeQuery(1, 't.test', 'TXT');
    const long = 'a'.repeat(300);
    expect(decodeReply(replyTo(t, [{ type: 'TXT', name: 't.test', ttl: 1, data: [long.slice(0, 255), long.slice(255)] }, { type: 'TXT', name: 't.test', ttl: 1, data: 'short' }]), t)?.records).toEqual([long, 'short']);
    const six = encodeQuery(1, 'mx.test', 'AAAA');
    expect(decodeReply(replyTo(six, [{ type: 'AAAA', name: 'mx.test', ttl: 1, data: '2001:db8:0:0:1:0:0:1' }]), six)?.records).toEqual(['2001:db8::1:0:0:1']);
    const ptr = encodeQuery(1, '1.2.0.192.in-addr.arpa', 'PTR');
    expect(decodeReply(replyTo(ptr, [{ type: 'PTR', name: '1.2.0.192.in-addr.arpa', ttl: 1, data: 'MX1.Example.Test' }]), ptr)?.records).toEqual(['mx1.example.test']);
  });

  it('writes IPv6 text as RFC 5952 says', () => {
    expect(ipv6Text([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])).toBe('2001:db8::1');
    expect(ipv6Text([0, 0, 0, 0, 0, 0, 0, 0])).toBe('::');
    expect(ipv6Text([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])).toBe('2001:db8:0:1:1:1:1:1'); // one zero group stays
    expect(ipv6Text([1, 0, 0, 1, 0, 0, 0, 1])).toBe('1:0:0:1::1'); // the longer run
  });

  it('refuses a compression pointer loop', () => {
    const msg = Buffer.from([0xc0, 0x02, 0xc0, 0x00]);
    expect(() => readName(msg, 0)).toThrow(RangeError);
  });
});
