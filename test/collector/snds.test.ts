/** The SNDS check against a real HTTP server on loopback serving CSV and the broken answers SNDS gives. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sndsSettings, sndsPlugin } from '../../lib/checks/snds.js';
import type { CheckDeps, Target } from '../../lib/checks/types.js';
import { createDnsClient } from '../../lib/net/dns/client.js';
import { silentLogger } from '../../lib/log.js';
import type { Config } from '../../lib/config/normalize.js';
import { configFrom } from '../helpers/collector-config.js';
import { startHttpServer, type TestHttpServer } from '../helpers/http-server.js';
import { ANSWERS_MS, SILENT_MS } from '../helpers/timeouts.js';

const key = 'SeCrEtKey1234567890';
const at = new Date('2024-05-01T10:00:00Z');

let http: TestHttpServer;
beforeAll(async () => {
  http = await startHttpServer();
});
afterAll(async () => {
  await http.close();
});
beforeEach(() => {
  http.requests.length = 0;
  http.route('/snds/ipStatus.aspx', { body: '' });
});

function setup(extra: Record<string, unknown> = {}) {
  const config = configFrom({
    snds_key: key,
    snds_url: `${http.url}snds/`,
    snds_timeout_ms: ANSWERS_MS,
    mta_map: { mx1: { fqdn: 'mx1.example.com', ips: ['192.0.2.10', '192.0.2.11', '2001:db8::10'] } },
    ...extra,
  });
  const host = config.hosts[0]!;
  const targets: Target[] = [
    { ip: '192.0.2.10', family: 4, host },
    { ip: '192.0.2.11', family: 4, host },
    { ip: '2001:db8::10', family: 6, host },
  ];
  const deps: CheckDeps = { config, log: silentLogger, now: () => at, dns: createDnsClient(config), fetch };
  return { config, targets, deps };
}

const row = (ip: string, color: string, traps: string, end = '4/30/2024 11:59 PM') =>
  `${ip},4/30/2024 12:00 AM,${end},120,118,130,${color},< 0.1%,${traps ? '4/30/2024 1:00 AM' : ''},${traps ? '4/30/2024 2:00 PM' : ''},${traps},mx1.example.com,bounce@example.com,`;

function noKeyAnywhere(config: Config, results: Map<string, unknown>) {
  expect(JSON.stringify([...results])).not.toContain(sndsSettings(config).key!);
}

describe('snds check', () => {
  it('fetches data.aspx once with the key and gives each IPv4 its row; IPv6 skipped', async () => {
    http.route('/snds/data.aspx', { body: [row('192.0.2.10', 'YELLOW', '12'), row('198.51.100.1', 'RED', '')].join('\r\n') + '\r\n' });
    const { targets, deps, config } = setup();
    const res = await sndsPlugin.run(targets, deps);
    expect(http.requests.map((u) => u.pathname)).toEqual(['/snds/data.aspx']);
    expect(http.requests[0]!.searchParams.get('key')).toBe(key);
    expect(res.get('192.0.2.10')).toEqual({
      status: 'ok',
      at: at.toISOString(),
      value: {
        blocked: null,
        data: {
          color: 'yellow',
          traps: 12,
          complaintRate: '< 0.1%',
          rcptCommands: 120,
          dataCommands: 118,
          recipients: 130,
          periodStart: '4/30/2024 12:00 AM',
          periodEnd: '4/30/2024 11:59 PM',
          trapPeriodStart: '4/30/2024 1:00 AM',
          trapPeriodEnd: '4/30/2024 2:00 PM',
          heloSample: 'mx1.example.com',
          mailFromSample: 'bounce@example.com',
        },
      },
    });
    // No row for a quiet IP: ok with no data, not an error and not green.
    expect(res.get('192.0.2.11')).toEqual({ status: 'ok', at: at.toISOString(), value: { data: null, blocked: null } });
    expect(res.get('2001:db8::10')).toMatchObject({ status: 'skipped', reason: 'SNDS has no IPv6 data' });
    noKeyAnywhere(config, res);
  });

  it('keeps the newest period when an IP has several rows', async () => {
    http.route('/snds/data.aspx', {
      body: [row('192.0.2.10', 'GREEN', '', '4/30/2024 11:59 PM'), row('192.0.2.10', 'RED', '', '4/29/2024 11:59 PM')].join('\r\n'),
    });
    const { targets, deps } = setup();
    const res = await sndsPlugin.run(targets, deps);
    expect(res.get('192.0.2.10')?.value?.data?.color).toBe('green');
  });

  it('matches blocked ranges from ipStatus.aspx when snds_ip_status is on', async () => {
    http.route('/snds/data.aspx', { body: row('192.0.2.10', 'GREEN', '') });
    http.route('/snds/ipStatus.aspx', { body: '192.0.2.8,192.0.2.10,Yes,Blocked due to user complaints\r\n' });
    const { targets, deps } = setup({ snds_ip_status: true });
    const res = await sndsPlugin.run(targets, deps);
    expect(http.requests.map((u) => u.pathname).sort()).toEqual(['/snds/data.aspx', '/snds/ipStatus.aspx']);
    expect(res.get('192.0.2.10')?.value?.blocked).toEqual({ blocked: true, reason: 'Blocked due to user complaints (range 192.0.2.8-192.0.2.10)' });
    expect(res.get('192.0.2.11')?.value?.blocked).toEqual({ blocked: false });
  });

  const failures: [string, Parameters<TestHttpServer['route']>[1], RegExp][] = [
    ['an HTML login page', { body: '<!DOCTYPE html><html><title>Sign in</title></html>', headers: { 'content-type': 'text/html' } }, /HTML page instead of CSV \("Sign in"\)/],
    ['an empty body', { body: '' }, /empty: no data published for the previous day yet/],
    ['HTTP 500', { status: 500, body: 'oops' }, /SNDS data\.aspx answered HTTP 500/],
    ['a peer that never answers', { hang: true }, /SNDS data\.aspx: timeout after 0\.3 s/],
    ['a body that stalls half way', { body: row('192.0.2.10', 'GREEN', '').repeat(20), stallBody: true }, /timeout after 0\.3 s/],
    ['a malformed row without an IP', { body: row('192.0.2.10', 'GREEN', '') + '\r\nnot,a,row' }, /line 2 is malformed: expected 14 columns, found 3/],
  ];
  for (const [what, response, reason] of failures) {
    it(`reports ${what} as an error for every IPv4 target, with the reason and without the key`, async () => {
      http.route('/snds/data.aspx', response);
      // Only the two silent peers get a short timeout: the test waits for it.
      const { targets, deps, config } = setup(response.hang || response.stallBody ? { snds_timeout_ms: SILENT_MS } : {});
      const res = await sndsPlugin.run(targets, deps);
      for (const ip of ['192.0.2.10', '192.0.2.11']) {
        expect(res.get(ip)).toMatchObject({ status: 'error', reason: expect.stringMatching(reason) });
        expect(res.get(ip)?.value).toBeUndefined();
      }
      expect(res.get('2001:db8::10')?.status).toBe('skipped');
      noKeyAnywhere(config, res);
    });
  }

  it('a malformed row of one IP is an error for that IP only', async () => {
    http.route('/snds/data.aspx', {
      body: [row('192.0.2.10', 'GREEN', ''), '192.0.2.11,4/30/2024 12:00 AM,4/30/2024 11:59 PM,1,1,1,PURPLE,< 0.1%,,,,,,'].join('\r\n'),
    });
    const { targets, deps } = setup();
    const res = await sndsPlugin.run(targets, deps);
    expect(res.get('192.0.2.10')?.status).toBe('ok');
    expect(res.get('192.0.2.11')).toMatchObject({ status: 'error', reason: expect.stringMatching(/line 2 for this IP is malformed: filter result "PURPLE"/) });
  });

  it('an IP status failure is an error too (never "not blocked")', async () => {
    http.route('/snds/data.aspx', { body: row('192.0.2.10', 'GREEN', '') });
    http.route('/snds/ipStatus.aspx', { status: 503, body: '' });
    const { targets, deps } = setup({ snds_ip_status: true });
    const res = await sndsPlugin.run(targets, deps);
    expect(res.get('192.0.2.10')).toMatchObject({ status: 'error', reason: 'IP status: SNDS ipStatus.aspx answered HTTP 503 Service Unavailable' });
  });

  it('a refused connection is an error naming the cause, not the URL', async () => {
    const { targets, deps, config } = setup();
    const closed = await startHttpServer();
    const url = closed.url;
    await closed.close();
    const res = await sndsPlugin.run(targets, { ...deps, config: { ...config, checks: { ...config.checks, snds: { ...sndsSettings(config), url: `${url}snds/` } } } });
    expect(res.get('192.0.2.10')).toMatchObject({ status: 'error', reason: 'SNDS data.aspx: ECONNREFUSED' });
  });

  it('is skipped without a key', () => {
    const { config } = setup();
    expect(sndsPlugin.skipReason(config)).toBeNull();
    expect(sndsPlugin.skipReason(configFrom({}))).toBe('no snds_key configured');
  });
});
