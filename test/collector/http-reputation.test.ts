/** The optional HTTP JSON reputation check against a real HTTP server on loopback. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpReputationSettings, httpReputationPlugin, readJsonPath, verdictOf } from '../../lib/checks/http-reputation.js';
import type { CheckDeps, Target } from '../../lib/checks/types.js';
import { createDnsClient } from '../../lib/net/dns/client.js';
import { silentLogger } from '../../lib/log.js';
import { configFrom } from '../helpers/collector-config.js';
import { startHttpServer, type TestHttpServer } from '../helpers/http-server.js';
import { ANSWERS_MS, SILENT_MS } from '../helpers/timeouts.js';

const at = new Date('2024-05-01T10:00:00Z');
let http: TestHttpServer;
let inFlight = 0;
let maxInFlight = 0;

// Verdict per IP, looked up from the path the client asked for.
const verdicts: Record<string, unknown> = {
  '192.0.2.1': { data: { rep: 'Good' } },
  '192.0.2.2': { data: { rep: 'suspicious' } },
  '192.0.2.3': { data: { rep: 'spammer' } },
  '192.0.2.4': { data: { rep: 'whatever' } },
  '192.0.2.5': { data: {} },
  '192.0.2.6': { data: { rep: { nested: true } } },
  '192.0.2.7': { data: { rep: 42 } },
  '2001:db8::1': { data: { rep: 'good' } },
};

beforeAll(async () => {
  http = await startHttpServer();
  http.route('/rep', { body: (u) => JSON.stringify(verdicts[u.searchParams.get('ip') ?? ''] ?? null) });
  http.route('/html', { body: '<html>login</html>' });
  http.route('/fail', { status: 502, body: 'bad gateway' });
  http.route('/hang', { hang: true });
  http.route('/slow', { delayMs: 30, body: (u) => JSON.stringify(verdicts[u.searchParams.get('ip') ?? ''] ?? null) });
});
afterAll(async () => {
  await http.close();
});

function setup(path: string, extra: Record<string, unknown> = {}) {
  const config = configFrom({
    mta_map: { mx1: { fqdn: 'mx1.example.com', ips: ['192.0.2.1'] } },
    http_reputation: {
      name: 'RepCheck',
      url: `${http.url}${path}?ip={ip}`,
      json_path: 'data.rep',
      verdicts: { good: ['good'], neutral: ['suspicious'], bad: ['spammer', '42'] },
      timeout_ms: ANSWERS_MS,
      ...extra,
    },
  });
  const host = config.hosts[0]!;
  const deps: CheckDeps = { config, log: silentLogger, now: () => at, dns: createDnsClient(config), fetch };
  const targets = (ips: string[]): Target[] => ips.map((ip) => ({ ip, family: ip.includes(':') ? 6 : 4, host }));
  return { config, deps, targets };
}

describe('http reputation check', () => {
  it('maps the value at the JSON path to a verdict for each IP (IPv6 too)', async () => {
    const { deps, targets } = setup('rep');
    const res = await httpReputationPlugin.run(targets(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.7', '2001:db8::1']), deps);
    expect(Object.fromEntries([...res].map(([ip, r]) => [ip, r.status === 'ok' ? [r.value?.verdict, r.value?.raw] : r.reason]))).toEqual({
      '192.0.2.1': ['good', 'Good'],
      '192.0.2.2': ['neutral', 'suspicious'],
      '192.0.2.3': ['bad', 'spammer'],
      '192.0.2.4': ['unknown', 'whatever'],
      '192.0.2.7': ['bad', '42'],
      '2001:db8::1': ['good', 'good'],
    });
    expect(http.requests.some((u) => u.searchParams.get('ip') === '2001:db8::1')).toBe(true);
  });

  it('a missing path, an object, HTML, an HTTP error and a timeout are errors with reasons', async () => {
    const rep = setup('rep');
    const res = await httpReputationPlugin.run(rep.targets(['192.0.2.5', '192.0.2.6', '192.0.2.99']), rep.deps);
    expect(res.get('192.0.2.5')).toMatchObject({ status: 'error', reason: 'RepCheck: JSON path data.rep: no "rep"' });
    expect(res.get('192.0.2.6')).toMatchObject({ status: 'error', reason: 'RepCheck: JSON path data.rep is an object, not a value' });
    expect(res.get('192.0.2.99')).toMatchObject({ status: 'error', reason: 'RepCheck: JSON path data.rep: no "data" (not an object)' });
    for (const [path, reason] of [
      ['html', 'RepCheck answered an HTML page'],
      ['fail', 'RepCheck answered HTTP 502 Bad Gateway'],
      ['hang', 'RepCheck: timeout after 0.3 s'],
    ] as const) {
      const s = setup(path, path === 'hang' ? { timeout_ms: SILENT_MS } : {});
      const r = await httpReputationPlugin.run(s.targets(['192.0.2.1']), s.deps);
      expect(r.get('192.0.2.1')).toEqual({ status: 'error', at: at.toISOString(), reason });
    }
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const counting = await startHttpServer();
    counting.route('/c', { body: JSON.stringify({ data: { rep: 'good' } }), delayMs: 20 });
    const s = setup('rep', { concurrency: 3 });
    const lookup = httpReputationSettings(s.deps.config).lookup!;
    const cfg = { ...s.deps.config, checks: { ...s.deps.config.checks, httpReputation: { lookup: { ...lookup, url: `${counting.url}c?ip={ip}` } } } };
    const countingFetch: typeof fetch = async (input, init) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        return await fetch(input, init);
      } finally {
        inFlight--;
      }
    };
    const ips = Array.from({ length: 12 }, (_, i) => `192.0.2.${i + 1}`);
    const res = await httpReputationPlugin.run(s.targets(ips), { ...s.deps, config: cfg, fetch: countingFetch });
    await counting.close();
    expect([...res.values()].every((r) => r.status === 'ok')).toBe(true);
    expect(counting.requests).toHaveLength(12);
    expect(maxInFlight).toBe(3);
  });

  it('is skipped when not configured', () => {
    expect(httpReputationPlugin.skipReason(configFrom({}))).toBe('http_reputation is not configured');
    expect(httpReputationPlugin.skipReason(setup('rep').config)).toBeNull();
  });
});

describe('readJsonPath / verdictOf', () => {
  it('follows objects and array indexes', () => {
    expect(readJsonPath({ a: [{ b: 'x' }] }, 'a.0.b')).toBe('x');
    expect(() => readJsonPath({ a: [] }, 'a.0')).toThrow(/no element "0"/);
    expect(() => readJsonPath({ a: 1 }, 'a.b')).toThrow(/not an object/);
    expect(readJsonPath({ a: null }, 'a')).toBeNull();
  });
  it('compares verdicts case-insensitively; bad wins over good on overlap', () => {
    const v = { good: ['OK'], neutral: [], bad: ['ok '] };
    expect(verdictOf(' ok', v)).toBe('bad');
    expect(verdictOf('nope', v)).toBe('unknown');
  });
});
