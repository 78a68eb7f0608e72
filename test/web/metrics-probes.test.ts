/**
 * GET /metrics for the round-trip probes: per probe domain the last round-trip time, the counts by
 * state over the window, failing and maintenance, and the round's own health. Records written
 * through the real stores as a round writes them (real Redis), the scrape parsed with a Prometheus
 * text-format parser. A domain never probed has its series from the start.
 */
import parsePrometheus, { type PromFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { domainStore } from '../../lib/probes/domains.js';
import { judgeDomain } from '../../lib/probes/judge.js';
import { probeStates, type ProbeRecord } from '../../lib/probes/model.js';
import { probeStore } from '../../lib/probes/store.js';
import { createApp } from '../../web/server.js';
import { limitsOfConfig } from '../../web/viewmodel/delivery.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, htpasswdLine, makeConfig, tempDir, writeHtpasswd } from './fixtures.js';

const now = new Date('2026-05-02T12:00:00Z');
const t = now.getTime();
let r: TestRedis;
const dir = tempDir();
const TOKEN = 'probe-scrape-token-0123456789';
let config: ReturnType<typeof makeConfig>;

beforeAll(async () => {
  r = await testRedis();
  config = makeConfig(
    dir,
    {
      metrics: { bearer_token: TOKEN },
      probes: { from: 'probes@mon.test', smtp: { host: '127.0.0.1' }, imap: { host: '127.0.0.1', user: 'p', password: 'imap-secret-x' } },
    },
    r.prefix,
  );
  writeHtpasswd(config, [htpasswdLine('admin', 'pw-metrics-1', 'bcrypt')]);
  const ds = domainStore(r.redis, r.prefix);
  await ds.import([
    { line: 1, customer: 'acme', customerName: 'Acme', address: 'probe@acme.test', domain: 'acme.test' },
    { line: 2, customer: 'beta', customerName: 'Beta', address: 'probe@beta.test', domain: 'beta.test' },
    { line: 3, customer: 'gamma', customerName: 'Gamma', address: 'probe@gamma.test', domain: 'gamma.test' },
    { line: 4, customer: 'delta', customerName: 'Delta', address: 'probe@delta.test', domain: 'delta.test' },
  ]);
  await ds.setMaintenance('delta.test', true, 'admin', now);
  const acme: ProbeRecord[] = [
    { token: 'mtp-a1', domain: 'acme.test', address: 'probe@acme.test', sentAt: t - 7_200_000, submittedAt: t - 7_199_000, returnedAt: t - 7_188_000, folder: 'INBOX', junk: false },
    { token: 'mtp-a2', domain: 'acme.test', address: 'probe@acme.test', sentAt: t - 3_600_000, submittedAt: t - 3_599_000, returnedAt: t - 3_593_500, folder: 'INBOX', junk: false },
    { token: 'mtp-a3', domain: 'acme.test', address: 'probe@acme.test', sentAt: t - 60_000, submittedAt: t - 59_000 },
  ];
  const beta: ProbeRecord[] = [
    { token: 'mtp-b1', domain: 'beta.test', address: 'probe@beta.test', sentAt: t - 7_200_000, bounce: { at: t - 7_000_000, status: '5.1.1', diagnostic: '550 user unknown' } },
    { token: 'mtp-b2', domain: 'beta.test', address: 'probe@beta.test', sentAt: t - 3_600_000, returnedAt: t - 3_500_000, folder: 'Junk', junk: true },
  ];
  const ps = probeStore(r.redis, r.prefix);
  await ps.save([...acme, ...beta]);
  const l = limitsOfConfig(config)!;
  await ps.writeSummaries([judgeDomain('acme.test', acme, t, t, l, false), judgeDomain('beta.test', beta, t, t, l, false)]);
  await ps.setState({
    lastGoodReadAt: t - 30_000,
    lastRound: { runId: 'r1', startedAt: new Date(t - 40_000).toISOString(), finishedAt: new Date(t - 20_000).toISOString(), status: 'ok', sent: 3, sendFailed: 0, matched: 2, bounced: 0, scanned: 5, failing: ['beta.test'], errors: [] },
  });
});
afterAll(async () => {
  await r.close();
});

async function scrape(): Promise<Map<string, PromFamily>> {
  const app = createApp({ config, redis: r.redis, log: silentLogger, now: () => now });
  const res = await app.request('/metrics', { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return new Map(parsePrometheus(await res.text()).map((f) => [f.name, f]));
}

function value(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = (families.get(name)?.metrics ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${hits.length} samples`);
  return hits[0] === undefined ? undefined : Number(hits[0].value);
}

describe('GET /metrics: probe domains', () => {
  it('last round-trip, counts by state over the window, failing, maintenance, as stored', async () => {
    const f = await scrape();
    const acme = { domain: 'acme.test', customer: 'acme' };
    expect(value(f, 'mtarep_probe_last_rtt_seconds', acme)).toBeNaN(); // the newest probe is still pending
    expect(value(f, 'mtarep_probe_last_sent_timestamp_seconds', acme)).toBe((t - 60_000) / 1000);
    expect(value(f, 'mtarep_probe_window_probes', { ...acme, state: 'on_time' })).toBe(2);
    expect(value(f, 'mtarep_probe_window_probes', { ...acme, state: 'pending' })).toBe(1);
    expect(value(f, 'mtarep_probe_window_probes', { ...acme, state: 'lost' })).toBe(0);
    expect(value(f, 'mtarep_probe_on_time_ratio', acme)).toBe(1);
    expect(value(f, 'mtarep_probe_failing', acme)).toBe(0);

    const beta = { domain: 'beta.test', customer: 'beta' };
    expect(value(f, 'mtarep_probe_window_probes', { ...beta, state: 'bounced' })).toBe(1);
    expect(value(f, 'mtarep_probe_window_probes', { ...beta, state: 'spam' })).toBe(1);
    expect(value(f, 'mtarep_probe_on_time_ratio', beta)).toBe(0);
    expect(value(f, 'mtarep_probe_last_rtt_seconds', beta)).toBe(100);
    expect(value(f, 'mtarep_probe_failing', beta)).toBe(1);

    expect(value(f, 'mtarep_probe_maintenance', { domain: 'delta.test' })).toBe(1);
    expect(value(f, 'mtarep_probe_failing', { domain: 'delta.test' })).toBe(0);
    expect(value(f, 'mtarep_probe_maintenance', acme)).toBe(0);

    expect(value(f, 'mtarep_probe_mailbox_last_read_timestamp_seconds')).toBe((t - 30_000) / 1000);
    expect(value(f, 'mtarep_probe_last_round_timestamp_seconds')).toBe((t - 20_000) / 1000);
    expect(value(f, 'mtarep_probe_last_round_status', { status: 'ok' })).toBe(1);
    expect(value(f, 'mtarep_probe_last_round_status', { status: 'failed' })).toBe(0);
  });

  it('a domain never probed has every series from the start: sent timestamp 0, no round-trip, zero counts', async () => {
    const f = await scrape();
    const gamma = { domain: 'gamma.test', customer: 'gamma' };
    expect(value(f, 'mtarep_probe_last_sent_timestamp_seconds', gamma)).toBe(0);
    expect(value(f, 'mtarep_probe_last_rtt_seconds', gamma)).toBeNaN();
    expect(value(f, 'mtarep_probe_on_time_ratio', gamma)).toBeNaN();
    expect(value(f, 'mtarep_probe_failing', gamma)).toBe(0);
    for (const state of probeStates) expect(value(f, 'mtarep_probe_window_probes', { ...gamma, state })).toBe(0);
  });

  it('without probes configured there are no per-domain series', async () => {
    const plain = makeConfig(dir, { metrics: { bearer_token: TOKEN } }, r.prefix);
    const app = createApp({ config: plain, redis: r.redis, log: silentLogger, now: () => now });
    const text = await (await app.request('/metrics', { headers: { Authorization: `Bearer ${TOKEN}` } })).text();
    expect(text).not.toMatch(/^mtarep_probe_failing\{/m);
    expect(text).toMatch(/^mtarep_last_run_timestamp_seconds 0$/m);
  });
});
