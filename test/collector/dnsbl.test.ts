import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dnsblPlugin, sharedAllClean } from '../../lib/checks/dnsbl.js';
import type { CheckDeps, Target } from '../../lib/checks/types.js';
import { createDnsClient, type DnsClient } from '../../lib/net/dns/client.js';
import type { Config } from '../../lib/config/normalize.js';
import type { CheckResult, DnsblResult, DnsblValue } from '../../lib/model.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { configFrom } from '../helpers/collector-config.js';
import { captureLog, type CaptureLog } from '../helpers/capture-log.js';
import { ANSWERS_MS, SILENT_MS } from '../helpers/timeouts.js';

let server: TestDnsServer;
const clients: DnsClient[] = [];
const now = () => new Date('2025-03-04T05:06:07Z');

beforeAll(async () => {
  server = await startDnsServer();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await server.close();
});
beforeEach(() => server.reset());

function setup(rbls: unknown[], extra: Record<string, unknown> = {}): { config: Config; deps: CheckDeps; log: CaptureLog } {
  const config = configFrom({ dns: { servers: [server.address], timeout_ms: ANSWERS_MS, tries: 1, concurrency: 16 }, rbls, ...extra });
  const dns = createDnsClient(config);
  clients.push(dns);
  const log = captureLog();
  return { config, log, deps: { config, dns, log, now, fetch: globalThis.fetch } };
}

function targets(config: Config, ...ips: string[]): Target[] {
  const host = config.hosts[0] ?? configFrom({ mta_map: ['mx.example.test'] }).hosts[0]!;
  return ips.map((ip) => ({ ip, family: ip.includes(':') ? 6 : 4, host }));
}

function one(results: Map<string, CheckResult<DnsblValue>>, ip: string, zone: string): DnsblResult {
  const r = results.get(ip)?.value?.zones.find((x) => x.zone === zone);
  if (!r) throw new Error(`no result for ${ip} in ${zone}`);
  return r;
}

