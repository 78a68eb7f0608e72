import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dnsMatchPlugin } from '../../lib/checks/dns-match.js';
import type { CheckDeps, Target } from '../../lib/checks/types.js';
import { createDnsClient, type DnsClient } from '../../lib/net/dns/client.js';
import { parseGreeting, readSmtpBanner, SmtpBannerError } from '../../lib/net/smtp-banner.js';
import { silentLogger } from '../../lib/log.js';
import type { Config } from '../../lib/config/normalize.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startSmtpGreeting, type SmtpGreeting } from '../helpers/smtp-greeting.js';
import { configFrom } from '../helpers/collector-config.js';
import { ANSWERS_MS, SILENT_MS } from '../helpers/timeouts.js';

let server: TestDnsServer;
const greeters: SmtpGreeting[] = [];
let port: number;
const dnsClients: DnsClient[] = [];
const at = '2025-01-01T00:00:00.000Z';

// Each test MTA has its own loopback address; all greeters share one port (smtp_banner_port).
const mta = { good: '127.1.0.10', badHelo: '127.1.0.11', multi: '127.1.0.12', silent: '127.1.0.13', refusing: '127.1.0.14', none: '127.1.0.15' };

beforeAll(async () => {
  server = await startDnsServer();
  const first = await startSmtpGreeting({ host: mta.good, banner: '220 mx1.example.test ESMTP Postfix' });
  port = first.port;
  greeters.push(
    first,
    await startSmtpGreeting({ host: mta.badHelo, port, banner: '220 localhost.localdomain ESMTP' }),
    await startSmtpGreeting({ host: mta.multi, port, banner: ['220-MX3.Example.Test ESMTP welcome', '220-no UCE', '220 ready'] }),
    await startSmtpGreeting({ host: mta.silent, port, banner: null }),
    await startSmtpGreeting({ host: mta.refusing, port, banner: '554 5.7.1 no service for you' }),
  );
});
afterAll(async () => {
  for (const c of dnsClients) c.close();
  for (const g of greeters) await g.close();
  await server.close();
});
beforeEach(() => server.reset());

function setup(mtaMap: Record<string, unknown>, extra: Record<string, unknown> = {}): { config: Config; deps: CheckDeps } {
  const config = configFrom({
    dns: { servers: [server.address], timeout_ms: ANSWERS_MS, tries: 1 },
    smtp_banner_port: port,
    smtp_banner_timeout_ms: ANSWERS_MS,
    mta_map: mtaMap,
    ...extra,
  });
  const dns = createDnsClient(config);
  dnsClients.push(dns);
  return { config, deps: { config, dns, log: silentLogger, now: () => new Date(at), fetch: globalThis.fetch } };
}

const targetsOf = (config: Config): Target[] =>
  config.hosts.flatMap((h) => (h.ips ?? []).map((ip) => ({ ip, family: ip.includes(':') ? (6 as const) : (4 as const), host: h })));

describe('SMTP greeting parser', () => {
  it('reads single and multi-line greetings', () => {
    expect(parseGreeting('220 mx.example.test ESMTP\r\n')).toEqual({ code: 220, lines: ['mx.example.test ESMTP'], hostname: 'mx.example.test' });
    expect(parseGreeting('220-a.example.test hi\r\n220-more\r\n')).toBeNull();
    expect(parseGreeting('220-a.example.test hi\r\n220-more\r\n220 end\r\n')?.hostname).toBe('a.example.test');
    expect(parseGreeting('220 mx')).toBeNull();
    expect(parseGreeting('220\r\n')).toEqual({ code: 220, lines: [''], hostname: null });
  });
  it('rejects what is not SMTP', () => {
    expect(() => parseGreeting('HTTP/1.1 400 Bad Request\r\n')).toThrow(SmtpBannerError);
    expect(() => parseGreeting('220-a\r\n250 b\r\n')).toThrow(/inconsistent/);
  });
});

describe('readSmtpBanner against real sockets', () => {
  it('reads the greeting and sends QUIT', async () => {
    const g = await readSmtpBanner(mta.good, { port, timeoutMs: ANSWERS_MS });
    expect(g.hostname).toBe('mx1.example.test');
    // The QUIT reaches the server after readSmtpBanner resolved: wait for it, bounded.
    await expect.poll(() => greeters[0]!.received, { timeout: ANSWERS_MS }).toContain('QUIT');
  });
  it('fails with a kind: silence is a timeout, 554 a protocol error, no listener a connect error', async () => {
    const kind = (p: Promise<unknown>) => p.then(() => 'ok', (e: SmtpBannerError) => e.kind);
    expect(await kind(readSmtpBanner(mta.silent, { port, timeoutMs: SILENT_MS }))).toBe('timeout');
    expect(await kind(readSmtpBanner(mta.refusing, { port, timeoutMs: ANSWERS_MS }))).toBe('protocol');
    expect(await kind(readSmtpBanner(mta.none, { port, timeoutMs: ANSWERS_MS }))).toBe('connect');
  });
});

