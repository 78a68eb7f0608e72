import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDnsClient, type DnsClient } from '../../lib/net/dns/client.js';
import { resolveHosts } from '../../collector/hosts.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { configFrom } from '../helpers/collector-config.js';
import { ANSWERS_MS } from '../helpers/timeouts.js';

let server: TestDnsServer;
let dns: DnsClient;
const now = () => new Date('2025-01-02T03:04:05Z');

beforeAll(async () => {
  server = await startDnsServer();
  dns = createDnsClient(configFrom({ dns: { servers: [server.address], timeout_ms: ANSWERS_MS, tries: 1 } }));
});
afterAll(async () => {
  dns.close();
  await server.close();
});
beforeEach(() => server.reset());

describe('resolveHosts', () => {
  it('uses config IPs without any lookup, resolves the rest to A + AAAA, keeps unresolvable hosts', async () => {
    server.set('mx1.example.test', { A: ['192.0.2.1', '192.0.2.2'], AAAA: ['2001:DB8::1'] });
    server.set('mx2.example.test', { A: ['192.0.2.3'] });
    const config = configFrom({
      mta_map: {
        mx1: 'mx1.example.test',
        mx2: { fqdn: 'mx2.example.test' },
        mx3: { fqdn: 'mx3.example.test', ips: ['198.51.100.7'] },
        gone: { fqdn: 'gone.example.test' },
      },
    });
    // Config load refuses the ::ffff: form; the collector still maps one to its IPv4 address.
    config.hosts[2]!.ips = ['198.51.100.7', '::ffff:198.51.100.8'];
    const { records, targets, failed } = await resolveHosts(config.hosts, dns, now, 'run-1');
    // NXDOMAIN and NODATA are answers, not failed lookups.
    expect(failed.size).toBe(0);
    expect(records.map((r) => [r.name, r.resolve.status, r.ips])).toEqual([
      ['mx1', 'ok', ['192.0.2.1', '192.0.2.2', '2001:db8::1']],
      ['mx2', 'ok', ['192.0.2.3']],
      ['mx3', 'config', ['198.51.100.7', '198.51.100.8']],
      ['gone', 'error', []],
    ]);
    expect(records[3]!.resolve.reason).toMatch(/gone\.example\.test.*NXDOMAIN/);
    expect(records[0]!.runId).toBe('run-1');
    expect(records[0]!.checkedAt).toBe('2025-01-02T03:04:05.000Z');
    expect(targets.map((t) => [t.ip, t.family, t.host.name])).toEqual([
      ['192.0.2.1', 4, 'mx1'],
      ['192.0.2.2', 4, 'mx1'],
      ['2001:db8::1', 6, 'mx1'],
      ['192.0.2.3', 4, 'mx2'],
      ['198.51.100.7', 4, 'mx3'],
      ['198.51.100.8', 4, 'mx3'],
    ]);
    expect(server.count((q) => q.name.startsWith('mx3'))).toBe(0);
  });

  it('reports a resolver failure as an error with its kind, not as "no addresses"', async () => {
    server.fail('broken.test', 'SERVFAIL');
    const config = configFrom({ mta_map: ['mx.broken.test'] });
    const { records, targets } = await resolveHosts(config.hosts, dns, now);
    expect(records[0]!.resolve.status).toBe('error');
    expect(records[0]!.resolve.reason).toMatch(/SERVFAIL/);
    expect(targets).toEqual([]);
  });

  it('dedupes an IP shared by two hosts into one target, listed on both hosts', async () => {
    // Config load refuses one IP given twice; DNS answers can still share one (set here directly).
    const config = configFrom({ mta_map: { a: { fqdn: 'a.test' }, b: { fqdn: 'b.test' } } });
    config.hosts[0]!.ips = ['192.0.2.5', '192.0.2.5'];
    config.hosts[1]!.ips = ['192.0.2.5'];
    const { records, targets } = await resolveHosts(config.hosts, dns, now);
    expect(records.map((r) => r.ips)).toEqual([['192.0.2.5'], ['192.0.2.5']]);
    expect(targets.map((t) => t.host.name)).toEqual(['a']);
  });

  it('keeps the addresses of one family when the other times out, and says so', async () => {
    server.set('half.test', { A: ['192.0.2.6'] });
    const { records, failed } = await resolveHosts(configFrom({ mta_map: ['half.test'] }).hosts, {
      ...dns,
      resolve4: (n) => dns.resolve4(n),
      resolve6: (n) => dns.resolve6(n, { servers: ['127.0.0.1:9'] }),
    } as DnsClient, now);
    expect(records[0]!.resolve.status).toBe('ok');
    expect(records[0]!.ips).toEqual(['192.0.2.6']);
    expect(records[0]!.resolve.reason).toMatch(/partial: AAAA/);
    // The run keeps the host's previous IPv6 addresses: this one cannot see them.
    expect(failed).toEqual(new Map([['half.test', [6]]]));
  });
});
