/**
 * GET /metrics against real Redis: the records the collector stores, scraped and parsed with a
 * Prometheus text-format parser (parse-prometheus-text-format, a port of the official Python
 * client's parser), checked series by series against what was stored.
 */
import parsePrometheus, { type PromFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { createApp } from '../../web/server.js';
import { metricHelp } from '../../web/viewmodel/metrics.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, blocksRecord, htpasswdLine, keys, makeConfig, NOW, runSummary, sampleData, store, T, tempDir, writeHtpasswd } from './fixtures.js';

let t: TestRedis;
const dir = tempDir();
let config: ReturnType<typeof makeConfig>;
const auth = basic('alice', 'pw-alice');
const TOKEN = 'scrape-token-0123456789abcdef';

beforeAll(async () => {
  t = await testRedis();
  config = makeConfig(
    dir,
    {
      snds_key: 'snds-secret-key-1234',
      ssh_key: '/nonexistent/id_ed25519',
      metrics: { bearer_token: TOKEN },
      mta_map: {
        mta1: 'mta1.example.com',
        mta2: 'mta2.example.com',
        mta3: 'mta3.example.com',
        // Configured, never checked: its series must exist and say so.
        mta4: { fqdn: 'mta4.example.com', ips: ['192.0.2.40'] },
      },
    },
    t.prefix,
  );
  writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'bcrypt')]);
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  await t.redis.flushdb();
});

const app = () => createApp({ config, redis: t.redis, log: silentLogger, now: () => NOW });

