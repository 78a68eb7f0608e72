// Times outside the host page's own fields, against the real app and a real Redis: the DNSBL "last
// known" reasons, the stale-data reason, the last run's tooltip and acknowledgement times read as the
// rest of the dashboard (2024-05-01 11:55 UTC) on the overview, the host page and the issue window,
// while the JSON API keeps the stored times.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rblIssueId } from '../../lib/issues.js';
import { silentLogger } from '../../lib/log.js';
import { createApp } from '../../web/server.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, hostRecord, htpasswdLine, ipRecord, keys, makeConfig, NOW, runSummary, store, T, tempDir, writeHtpasswd, zone } from './fixtures.js';

let t: TestRedis;
const dir = tempDir();
const auth = basic('alice', 'pw-alice');
const k = keys('mtarep:');
const listed3 = rblIssueId('zen.spamhaus.org', '192.0.2.3');
/** SNDS data with its period as SNDS writes it (the collector stores it so). */
const snds = {
  status: 'ok' as const,
  at: T(5),
  value: { data: { color: 'green' as const, traps: 0, complaintRate: '< 0.1%', rcptCommands: 1, dataCommands: 1, recipients: 1, periodStart: '4/30/2024 12:00 AM', periodEnd: '4/30/2024 11:59 PM' }, blocked: null },
};

beforeAll(async () => {
  t = await testRedis();
  writeHtpasswd(makeConfig(dir, {}, t.prefix), [htpasswdLine('alice', 'pw-alice', 'bcrypt')]);
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  await t.redis.flushdb();
  await store(t.redis, k, {
    hosts: [
      hostRecord('mta1', 'mta1.example.com', ['192.0.2.1']),
      hostRecord('mta2', 'mta2.example.com', ['192.0.2.2']),
      hostRecord('mta3', 'mta3.example.com', ['192.0.2.3']),
    ],
    ips: [
      // The whole DNSBL check failed; its last good value had a listing (found 10:30).
      ipRecord('192.0.2.1', 'mta1', 'mta1.example.com', {
        snds,
        dnsbl: { status: 'error', at: T(5), reason: 'resolver unreachable', stale: { at: T(90), value: { zones: [zone('zen.spamhaus.org', 'listed', { at: T(90) })] } } },
      }),
      // One zone timed out; its last clear verdict was a listing (10:00).
      ipRecord('192.0.2.2', 'mta2', 'mta2.example.com', {
        snds,
        dnsbl: [zone('zen.spamhaus.org', 'error', { reason: 'timeout', stale: { state: 'listed', codes: ['127.0.0.2'], labels: ['SBL'], at: T(120) } })],
      }),
      // Not checked for four hours (08:00), and listed: its listing is acknowledged.
      ipRecord('192.0.2.3', 'mta3', 'mta3.example.com', { snds, checkedAt: T(240), dnsbl: [zone('zen.spamhaus.org', 'listed')] }),
    ],
    blocks: [],
    lastRun: runSummary({ finishedAt: '2024-05-01T11:55:12.461Z' }),
  });
  await t.redis.hset(k.acks, listed3, 'alice 2024-05-01 11:58:07');
});

/** What a user reads: the text with tags dropped, and the tooltips (title attributes), entities decoded. */
function seen(html: string): string {
  const decode = (s: string) => s.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  const titles = [...html.matchAll(/ title="([^"]*)"/g)].map((m) => m[1]!);
  return decode([html.replace(/<[^>]+>/g, ' '), ...titles].join(' ')).replace(/\s+/g, ' ');
}

/** No ISO stamp, no time to the second: the dashboard's one format only. */
function onlyShortTimes(page: string, where: string): void {
  expect(page, where).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
  expect(page, where).not.toMatch(/\d{2}:\d{2}:\d{2}/);
}

const app = () => createApp({ config: makeConfig(dir, {}, t.prefix), redis: t.redis, log: silentLogger, now: () => NOW });

async function get(path: string): Promise<string> {
  const res = await app().request(path, { headers: auth });
  expect(res.status, path).toBe(200);
  return res.text();
}

describe('times on the overview, the host page and the issue window', () => {
  it('the overview writes the last known listings, stale data, the last run and an acknowledgement as 2024-05-01 11:55 UTC', async () => {
    const page = seen(await get('/'));
    expect(page).toContain('last known: listed on zen.spamhaus.org (SBL) (at 2024-05-01 10:30 UTC)');
    expect(page).toContain('zen.spamhaus.org: timeout (last known: listed at 2024-05-01 10:00 UTC)');
    expect(page).toContain('last known: listed on zen.spamhaus.org (at 2024-05-01 10:00 UTC)');
    expect(page).toContain('data is stale (last checked 2024-05-01 08:00 UTC)');
    expect(page).toContain('acknowledged by alice at 2024-05-01 11:58 UTC');
    expect(page).toContain('2024-05-01 11:55 UTC · 12000 ms');
    onlyShortTimes(page, 'overview');
  });

  it('the host pages write the same reasons the same way', async () => {
    const expected = {
      mta1: 'last known: listed on zen.spamhaus.org (SBL) (at 2024-05-01 10:30 UTC)',
      mta2: 'last known: listed on zen.spamhaus.org (at 2024-05-01 10:00 UTC)',
      mta3: 'data is stale (last checked 2024-05-01 08:00 UTC)',
    };
    for (const [host, reason] of Object.entries(expected)) {
      const page = seen(await get(`/host/${host}`));
      expect(page, host).toContain(reason);
      onlyShortTimes(page, host);
    }
  });

  it('the issue window says when it was acknowledged, to the minute; the JSON API keeps the stored times', async () => {
    for (const path of [`/issue/part?id=${encodeURIComponent(listed3)}`, `/issue?id=${encodeURIComponent(listed3)}`]) {
      const page = seen(await get(path));
      expect(page, path).toContain('Acknowledged by alice at 2024-05-01 11:58 UTC');
      onlyShortTimes(page, path);
    }
    // The JSON API keeps the acknowledgement and the check times as stored.
    const api = (await (await app().request('/api/mta3.example.com', { headers: auth })).json()) as { acks: Record<string, { user: string; at: string }> };
    expect(api.acks[listed3]).toEqual({ user: 'alice', at: '2024-05-01 11:58:07' });
    expect(JSON.stringify(api)).toContain(`"checkedAt":"${T(240)}"`);
  });
});
