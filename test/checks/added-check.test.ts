/**
 * A per-IP check added from outside the built-in list: what issue 8 promises ("adding a check is one
 * new file plus one line in the list"). The check below exists only in this test: one CheckPlugin
 * object (what a file lib/checks/<name>.ts holds), added to the list of lib/checks/index.ts. That
 * list is given to the collector (CollectDeps.checks) and to the web app (WebDeps.plugins):
 * the run stores and counts it, and the overview, host page, API, severity, /metrics and the Influx
 * output show and judge it without any other code knowing its name.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatCollectInflux } from '../../collector/influx.js';
import { runCollect } from '../../collector/run.js';
import { checkPlugins } from '../../lib/checks/index.js';
import { apiString, checkCell, detailRow, failedReason, valueOf } from '../../lib/checks/common.js';
import type { CheckPlugin } from '../../lib/checks/types.js';
import { silentLogger } from '../../lib/log.js';
import type { IpRecord } from '../../lib/model.js';
import { createApp } from '../../web/server.js';
import { configFrom } from '../helpers/collector-config.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, blocksRecord, hostRecord, htpasswdLine, ipRecord, keys, makeConfig, NOW, runSummary, store, tempDir, writeHtpasswd, zone } from '../web/fixtures.js';

interface OddValue {
  flagged: boolean;
}

/** An IP whose last octet is odd is "flagged", a warning. The run is pure, no network (the judgement is what is under test, not a peer). */
const oddPlugin: CheckPlugin<OddValue> = {
  name: 'odd',
  label: 'Odd',
  skipReason: () => null,
  run: async (targets, deps) => {
    const at = deps.now().toISOString();
    return new Map(targets.map((t) => [t.ip, { status: 'ok' as const, at, value: { flagged: Number(t.ip.split('.').at(-1)) % 2 === 1 } }]));
  },
  value: z.looseObject({ flagged: z.boolean() }),
  judge: (r) => [...(valueOf(r)?.flagged ? [{ level: 'warning' as const, text: 'odd octet flagged' }] : []), ...failedReason('Odd', r)],
  issues: () => ({ open: [], undetermined: [] }),
  columns: () => [
    {
      key: 'odd',
      header: 'OddCol',
      order: 25,
      cell: (r) => checkCell(r, (v) => (v.flagged ? { text: 'odd-flagged', state: 'warn' } : { text: 'odd-clear', state: 'good' })),
      sort: (r) => (r?.value?.flagged ? 1 : 0),
    },
  ],
  detail: (r) => [detailRow('OddLine', r, (v) => (v.flagged ? 'odd-detail-flagged' : 'odd-detail-clear'))],
  api: (r) => ({ oddkey: apiString(r, (v) => (v.flagged ? 'flagged' : 'clear')) }),
  series: {
    help: { mtarep_odd_flagged: ['1 when the odd check flagged the IP', ['host', 'ip']] },
    samples: (r) => [{ name: 'mtarep_odd_flagged', value: r?.status === 'ok' ? Number(r.value?.flagged) : NaN }],
    influx: (r) => ({ fields: { odd_flagged: r?.status === 'ok' ? { int: Number(r.value?.flagged) } : undefined } }),
  },
  describe: () => 'Odd: test only',
};

let r: TestRedis;
let dns: TestDnsServer;
const dir = tempDir();

beforeAll(async () => {
  r = await testRedis();
  dns = await startDnsServer();
});
afterAll(async () => {
  await Promise.all([r.close(), dns.close()]);
});
beforeEach(async () => {
  await r.redis.flushdb();
});

