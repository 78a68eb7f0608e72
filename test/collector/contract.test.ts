/**
 * One suite, run against every check of lib/checks/index.ts (style note 3): each returns a
 * well-formed result for every target, honours its timeout against peers that never answer (it
 * resolves, with error results that say timeout), and reports failure as data (it never rejects).
 * Peers are real and on loopback: a DNS server, an HTTP server and an SMTP greeting server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPlugins as checks } from '../../lib/checks/index.js';
import type { AnyPlugin, CheckDeps, Target } from '../../lib/checks/types.js';
import { createDnsClient, type DnsClient } from '../../lib/net/dns/client.js';
import type { Config } from '../../lib/config/normalize.js';
import { silentLogger } from '../../lib/log.js';
import type { CheckResult, DnsblResult, DnsblValue } from '../../lib/model.js';
import { configFrom } from '../helpers/collector-config.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startHttpServer, type TestHttpServer } from '../helpers/http-server.js';
import { freePort } from '../helpers/net.js';
import { ANSWERS_MS, SILENT_MS } from '../helpers/timeouts.js';
import { startSmtpGreeting, type SmtpGreeting } from '../helpers/smtp-greeting.js';

const at = new Date('2024-05-01T10:00:00Z');
const mtaA = '127.1.0.10';
const mtaB = '127.1.0.11';

let dns: TestDnsServer;
let silentDns: TestDnsServer;
let http: TestHttpServer;
let greetA: SmtpGreeting;
let greetB: SmtpGreeting;
let mute: SmtpGreeting;
const clients: DnsClient[] = [];

beforeAll(async () => {
  dns = await startDnsServer();
  for (const z of ['bl.test', 'score.test']) dns.testPoints(z, { ipv6: true });
  dns.list('bl.test', mtaA, ['127.0.0.2'], 'listed for tests');
  dns.list('score.test', mtaA, ['127.0.4.85']);
  dns.set('mx1.example.test', { A: [mtaA, mtaB], AAAA: ['::1'] });
  dns.set('10.0.1.127.in-addr.arpa', { PTR: ['mx1.example.test'] });

  // Every name fails by silence here: a peer that never answers.
  silentDns = await startDnsServer();
  for (const top of ['test', 'arpa']) silentDns.fail(top, 'drop');

  http = await startHttpServer({
    '/snds/data.aspx': { body: `${mtaA},4/30/2024 12:00 AM,4/30/2024 11:59 PM,1,1,1,GREEN,< 0.1%,,,,,,\r\n` },
    '/snds/ipStatus.aspx': { body: '' },
    '/rep': { body: JSON.stringify({ r: 'ok' }) },
    '/never/snds/data.aspx': { hang: true },
    '/never/snds/ipStatus.aspx': { hang: true },
    '/never/rep': { hang: true },
  });
  greetA = await startSmtpGreeting({ host: mtaA, banner: '220 mx1.example.test ESMTP' });
  greetB = await startSmtpGreeting({ host: mtaB, port: greetA.port, banner: '220 other.example.test ESMTP' });
  mute = await startSmtpGreeting({ host: '127.1.0.12', banner: null });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all([dns.close(), silentDns.close(), http.close(), greetA.close(), greetB.close(), mute.close()]);
});

/** `silent`: the peers never answer, so the test waits for short timeouts; else they answer. */
function configFor(o: { dnsAddress: string; httpBase: string; smtpPort: number; silent?: boolean }): Config {
  const t = o.silent ? SILENT_MS : ANSWERS_MS;
  return configFrom({
    dns: { servers: [o.dnsAddress], timeout_ms: t, tries: 1, concurrency: 16 },
    rbls: [{ zone: 'bl.test', ipv6: true }],
    senderscore_zone: 'score.test',
    snds_key: 'contract-key-123',
    snds_url: `${o.httpBase}snds/`,
    snds_ip_status: true,
    snds_timeout_ms: t,
    dns_match: true,
    smtp_banner_port: o.smtpPort,
    smtp_banner_timeout_ms: t,
    http_reputation: { url: `${o.httpBase}rep?ip={ip}`, json_path: 'r', verdicts: { good: ['ok'] }, timeout_ms: t },
    mta_map: { mx1: { fqdn: 'mx1.example.test' } },
  });
}

function depsFor(config: Config): CheckDeps {
  const client = createDnsClient(config);
  clients.push(client);
  return { config, log: silentLogger, now: () => at, dns: client, fetch };
}