describe('dnsMatch check', () => {
  it('reports rdns, fdns and helo separately', async () => {
    server.set('mx1.example.test', { A: [mta.good] });
    server.set('10.0.1.127.in-addr.arpa', { PTR: ['mx1.example.test'] });
    server.set('mx2.example.test', { A: ['127.1.0.99'] });
    server.set('11.0.1.127.in-addr.arpa', { PTR: ['other.example.test'] });
    server.set('mx3.example.test', { A: [mta.multi] });
    server.set('12.0.1.127.in-addr.arpa', { PTR: ['mx3.example.test.'] });
    const { config, deps } = setup({
      mx1: { fqdn: 'mx1.example.test', ips: [mta.good] },
      mx2: { fqdn: 'mx2.example.test', ips: [mta.badHelo] },
      mx3: { fqdn: 'mx3.example.test', ips: [mta.multi] },
    });
    const res = await dnsMatchPlugin.run(targetsOf(config), deps);
    expect(res.get(mta.good)).toEqual({
      status: 'ok',
      at,
      value: {
        rdns: { state: 'match', found: ['mx1.example.test'] },
        fdns: { state: 'match', found: [mta.good] },
        helo: { state: 'match', found: ['mx1.example.test'] },
      },
    });
    const bad = res.get(mta.badHelo)!.value!;
    expect(bad.rdns).toMatchObject({ state: 'mismatch', found: ['other.example.test'] });
    expect(bad.fdns).toMatchObject({ state: 'mismatch', found: ['127.1.0.99'], reason: expect.stringMatching(/does not include/) });
    expect(bad.helo).toMatchObject({ state: 'mismatch', found: ['localhost.localdomain'] });
    // Multi-line greeting, mixed case, trailing dot on the PTR.
    expect(res.get(mta.multi)!.value).toMatchObject({ rdns: { state: 'match' }, fdns: { state: 'match' }, helo: { state: 'match' } });
  });

  it('keeps failures apart from mismatches: no PTR is a mismatch, SERVFAIL and a silent MTA are errors', async () => {
    server.set('mx4.example.test', { A: [mta.silent] });
    server.fail('13.0.1.127.in-addr.arpa', 'SERVFAIL');
    // The silent MTA makes this test wait for the banner timeout: a short one here.
    const { config, deps } = setup(
      {
        mx4: { fqdn: 'mx4.example.test', ips: [mta.silent] },
        mx5: { fqdn: 'mx5.example.test', ips: [mta.refusing] },
      },
      { smtp_banner_timeout_ms: SILENT_MS },
    );
    const res = await dnsMatchPlugin.run(targetsOf(config), deps);
    const silent = res.get(mta.silent)!.value!;
    expect(silent.rdns).toMatchObject({ state: 'error', reason: expect.stringMatching(/SERVFAIL/) });
    expect(silent.fdns.state).toBe('match');
    expect(silent.helo).toMatchObject({ state: 'error', reason: expect.stringMatching(/within 300 ms/) });
    const refusing = res.get(mta.refusing)!.value!;
    expect(refusing.rdns).toMatchObject({ state: 'mismatch', reason: expect.stringMatching(/no PTR/) });
    expect(refusing.fdns).toMatchObject({ state: 'mismatch', reason: expect.stringMatching(/no A record/) });
    expect(refusing.helo).toMatchObject({ state: 'error', reason: expect.stringMatching(/554/) });
  });

  it('is an error result when every part failed, and skipped with dns_match: false', async () => {
    server.fail('example.test', 'SERVFAIL');
    server.fail('in-addr.arpa', 'SERVFAIL');
    const { config, deps } = setup({ mx6: { fqdn: 'mx6.example.test', ips: [mta.none] } });
    const res = await dnsMatchPlugin.run(targetsOf(config), deps);
    expect(res.get(mta.none)).toMatchObject({ status: 'error', reason: expect.stringMatching(/PTR.*SERVFAIL.*cannot connect/) });
    const off = setup({ mx6: { fqdn: 'mx6.example.test', ips: [mta.none] } }, { dns_match: false });
    expect(dnsMatchPlugin.skipReason(off.config)).toMatch(/dns_match/);
    expect((await dnsMatchPlugin.run(targetsOf(off.config), off.deps)).get(mta.none)?.status).toBe('skipped');
  });
});
