import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { scoreFromAnswers, senderscorePlugin } from '../../lib/checks/senderscore.js';
import type { CheckDeps, Target } from '../../lib/checks/types.js';
import { createDnsClient, type DnsClient } from '../../lib/net/dns/client.js';
import { silentLogger } from '../../lib/log.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { configFrom } from '../helpers/collector-config.js';
import { ANSWERS_MS } from '../helpers/timeouts.js';

let server: TestDnsServer;
let dns: DnsClient;
const at = '2025-01-01T00:00:00.000Z';
const now = () => new Date(at);

beforeAll(async () => {
  server = await startDnsServer();
});
afterAll(async () => {
  dns?.close();
  await server.close();
});
beforeEach(() => server.reset());

function deps(extra: Record<string, unknown> = {}): CheckDeps {
  const config = configFrom({ dns: { servers: [server.address], timeout_ms: ANSWERS_MS, tries: 1 }, mta_map: ['mx.example.test'], ...extra });
  dns?.close();
  dns = createDnsClient(config);
  return { config, dns, log: silentLogger, now, fetch: globalThis.fetch };
}

const target = (d: CheckDeps, ip: string): Target => ({ ip, family: ip.includes(':') ? 6 : 4, host: d.config.hosts[0]! });

describe('senderscore answers (pure)', () => {
  it('reads 127.0.4.N as the score and rejects everything else', () => {
    expect(scoreFromAnswers(['127.0.4.87'], at)).toEqual({ status: 'ok', at, value: { score: 87 } });
    expect(scoreFromAnswers(['127.0.4.0'], at).value).toEqual({ score: 0 });
    expect(scoreFromAnswers(['127.255.255.255'], at)).toMatchObject({ status: 'error', reason: expect.stringMatching(/not registered with Validity/) });
    expect(scoreFromAnswers(['127.0.4.101'], at)).toMatchObject({ status: 'error', reason: expect.stringMatching(/127\.0\.4\.101/) });
    expect(scoreFromAnswers(['127.0.0.2'], at).status).toBe('error');
    expect(scoreFromAnswers(['127.0.4.50', '127.0.4.60'], at).status).toBe('error');
  });
});

describe('senderscore check against a loopback DNS server', () => {
  it('gives the score, no score on NXDOMAIN, errors for unregistered, odd answers and failures, and skips IPv6', async () => {
    const d = deps();
    server.list('score.senderscore.com', '192.0.2.1', ['127.0.4.93']);
    server.list('score.senderscore.com', '192.0.2.2', ['127.255.255.255']);
    server.list('score.senderscore.com', '192.0.2.3', ['10.0.0.1']);
    server.fail('4.2.0.192.score.senderscore.com', 'SERVFAIL');
    server.fail('5.2.0.192.score.senderscore.com', 'drop');
    const ips = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6', '2001:db8::1'];
    const res = await senderscorePlugin.run(ips.map((ip) => target(d, ip)), d);
    expect(res.get('192.0.2.1')).toEqual({ status: 'ok', at, value: { score: 93 } });
    expect(res.get('192.0.2.2')).toMatchObject({ status: 'error', reason: expect.stringMatching(/not registered/) });
    expect(res.get('192.0.2.3')).toMatchObject({ status: 'error', reason: expect.stringMatching(/unexpected answer 10\.0\.0\.1/) });
    expect(res.get('192.0.2.4')).toMatchObject({ status: 'error', reason: expect.stringMatching(/SERVFAIL/) });
    expect(res.get('192.0.2.5')).toMatchObject({ status: 'error', reason: expect.stringMatching(/timeout/) });
    expect(res.get('192.0.2.6')).toEqual({ status: 'ok', at, value: { score: null } });
    expect(res.get('2001:db8::1')).toMatchObject({ status: 'skipped' });
    expect(server.count((q) => q.name.split('.').length > 32)).toBe(0);
  });

  it('queries the configured zone and is skipped when it is false', async () => {
    const d = deps({ senderscore_zone: 'score.example.test' });
    server.list('score.example.test', '192.0.2.7', ['127.0.4.12']);
    expect((await senderscorePlugin.run([target(d, '192.0.2.7')], d)).get('192.0.2.7')?.value).toEqual({ score: 12 });
    expect(senderscorePlugin.skipReason(d.config)).toBeNull();
    expect(senderscorePlugin.skipReason(deps({ senderscore_zone: false }).config)).toMatch(/false/);
  });
});