function targetsFor(config: Config, ips: string[]): Target[] {
  return ips.map((ip) => ({ ip, family: ip.includes(':') ? 6 : 4, host: config.hosts[0]! }));
}

const isoTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

/** Every check gives one CheckResult per target; DNSBL's value holds one verdict per zone. */
function assertWellFormed(check: AnyPlugin, result: unknown): void {
  if (check.name === 'dnsbl' && (result as CheckResult<DnsblValue>).status === 'ok') {
    const zones = (result as CheckResult<DnsblValue>).value?.zones;
    expect(Array.isArray(zones)).toBe(true);
    for (const r of zones!) {
      expect(['listed', 'not_listed', 'error', 'unknown']).toContain(r.state);
      expect(typeof r.zone).toBe('string');
      expect(r.at).toMatch(isoTime);
      expect(Array.isArray(r.codes) && Array.isArray(r.labels)).toBe(true);
      if (r.state === 'error' || r.state === 'unknown') expect(r.reason).toMatch(/\S/);
    }
    return;
  }
  const r = result as CheckResult<unknown>;
  expect(['ok', 'error', 'skipped']).toContain(r.status);
  expect(r.at).toMatch(isoTime);
  if (r.status === 'ok') expect(r.value).toBeDefined();
  else {
    expect(r.reason).toMatch(/\S/);
    expect(r.value).toBeUndefined();
  }
}

/** Failure texts of one target's result(s), for IPv4 targets every check must have something to say. */
function failures(check: AnyPlugin, result: unknown): string[] {
  if (check.name === 'dnsbl' && (result as CheckResult<DnsblValue>).status === 'ok') {
    return (result as CheckResult<DnsblValue>).value!.zones.filter((r) => r.state === 'error').map((r) => r.reason ?? '');
  }
  const r = result as CheckResult<unknown>;
  return r.status === 'error' ? [r.reason ?? ''] : [];
}

describe.each(checks.map((c) => [c.name, c] as const))('contract: %s check', (_name, check) => {
  it('is active with a full config and returns a well-formed result for every target', async () => {
    const config = configFor({ dnsAddress: dns.address, httpBase: http.url, smtpPort: greetA.port });
    expect(check.skipReason(config)).toBeNull();
    const targets = targetsFor(config, [mtaA, mtaB, '::1']);
    const res = await check.run(targets, depsFor(config));
    expect([...res.keys()].sort()).toEqual([mtaA, mtaB, '::1'].sort());
    for (const t of targets) assertWellFormed(check, res.get(t.ip));
    // At least one real answer came through: the suite is not passing on errors alone.
    const a = res.get(mtaA);
    if (check.name === 'dnsbl') expect((a as CheckResult<DnsblValue>).value!.zones[0]).toMatchObject({ zone: 'bl.test', state: 'listed' });
    else expect((a as CheckResult<unknown>).status).toBe('ok');
  });

  it('honours its timeout against peers that never answer: resolves with errors that say timeout', async () => {
    const config = configFor({ dnsAddress: silentDns.address, httpBase: `${http.url}never/`, smtpPort: mute.port, silent: true });
    const targets = targetsFor(config, ['127.1.0.12']);
    const res = await check.run(targets, depsFor(config));
    const r = res.get('127.1.0.12');
    assertWellFormed(check, r);
    const why = failures(check, r);
    expect(why.length).toBeGreaterThan(0);
    for (const w of why) expect(w).toMatch(/timeout|timed out/i);
  });

  it('reports failure as data, never a rejection, when nothing listens at all', async () => {
    const closed = await freePort();
    // A closed UDP port may look like silence to the resolver: short timeouts.
    const config = configFor({ dnsAddress: `127.0.0.1:${closed}`, httpBase: `http://127.0.0.1:${closed}/`, smtpPort: closed, silent: true });
    const targets = targetsFor(config, [mtaA, '::1']);
    const res = await check.run(targets, depsFor(config));
    for (const t of targets) assertWellFormed(check, res.get(t.ip));
    expect(failures(check, res.get(mtaA)).length).toBeGreaterThan(0);
  });
});

it('the check list holds every check exactly once', () => {
  expect(checks.map((c) => c.name)).toEqual(['dnsbl', 'senderscore', 'snds', 'dnsMatch', 'httpReputation']);
});