describe('dnsbl check', () => {
  it('reports a listing with every code, labels and TXT, a clean IP as not listed, and fills the removal link', async () => {
    server.testPoints('zen.spamhaus.org');
    server.list('zen.spamhaus.org', '192.0.2.10', ['127.0.0.2', '127.0.0.4'], 'https://check.spamhaus.org/listed/?searchterm=192.0.2.10');
    server.testPoints('bl.example.test');
    server.list('bl.example.test', '192.0.2.11', ['127.0.0.2']);
    const { config, deps } = setup([
      'zen.spamhaus.org',
      { zone: 'bl.example.test', removal_link: 'https://bl.example.test/remove?ip=' },
    ]);
    const res = await dnsblPlugin.run(targets(config, '192.0.2.10', '192.0.2.11'), deps);
    const zen = one(res, '192.0.2.10', 'zen.spamhaus.org');
    expect(zen).toMatchObject({ state: 'listed', codes: ['127.0.0.2', '127.0.0.4'], labels: ['SBL', 'XBL'], critical: true, kind: 'block' });
    expect(zen.txt).toContain('searchterm=192.0.2.10');
    expect(zen.at).toBe('2025-03-04T05:06:07.000Z');
    expect(one(res, '192.0.2.11', 'zen.spamhaus.org')).toMatchObject({ state: 'not_listed', codes: [] });
    expect(one(res, '192.0.2.10', 'bl.example.test').state).toBe('not_listed');
    expect(one(res, '192.0.2.11', 'bl.example.test')).toMatchObject({
      state: 'listed',
      removalLink: 'https://bl.example.test/remove?ip=192.0.2.11',
    });
    // TXT is fetched for listings only.
    expect(server.count((q) => q.type === 'TXT')).toBe(2);
    // Results keep the config's zone order.
    expect(res.get('192.0.2.10')!.value!.zones.map((r) => r.zone)).toEqual(['zen.spamhaus.org', 'bl.example.test']);
  });

  it('gives every clean answer of a zone one frozen result, and each listing its own', async () => {
    server.testPoints('bl.example.test');
    server.list('bl.example.test', '192.0.2.12', ['127.0.0.2']);
    const { config, deps } = setup(['bl.example.test']);
    const res = await dnsblPlugin.run(targets(config, '192.0.2.10', '192.0.2.11', '192.0.2.12', '192.0.2.13'), deps);
    const clean = one(res, '192.0.2.10', 'bl.example.test');
    expect(clean).toEqual({ zone: 'bl.example.test', kind: 'block', state: 'not_listed', critical: false, codes: [], labels: [], at: '2025-03-04T05:06:07.000Z' });
    expect(Object.isFrozen(clean) && Object.isFrozen(clean.codes) && Object.isFrozen(clean.labels)).toBe(true);
    expect(one(res, '192.0.2.11', 'bl.example.test')).toBe(clean);
    expect(one(res, '192.0.2.13', 'bl.example.test')).toBe(clean);
    const listed = one(res, '192.0.2.12', 'bl.example.test');
    expect(listed).toMatchObject({ state: 'listed', codes: ['127.0.0.2'] });
    expect(Object.isFrozen(listed)).toBe(false);
    // IPs clean on every zone share one frozen result.
    expect(res.get('192.0.2.10')).toBe(res.get('192.0.2.13'));
    expect(res.get('192.0.2.10')).toEqual({ status: 'ok', at: '2025-03-04T05:06:07.000Z', value: { zones: [clean] } });
    expect(Object.isFrozen(res.get('192.0.2.10')!.value!.zones)).toBe(true);
    expect(Object.isFrozen(res.get('192.0.2.12'))).toBe(false);
  });

  it('answers for the shared clean result as for the same data unfrozen, and only shares what is frozen and clean', async () => {
    server.testPoints('bl.example.test');
    server.testPoints('b2.example.test');
    server.list('b2.example.test', '192.0.2.12', ['127.0.0.2']);
    const { config, deps } = setup(['bl.example.test', 'b2.example.test']);
    const res = await dnsblPlugin.run(targets(config, '192.0.2.10', '192.0.2.12'), deps);
    const shared = res.get('192.0.2.10')!;
    const copy = structuredClone(shared) as CheckResult<DnsblValue>;
    expect(sharedAllClean(shared)).toBe(true);
    expect(sharedAllClean(copy)).toBe(false);
    expect(sharedAllClean(res.get('192.0.2.12')!)).toBe(false);
    const steps = (r: CheckResult<DnsblValue>) => {
      const counts = { ok: 0, error: 0, skipped: 0 };
      const errors: string[] = [];
      dnsblPlugin.tally!(r, { bump: (what, n = 1) => (counts[what] += n), error: (l, why) => errors.push(`${l} ${why}`), unhealthy: (z) => errors.push(z) });
      const ctx = { rules: [], host: 'mx', ip: '192.0.2.10' } as unknown as Parameters<typeof dnsblPlugin.issues>[1];
      return { failed: dnsblPlugin.failed!(r), counts, errors, issues: dnsblPlugin.issues(r, ctx), history: dnsblPlugin.history!(r) };
    };
    expect(steps(shared)).toEqual(steps(copy));
    expect(steps(shared)).toEqual({ failed: false, counts: { ok: 2, error: 0, skipped: 0 }, errors: [], issues: { open: [], undetermined: [] }, history: { listings: 0 } });
    // The listed IP, frozen by hand: a listing is never taken for clean, frozen or not.
    const listed = res.get('192.0.2.12')!;
    const frozen = Object.freeze({ ...listed, value: Object.freeze({ zones: Object.freeze(listed.value!.zones.map((z) => Object.freeze({ ...z }))) }) }) as unknown as CheckResult<DnsblValue>;
    expect(sharedAllClean(frozen)).toBe(false);
    expect(steps(frozen)).toEqual(steps(listed));
    expect(steps(frozen).history).toEqual({ listings: 1 });
    // Frozen on top only: its zones may still change, so nothing is taken as settled.
    const shallow = Object.freeze({ ...copy });
    expect(sharedAllClean(shallow)).toBe(false);
    copy.value!.zones[0] = { ...copy.value!.zones[0]!, state: 'error', reason: 'timeout' };
    expect(steps(shallow).failed).toBe(true);
  });

  it('turns a timeout and a SERVFAIL for one IP into errors, never not_listed', async () => {
    server.testPoints('bl.example.test');
    server.fail('20.2.0.192.bl.example.test', 'drop');
    server.fail('21.2.0.192.bl.example.test', 'SERVFAIL');
    server.fail('22.2.0.192.bl.example.test', 'REFUSED');
    const { config, deps } = setup(['bl.example.test']);
    const res = await dnsblPlugin.run(targets(config, '192.0.2.20', '192.0.2.21', '192.0.2.22'), deps);
    expect(one(res, '192.0.2.20', 'bl.example.test')).toMatchObject({ state: 'error', reason: expect.stringMatching(/timeout/) });
    expect(one(res, '192.0.2.21', 'bl.example.test')).toMatchObject({ state: 'error', reason: expect.stringMatching(/SERVFAIL/) });
    expect(one(res, '192.0.2.22', 'bl.example.test')).toMatchObject({ state: 'error', reason: expect.stringMatching(/REFUSED/) });
  });

  it('treats Spamhaus 127.255.255.x as errors and answers outside 127/8 or unknown codes as unknown', async () => {
    server.testPoints('zen.spamhaus.org');
    server.list('zen.spamhaus.org', '192.0.2.30', ['127.255.255.254']);
    server.list('zen.spamhaus.org', '192.0.2.31', ['198.51.100.1']);
    server.list('zen.spamhaus.org', '192.0.2.32', ['127.0.0.99']);
    server.list('zen.spamhaus.org', '192.0.2.33', ['127.0.0.2', '127.0.0.99']);
    const { config, deps } = setup(['zen.spamhaus.org']);
    const res = await dnsblPlugin.run(targets(config, '192.0.2.30', '192.0.2.31', '192.0.2.32', '192.0.2.33'), deps);
    expect(one(res, '192.0.2.30', 'zen.spamhaus.org')).toMatchObject({
      state: 'error',
      codes: ['127.255.255.254'],
      reason: expect.stringMatching(/public or open resolver/),
    });
    expect(one(res, '192.0.2.31', 'zen.spamhaus.org')).toMatchObject({ state: 'unknown', codes: ['198.51.100.1'], reason: expect.stringMatching(/outside 127/) });
    expect(one(res, '192.0.2.32', 'zen.spamhaus.org')).toMatchObject({ state: 'unknown', reason: expect.stringMatching(/not in this zone's code table/) });
    // One odd record is not hidden behind a listing.
    expect(one(res, '192.0.2.33', 'zen.spamhaus.org')).toMatchObject({ state: 'unknown', codes: ['127.0.0.2', '127.0.0.99'] });
    expect(server.count((q) => q.type === 'TXT')).toBe(0);
  });

  it('marks a zone that lists everything unhealthy and counts none of its answers as listings', async () => {
    server.wildcard('everything.example.test', { A: ['127.0.0.2'] });
    server.testPoints('bl.example.test');
    server.list('bl.example.test', '192.0.2.40', ['127.0.0.2']);
    const { config, deps, log } = setup(['everything.example.test', 'bl.example.test']);
    const res = await dnsblPlugin.run(targets(config, '192.0.2.40', '192.0.2.41'), deps);
    for (const ip of ['192.0.2.40', '192.0.2.41']) {
      const r = one(res, ip, 'everything.example.test');
      expect(r.state).toBe('unknown');
      expect(r.unhealthy).toMatch(/lists everything/);
      expect(r.codes).toEqual(['127.0.0.2']);
    }
    // The healthy zone is unaffected.
    expect(one(res, '192.0.2.40', 'bl.example.test').state).toBe('listed');
    expect(one(res, '192.0.2.41', 'bl.example.test').state).toBe('not_listed');
    expect(log.text()).toMatch(/unhealthy.*everything\.example\.test/);
  });

  it('marks a zone that lists nothing unhealthy: its NXDOMAINs are not "clean"', async () => {
    const { config, deps } = setup(['empty.example.test']);
    const res = await dnsblPlugin.run(targets(config, '192.0.2.42'), deps);
    expect(one(res, '192.0.2.42', 'empty.example.test')).toMatchObject({ state: 'unknown', unhealthy: expect.stringMatching(/lists nothing/) });
  });

  it('does not hammer a zone that never answers: one error per IP, no per-IP queries, others unaffected', async () => {
    server.fail('dead.example.test', 'drop');
    server.testPoints('bl.example.test');
    const { config, deps } = setup([{ zone: 'dead.example.test', timeout_ms: SILENT_MS }, 'bl.example.test']);
    const ips = Array.from({ length: 20 }, (_, i) => `192.0.2.${100 + i}`);
    const res = await dnsblPlugin.run(targets(config, ...ips), deps);
    for (const ip of ips) {
      expect(one(res, ip, 'dead.example.test')).toMatchObject({ state: 'error', unhealthy: expect.stringMatching(/timeout/) });
      expect(one(res, ip, 'bl.example.test').state).toBe('not_listed');
    }
    expect(server.count((q) => q.name.endsWith('dead.example.test'))).toBe(2);
  });

  it('reports a zone whose name cannot go on the wire as an error for every IP, asking nothing (never not_listed)', async () => {
    server.wildcard('example.test', { A: ['127.0.0.2'] });
    // The config refuses a zone name with a label past 63 characters; a DQS key that long still makes
    // one in the name queried (<key>.zen.dq.spamhaus.net).
    const key = 'k'.repeat(64);
    const { config, deps } = setup([{ zone: 'zen.spamhaus.org', dqs_key: key, self_test: false }, { zone: 'ok.example.test', self_test: false }]);
    const res = await dnsblPlugin.run(targets(config, '192.0.2.60', '192.0.2.61'), deps);
    for (const ip of ['192.0.2.60', '192.0.2.61']) {
      expect(one(res, ip, 'zen.spamhaus.org').state).toBe('error');
      expect(one(res, ip, 'ok.example.test').state).toBe('listed');
    }
    expect(server.count((q) => q.name.includes(key))).toBe(0);
  });

  it('honours self_test: false (no test-point queries) and exempts score zones', async () => {
    server.list('notest.example.test', '192.0.2.50', ['127.0.0.2']);
    const { config, deps } = setup([{ zone: 'notest.example.test', self_test: false }, { zone: 'scores.example.test', kind: 'score', codes: { '127.0.4.0/24': 'score' } }]);
    const res = await dnsblPlugin.run(targets(config, '192.0.2.50'), deps);
    expect(one(res, '192.0.2.50', 'notest.example.test').state).toBe('listed');
    expect(one(res, '192.0.2.50', 'scores.example.test').state).toBe('not_listed');
    expect(server.count((q) => q.name.startsWith('2.0.0.127.') || q.name.startsWith('1.0.0.127.'))).toBe(0);
  });

  it('sends IPv6 targets as nibble names to IPv6 zones only, self-testing ::ffff:127.0.0.2', async () => {
    server.testPoints('v6.example.test', { ipv6: true });
    server.testPoints('v4only.example.test');
    server.list('v6.example.test', '2001:db8::25', ['127.0.0.3']);
    const { config, deps } = setup([{ zone: 'v6.example.test', ipv6: true }, 'v4only.example.test']);
    const res = await dnsblPlugin.run(targets(config, '2001:db8::25', '192.0.2.60'), deps);
    expect(one(res, '2001:db8::25', 'v6.example.test')).toMatchObject({ state: 'listed', codes: ['127.0.0.3'] });
    expect(res.get('2001:db8::25')!.value!.zones.map((r) => r.zone)).toEqual(['v6.example.test']);
    expect(one(res, '192.0.2.60', 'v4only.example.test').state).toBe('not_listed');
    const nibble = (q: { name: string }) => q.name.split('.').length > 32;
    expect(server.count((q) => nibble(q) && q.name.endsWith('v4only.example.test'))).toBe(0);
    expect(server.count((q) => q.type === 'A' && q.name === '5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.v6.example.test')).toBe(1);
    expect(server.count((q) => q.name.startsWith('2.0.0.0.0.0.f.7.f.f.f.f.') && q.name.endsWith('v6.example.test'))).toBe(1);
  });

  it('marks only the IPv6 side unhealthy when the IPv6 test point is missing', async () => {
    server.testPoints('half6.example.test');
    const { config, deps } = setup([{ zone: 'half6.example.test', ipv6: true }]);
    const res = await dnsblPlugin.run(targets(config, '2001:db8::26', '192.0.2.61'), deps);
    expect(one(res, '2001:db8::26', 'half6.example.test')).toMatchObject({ state: 'unknown', unhealthy: expect.stringMatching(/IPv6 self-test/) });
    expect(one(res, '192.0.2.61', 'half6.example.test').state).toBe('not_listed');
  });

  it('queries Spamhaus DQS under <key>.zen.dq.spamhaus.net and never shows the key', async () => {
    const key = 'k3yS3cretDqs0001';
    const qz = `${key.toLowerCase()}.zen.dq.spamhaus.net`;
    server.testPoints(qz);
    server.list(qz, '192.0.2.70', ['127.0.0.2'], 'listed');
    server.fail(`71.2.0.192.${qz}`, 'SERVFAIL');
    server.list(qz, '192.0.2.72', ['127.255.255.252']);
    const { config, deps, log } = setup([{ zone: 'zen.spamhaus.org', dqs_key: key, removal_link: 'https://check.spamhaus.org/?q={ip}' }]);
    const res = await dnsblPlugin.run(targets(config, '192.0.2.70', '192.0.2.71', '192.0.2.72'), deps);
    expect(one(res, '192.0.2.70', 'zen.spamhaus.org').state).toBe('listed');
    expect(one(res, '192.0.2.71', 'zen.spamhaus.org').state).toBe('error');
    expect(one(res, '192.0.2.72', 'zen.spamhaus.org')).toMatchObject({ state: 'error', reason: expect.stringMatching(/DQS key/) });
    expect(server.count((q) => q.name.endsWith(qz))).toBeGreaterThan(0);
    const shown = JSON.stringify([...res.entries()]) + log.text();
    expect(shown.toLowerCase()).not.toContain(key.toLowerCase());

    // An unhealthy DQS zone: the reasons and the log still never name the key.
    server.reset();
    server.fail(qz, 'SERVFAIL');
    const again = setup([{ zone: 'zen.spamhaus.org', dqs_key: key }]);
    const res2 = await dnsblPlugin.run(targets(again.config, '192.0.2.70'), again.deps);
    expect(one(res2, '192.0.2.70', 'zen.spamhaus.org')).toMatchObject({ state: 'error', unhealthy: expect.stringMatching(/SERVFAIL/) });
    expect((JSON.stringify([...res2.entries()]) + again.log.text()).toLowerCase()).not.toContain(key.toLowerCase());
    expect(again.log.lines.length).toBeGreaterThan(0);
  });

  it('honours a zone rate limit (queries counted at the server) without slowing the other zones', async () => {
    server.testPoints('slowpoke.example.test');
    server.testPoints('fast.example.test');
    const rate = 20;
    const { config, deps } = setup([{ zone: 'slowpoke.example.test', rate_limit: rate }, 'fast.example.test']);
    const ips = Array.from({ length: 30 }, (_, i) => `192.0.2.${150 + i}`);
    const res = await dnsblPlugin.run(targets(config, ...ips), deps);
    expect([...res.values()].every((l) => l.value!.zones.every((r) => r.state === 'not_listed'))).toBe(true);
    const slow = server.queries.filter((q) => q.name.endsWith('slowpoke.example.test'));
    expect(slow).toHaveLength(32);
    // Sliding one-second window over the arrival times: never more than `rate` (+1 for the window edge).
    let maxInWindow = 0;
    for (let i = 0, j = 0; i < slow.length; i++) {
      while (slow[i]!.t - slow[j]!.t >= 1000) j++;
      maxInWindow = Math.max(maxInWindow, i - j + 1);
    }
    expect(maxInWindow).toBeLessThanOrEqual(rate + 1);
    // The unlimited zone was done long before the limited one.
    const fast = server.queries.filter((q) => q.name.endsWith('fast.example.test'));
    expect(fast.at(-1)!.t).toBeLessThan(slow.at(-1)!.t);
  });

  it('sends a zone with its own servers there only, with its own timeout', async () => {
    const own = await startDnsServer();
    try {
      own.testPoints('own.example.test');
      own.list('own.example.test', '192.0.2.80', ['127.0.0.2']);
      own.fail('81.2.0.192.own.example.test', 'drop');
      server.testPoints('bl.example.test');
      const { config, deps } = setup(['bl.example.test', { zone: 'own.example.test', servers: [own.address], timeout_ms: 2000 }], {
        dns: { servers: [server.address], timeout_ms: 30_000, tries: 1, concurrency: 16 },
      });
      const res = await dnsblPlugin.run(targets(config, '192.0.2.80', '192.0.2.81'), deps);
      expect(one(res, '192.0.2.80', 'own.example.test').state).toBe('listed');
      expect(one(res, '192.0.2.81', 'own.example.test')).toMatchObject({ state: 'error', reason: expect.stringMatching(/timeout after 2000 ms/) }); // the zone's, not the global 30 s
      expect(server.count((q) => q.name.endsWith('own.example.test'))).toBe(0);
      expect(own.count((q) => q.name.endsWith('bl.example.test'))).toBe(0);
    } finally {
      await own.close();
    }
  });

  it('skips domain-only zones and says why when no IP zone is left', () => {
    const { config } = setup(['dbl.spamhaus.org']);
    expect(dnsblPlugin.skipReason(config)).toMatch(/no DNSBL zones/);
    expect(dnsblPlugin.skipReason(setup(['bl.example.test']).config)).toBeNull();
  });
});