async function scrape(headers: Record<string, string> = auth): Promise<{ text: string; families: Map<string, PromFamily> }> {
  const res = await app().request('/metrics', { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, families: new Map(parsePrometheus(text).map((f) => [f.name, f])) };
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
function value(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = (families.get(name)?.metrics ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${hits.length} samples`);
  return hits[0] === undefined ? undefined : Number(hits[0].value);
}

describe('GET /metrics', () => {
  it('takes the dashboard login or the bearer token; anything else is 401, and a wrong token is never passed to basic auth', async () => {
    expect((await app().request('/metrics')).status).toBe(401);
    expect((await app().request('/metrics', { headers: basic('alice', 'wrong') })).status).toBe(401);
    const wrong = await app().request('/metrics', { headers: { Authorization: 'Bearer not-the-token-at-all' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await app().request('/metrics', { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await app().request('/metrics', { headers: auth })).status).toBe(200);
    // The token does not open the dashboard: it is for /metrics only.
    expect((await app().request('/', { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(401);
    expect((await app().request('/api/hosts', { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(401);
  });

  it('every configured target has its series before any run; a never-checked target reads error 1, the run timestamp 0', async () => {
    const { families, text } = await scrape();
    expect(value(families, 'mtarep_last_run_timestamp_seconds')).toBe(0);
    expect(value(families, 'mtarep_last_run_duration_seconds')).toBeNaN();
    for (const status of ['ok', 'partial', 'failed']) expect(value(families, 'mtarep_last_run_status', { status })).toBe(0);
    // mta4's IP comes from config: every zone, every check, all "cannot tell".
    for (const z of config.zones) {
      expect(value(families, 'mtarep_dnsbl_listed', { ip: '192.0.2.40', zone: z.zone })).toBe(0);
      expect(value(families, 'mtarep_dnsbl_error', { ip: '192.0.2.40', zone: z.zone })).toBe(1);
      expect(value(families, 'mtarep_dnsbl_zone_unhealthy', { zone: z.zone })).toBe(0);
    }
    expect(value(families, 'mtarep_senderscore_error', { ip: '192.0.2.40' })).toBe(1);
    expect(value(families, 'mtarep_senderscore', { ip: '192.0.2.40' })).toBeNaN();
    expect(value(families, 'mtarep_snds_error', { ip: '192.0.2.40' })).toBe(1);
    expect(value(families, 'mtarep_dns_match_error', { ip: '192.0.2.40', part: 'helo' })).toBe(1);
    expect(value(families, 'mtarep_ip_last_check_timestamp_seconds', { host: 'mta4', ip: '192.0.2.40' })).toBe(0);
    // Hosts that must resolve and have not: resolve error; the maillog never read: read error.
    for (const host of ['mta1', 'mta2', 'mta3']) expect(value(families, 'mtarep_host_resolve_error', { host })).toBe(1);
    expect(value(families, 'mtarep_host_resolve_error', { host: 'mta4' })).toBe(0);
    for (const host of ['mta1', 'mta2', 'mta3', 'mta4']) {
      expect(value(families, 'mtarep_maillog_read_error', { host })).toBe(1);
      for (const provider of ['gmail', 'hotmail']) expect(value(families, 'mtarep_provider_blocks', { host, provider })).toBe(0);
    }
    // Every described metric is there with its HELP and TYPE, all gauges.
    for (const name of Object.keys(metricHelp)) {
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toContain(`# TYPE ${name} gauge`);
    }
  });

  it('every series matches the stored records', async () => {
    const data = sampleData();
    data.blocks.push(blocksRecord('mta1', [], { status: 'error', reason: 'ssh: connection refused', at: T(5), blocksAt: T(65) }));
    data.blocks[0]!.lines = { read: 1200, unparsed: 3 };
    data.lastRun = runSummary({ unhealthyZones: ['bl.spamcop.net: test point 127.0.0.2 not listed'], checks: { dnsbl: { ok: 8, error: 1, skipped: 0 } } });
    const rec = data.ips.find((r) => r.ip === '192.0.2.20')!;
    rec.snds = { status: 'ok', at: T(5), value: { data: { ...(data.ips[0]!.snds.value!.data!), color: 'red', traps: 42 }, blocked: null } };
    rec.dnsMatch = { status: 'ok', at: T(5), value: { rdns: { state: 'mismatch', found: ['other.example.net'] }, fdns: { state: 'error', found: [], reason: 'SERVFAIL' }, helo: { state: 'match', found: ['mta2.example.com'] } } };
    await store(t.redis, keys(t.prefix), data);
    const { families, text } = await scrape({ Authorization: `Bearer ${TOKEN}` });

    // DNSBL: the listings and the error as stored; the zone the run found unhealthy.
    expect(value(families, 'mtarep_dnsbl_listed', { host: 'mta1', ip: '192.0.2.10', zone: 'zen.spamhaus.org' })).toBe(1);
    expect(value(families, 'mtarep_dnsbl_listed', { ip: '192.0.2.10', zone: 'bl.spamcop.net' })).toBe(1);
    expect(value(families, 'mtarep_dnsbl_listed', { ip: '192.0.2.10', zone: 'b.barracudacentral.org' })).toBe(0);
    expect(value(families, 'mtarep_dnsbl_error', { ip: '192.0.2.10', zone: 'b.barracudacentral.org' })).toBe(1);
    expect(value(families, 'mtarep_dnsbl_error', { ip: '192.0.2.10', zone: 'zen.spamhaus.org' })).toBe(0);
    expect(value(families, 'mtarep_dnsbl_listed', { ip: '192.0.2.20', zone: 'b.barracudacentral.org' })).toBe(1);
    expect(value(families, 'mtarep_dnsbl_zone_unhealthy', { zone: 'bl.spamcop.net' })).toBe(1);
    expect(value(families, 'mtarep_dnsbl_zone_unhealthy', { zone: 'zen.spamhaus.org' })).toBe(0);
    expect(value(families, 'mtarep_dnsbl_error', { ip: '192.0.2.20', zone: 'bl.spamcop.net' })).toBe(1);
    // One dnsbl series per IP and applicable zone (IPv6 only on the zones that take it).
    const applicable = (ip: string) => config.zones.filter((z) => !z.domainOnly && (!ip.includes(':') || z.ipv6)).length;
    const ips = ['192.0.2.10', '2001:db8::10', '192.0.2.20', '192.0.2.40'];
    expect(families.get('mtarep_dnsbl_listed')!.metrics).toHaveLength(ips.reduce((n, ip) => n + applicable(ip), 0));

    // SenderScore: the score, the failure as NaN + error.
    expect(value(families, 'mtarep_senderscore', { ip: '192.0.2.10' })).toBe(95);
    expect(value(families, 'mtarep_senderscore_error', { ip: '192.0.2.10' })).toBe(0);
    expect(value(families, 'mtarep_senderscore', { ip: '192.0.2.20' })).toBeNaN();
    expect(value(families, 'mtarep_senderscore_error', { ip: '192.0.2.20' })).toBe(1);
    // SNDS: one colour set, trap hits.
    expect(value(families, 'mtarep_snds_filter', { ip: '192.0.2.20', color: 'red' })).toBe(1);
    expect(value(families, 'mtarep_snds_filter', { ip: '192.0.2.20', color: 'green' })).toBe(0);
    expect(value(families, 'mtarep_snds_filter', { ip: '192.0.2.10', color: 'green' })).toBe(1);
    expect(value(families, 'mtarep_snds_trap_hits', { ip: '192.0.2.20' })).toBe(42);
    expect(value(families, 'mtarep_snds_trap_hits', { ip: '192.0.2.10' })).toBe(0);
    // DNS match per part.
    expect(value(families, 'mtarep_dns_match', { ip: '192.0.2.20', part: 'rdns' })).toBe(0);
    expect(value(families, 'mtarep_dns_match', { ip: '192.0.2.20', part: 'fdns' })).toBeNaN();
    expect(value(families, 'mtarep_dns_match_error', { ip: '192.0.2.20', part: 'fdns' })).toBe(1);
    expect(value(families, 'mtarep_dns_match', { ip: '192.0.2.20', part: 'helo' })).toBe(1);
    expect(value(families, 'mtarep_dns_match', { ip: '192.0.2.10', part: 'rdns' })).toBe(1);
    // Hosts, maillog and provider blocks.
    expect(value(families, 'mtarep_host_resolve_error', { host: 'mta1' })).toBe(0);
    expect(value(families, 'mtarep_host_resolve_error', { host: 'mta3' })).toBe(1);
    expect(value(families, 'mtarep_host_ips', { host: 'mta1' })).toBe(2);
    expect(value(families, 'mtarep_host_ips', { host: 'mta3' })).toBe(0);
    expect(value(families, 'mtarep_provider_blocks', { host: 'mta2', provider: 'gmail' })).toBe(1);
    expect(value(families, 'mtarep_provider_blocks', { host: 'mta2', provider: 'hotmail' })).toBe(0);
    expect(value(families, 'mtarep_maillog_read_error', { host: 'mta2' })).toBe(0);
    expect(value(families, 'mtarep_maillog_lines_read', { host: 'mta2' })).toBe(1200);
    expect(value(families, 'mtarep_maillog_unparsed_lines', { host: 'mta2' })).toBe(3);
    expect(value(families, 'mtarep_maillog_read_error', { host: 'mta1' })).toBe(1);
    expect(value(families, 'mtarep_maillog_last_success_timestamp_seconds', { host: 'mta1' })).toBe(Date.parse(T(65)) / 1000);
    expect(value(families, 'mtarep_maillog_last_success_timestamp_seconds', { host: 'mta2' })).toBe(Date.parse(T(5)) / 1000);
    // The run.
    expect(value(families, 'mtarep_last_run_timestamp_seconds')).toBe(Date.parse(data.lastRun.finishedAt) / 1000);
    expect(value(families, 'mtarep_last_run_duration_seconds')).toBe(12);
    expect(value(families, 'mtarep_last_run_status', { status: 'partial' })).toBe(1);
    expect(value(families, 'mtarep_last_run_status', { status: 'ok' })).toBe(0);
    expect(value(families, 'mtarep_last_run_check_results', { check: 'dnsbl', result: 'error' })).toBe(1);
    expect(value(families, 'mtarep_ip_last_check_timestamp_seconds', { ip: '192.0.2.10' })).toBe(Date.parse(T(5)) / 1000);
    // Secrets never show.
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('snds-secret-key-1234');
  });

  it('names follow the exporter conventions', async () => {
    const { families } = await scrape();
    for (const [name, f] of families) {
      expect(name).toMatch(/^mtarep_[a-z0-9_]+$/);
      // Gauges only: no _total (that suffix is for counters); base units only.
      expect(name).not.toMatch(/_total$|_(milli|micro)seconds|_minutes|_hours|_bytes_k/);
      expect(f.type).toBe('GAUGE');
      expect(f.help.length).toBeGreaterThan(10);
    }
  });
});