describe('a per-IP check added by one plugin object and one list entry', () => {
  it('is run, stored and counted by the collector', async () => {
    const config = configFrom({
      dns: { servers: [dns.address], timeout_ms: 30_000, tries: 1 },
      mta_map: { mx: { fqdn: 'mx.example.test', ips: ['127.1.0.31', '127.1.0.32'] } },
    });
    const s = await runCollect({ config, redis: r.redis, log: silentLogger, now: () => NOW, checks: [...checkPlugins, oddPlugin], only: ['reputation'] });
    expect(s.checks['odd']).toEqual({ ok: 2, error: 0, skipped: 0 });
    const k = keys(config.redis.prefix);
    const rec = JSON.parse((await r.redis.get(k.ip('127.1.0.31')))!) as Record<string, unknown>;
    expect(rec['odd']).toMatchObject({ status: 'ok', value: { flagged: true } });
    expect(JSON.parse((await r.redis.get(k.ip('127.1.0.32')))!)['odd']).toMatchObject({ status: 'ok', value: { flagged: false } });
  });

  it('is shown on the overview, the host page and the API, and judged', async () => {
    const config = makeConfig(dir, {}, r.prefix);
    writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'bcrypt')]);
    const auth = basic('alice', 'pw-alice');
    const k = keys(r.prefix);
    const clean = { dnsbl: [zone('zen.spamhaus.org', 'not_listed')] };
    await store(r.redis, k, {
      hosts: [hostRecord('mta1', 'mta1.example.com', ['192.0.2.1'])],
      ips: [ipRecord('192.0.2.1', 'mta1', 'mta1.example.com', { ...clean, odd: { status: 'ok', at: NOW.toISOString(), value: { flagged: true } } })],
      blocks: [blocksRecord('mta1', [])],
    });
    const withOdd = createApp({ config, redis: r.redis, log: silentLogger, now: () => NOW, plugins: [...checkPlugins, oddPlugin] });
    const without = createApp({ config, redis: r.redis, log: silentLogger, now: () => NOW });

    const overview = await (await withOdd.request('/', { headers: auth })).text();
    expect(overview).toContain('OddCol');
    expect(overview).toContain('odd-flagged');
    expect(overview).toMatch(/<tr class="sev-warning">(?:(?!<\/tr>).)*mta1/s);
    // The same record without the plugin in the list: no column, and the row is clean.
    const plain = await (await without.request('/', { headers: auth })).text();
    expect(plain).not.toContain('OddCol');
    expect(plain).not.toMatch(/<tr class="sev-warning">(?:(?!<\/tr>).)*mta1/s);

    const host = await (await withOdd.request('/host/mta1', { headers: auth })).text();
    expect(host).toContain('OddLine');
    expect(host).toContain('odd-detail-flagged');

    const api = (await (await withOdd.request('/api/mta1.example.com', { headers: auth })).json()) as Record<string, unknown> & { ips: { severity: { level: string }; checks: Record<string, unknown> }[] };
    expect(api).toMatchObject({ oddkey: 'flagged', severity: 'warning' });
    expect(api.ips[0]!.severity.level).toBe('warning');
    expect(api.ips[0]!.checks['odd']).toMatchObject({ status: 'ok', value: { flagged: true } });

    const metrics = await (await withOdd.request('/metrics', { headers: auth })).text();
    expect(metrics).toContain('# HELP mtarep_odd_flagged 1 when the odd check flagged the IP');
    expect(metrics).toMatch(/^mtarep_odd_flagged\{host="mta1",ip="192\.0\.2\.1"\} 1$/m);
    expect(await (await without.request('/metrics', { headers: auth })).text()).not.toContain('mtarep_odd_flagged');

    const snap = { hosts: new Map([['mta1', undefined]]), ips: new Map(), blocks: new Map() };
    const rec = JSON.parse((await r.redis.get(k.ip('192.0.2.1')))!) as IpRecord;
    snap.ips.set('192.0.2.1', rec);
    const lines = formatCollectInflux({ config: { ...config, hosts: config.hosts.map((h) => ({ ...h, ips: ['192.0.2.1'] })) }, summary: runSummary(), ...snap, plugins: [...checkPlugins, oddPlugin] });
    expect(lines.find((l) => l.startsWith('mtarep_ip,'))).toMatch(/,odd_flagged=1i[, ]/);
  });
});
