/**
 * GET /api/probes, /api/probes/<domain>, /api/probes/<domain>/stats with the shapes: records
 * written through the real stores (as a round writes them), the app called without a socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { domainStore } from '../../lib/probes/domains.js';
import { dayStats, judgeDomain } from '../../lib/probes/judge.js';
import type { ProbeRecord } from '../../lib/probes/model.js';
import { probeStore } from '../../lib/probes/store.js';
import { limitsOfConfig } from '../../web/viewmodel/delivery.js';
import { createApp } from '../../web/server.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, makeConfig, tempDir, writeHtpasswd, htpasswdLine } from './fixtures.js';

const now = new Date('2026-05-02T12:00:00Z');
const t = now.getTime();
let r: TestRedis;
const dir = tempDir();
const config = makeConfig(dir, {
  probes: { from: 'probes@mon.test', smtp: { host: '127.0.0.1' }, imap: { host: '127.0.0.1', user: 'p', password: 'imap-secret-x' } },
});
const auth = basic('admin', 'pw-for-api-1');

beforeAll(async () => {
  r = await testRedis();
  writeHtpasswd(config, [htpasswdLine('admin', 'pw-for-api-1', 'bcrypt')]);
  const ds = domainStore(r.redis, 'mtarep:');
  await ds.import([
    { line: 1, customer: 'acme', customerName: 'Acme', address: 'probe@acme.test', domain: 'acme.test' },
    { line: 2, customer: 'beta', customerName: 'Beta', address: 'probe@beta.test', domain: 'beta.test' },
  ]);
  const recs: ProbeRecord[] = [
    { token: 'mtp-a1', domain: 'acme.test', address: 'probe@acme.test', sentAt: t - 3_600_000, submittedAt: t - 3_599_000, smtp: '250 ok', returnedAt: t - 3_590_000, folder: 'INBOX', junk: false },
    { token: 'mtp-a2', domain: 'acme.test', address: 'probe@acme.test', sentAt: t - 60_000, submittedAt: t - 59_000, smtp: '250 ok' },
    { token: 'mtp-b1', domain: 'beta.test', address: 'probe@beta.test', sentAt: t - 7_200_000, submittedAt: t - 7_199_000, bounce: { at: t - 7_000_000, status: '5.1.1', diagnostic: '550 user unknown' } },
  ];
  const ps = probeStore(r.redis, 'mtarep:');
  await ps.save(recs);
  const l = limitsOfConfig(config)!;
  await ps.writeSummaries([
    judgeDomain('acme.test', recs.slice(0, 2), t, t, l, false),
    judgeDomain('beta.test', recs.slice(2), t, t, l, false),
  ]);
  await ps.writeStats(new Map([['acme.test', dayStats(recs.slice(0, 2), t, t, l)]]), '2000-01-01');
  await ps.setState({ lastGoodReadAt: t });
});
afterAll(async () => {
  await r.close();
});

const app = () => createApp({ config, redis: r.redis, log: silentLogger, now: () => now });

describe('probe API', () => {
  it('GET /api/probes: every domain with counts and the last probe, failing first', async () => {
    const res = await app().request('/api/probes', { headers: auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { domains: Record<string, unknown>[] };
    expect(body.domains.map((d) => [d['domain'], d['failing']])).toEqual([
      ['beta.test', true],
      ['acme.test', false],
    ]);
    expect(body.domains[1]).toMatchObject({
      domain: 'acme.test',
      address: 'probe@acme.test',
      customer: 'acme',
      maintenance: false,
      counts: { pending: 1, on_time: 1, late: 0, overdue: 0, lost: 0, bounced: 0, spam: 0, send_failed: 0 },
      last: { state: 'pending', sent_at: '2026-05-02T11:59:00.000Z', returned_at: null, rtt_s: null },
      // The last probe is out: the newest that came back.
      last_back: { state: 'on_time', sent_at: '2026-05-02T11:00:00.000Z', rtt_s: 10 },
    });
    expect(body.domains[0]).toMatchObject({ domain: 'beta.test', last_back: null });
    expect((await app().request('/api/probes')).status).toBe(401);
  });

  it('GET /api/probes/<domain>: recent probes newest first; JSON 404 for an unknown domain', async () => {
    const res = await app().request('/api/probes/acme.test', { headers: auth });
    const body = (await res.json()) as { probes: Record<string, unknown>[] };
    expect(body.probes).toEqual([
      { token: 'mtp-a2', state: 'pending', sent_at: '2026-05-02T11:59:00.000Z', returned_at: null, rtt_s: null, folder: null, reason: null, smtp: '250 ok', provider: null },
      { token: 'mtp-a1', state: 'on_time', sent_at: '2026-05-02T11:00:00.000Z', returned_at: '2026-05-02T11:00:10.000Z', rtt_s: 10, folder: 'INBOX', reason: null, smtp: '250 ok', provider: null },
    ]);
    const b = (await (await app().request('/api/probes/beta.test', { headers: auth })).json()) as { probes: { state: string; reason: string }[] };
    expect(b.probes[0]).toMatchObject({ state: 'bounced', reason: '5.1.1 550 user unknown' });
    const missing = await app().request('/api/probes/nope.test', { headers: auth });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'unknown domain', domain: 'nope.test' });
  });

  it('GET /api/probes/<domain>/stats?from=&to=: daily stats; bad dates are 400', async () => {
    const res = await app().request('/api/probes/acme.test/stats?from=2026-05-01&to=2026-05-31', { headers: auth });
    expect(await res.json()).toEqual({
      days: [{ date: '2026-05-02', on_time: 1, late: 0, failed: 0, total: 2, min_s: 10, max_s: 10, avg_s: 10, all_done: false }],
    });
    expect(await (await app().request('/api/probes/acme.test/stats?to=2026-05-01', { headers: auth })).json()).toEqual({ days: [] });
    expect((await app().request('/api/probes/acme.test/stats?from=yesterday', { headers: auth })).status).toBe(400);
    expect((await app().request('/api/probes/nope.test/stats', { headers: auth })).status).toBe(404);
  });
});
