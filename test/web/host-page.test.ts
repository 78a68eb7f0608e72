// The host page and the overview's maillog cell against the real app and a real Redis: why a maillog
// is not read (no ssh_key, or the host's `ssh: false`), and every time on the host page written the
// one way the dashboard writes times (2024-05-01 11:55 UTC), SNDS's period included.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { createApp } from '../../web/server.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, blocksRecord, hostRecord, htpasswdLine, ipRecord, keys, makeConfig, NOW, runSummary, store, tempDir, writeHtpasswd } from './fixtures.js';

let t: TestRedis;
const dir = tempDir();
const auth = basic('alice', 'pw-alice');
const k = keys('mtarep:');

beforeAll(async () => {
  t = await testRedis();
  writeHtpasswd(makeConfig(dir, {}, t.prefix), [htpasswdLine('alice', 'pw-alice', 'bcrypt')]);
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  await t.redis.flushdb();
});

/** The text a user reads: tags dropped, entities of the test data decoded. */
const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/\s+/g, ' ');

async function get(raw: Record<string, unknown>, path: string): Promise<string> {
  const config = makeConfig(dir, raw, t.prefix);
  const res = await createApp({ config, redis: t.redis, log: silentLogger, now: () => NOW }).request(path, { headers: auth });
  expect(res.status).toBe(200);
  return res.text();
}

/** The overview's Provider blocks cell of `host`: its tooltip. */
function blocksTitle(html: string, host: string): string | undefined {
  const row = new RegExp(`<tr class="sev-[a-z]+">(?:(?!</tr>).)*>${host}<(?:(?!</tr>).)*</tr>`, 's').exec(html)?.[0] ?? '';
  return /<span class="muted" title="(maillog not read[^"]*)">—<\/span>/.exec(row)?.[1];
}

describe('a host whose maillog is not read', () => {
  it('with ssh_key set, a host with ssh: false says it is excluded by ssh: false, on the overview and its page', async () => {
    const raw = { ssh_key: '/nonexistent/key', mta_map: { mta1: { fqdn: 'mta1.example.com' }, mta2: { fqdn: 'mta2.example.com', ssh: false } } };
    await store(t.redis, k, { hosts: [hostRecord('mta1', 'mta1.example.com', ['192.0.2.1']), hostRecord('mta2', 'mta2.example.com', ['192.0.2.2'])], ips: [], blocks: [], lastRun: runSummary() });
    const overview = await get(raw, '/');
    expect(blocksTitle(overview, 'mta2')).toBe('maillog not read (excluded by ssh: false for this host)');
    expect(overview).not.toContain('needs ssh_key');
    // mta1's maillog is read; no read is stored yet: that is what its cell says.
    expect(blocksTitle(overview, 'mta1')).toBeUndefined();
    expect(text(await get(raw, '/host/mta2'))).toContain('Maillog Maillog not read (excluded by ssh: false for this host).');
    expect(text(await get(raw, '/host/mta1'))).toContain('No maillog read stored for this host yet.');
  });

  it('without ssh_key, every host says the maillog needs ssh_key, on the overview and its page', async () => {
    const raw = { mta_map: { mta1: { fqdn: 'mta1.example.com' }, mta2: { fqdn: 'mta2.example.com', ssh: false } } };
    await store(t.redis, k, { hosts: [hostRecord('mta1', 'mta1.example.com', ['192.0.2.1'])], ips: [], blocks: [], lastRun: runSummary() });
    const overview = await get(raw, '/');
    for (const host of ['mta1', 'mta2']) expect(blocksTitle(overview, host), host).toBe('maillog not read (needs ssh_key)');
    expect(text(await get(raw, '/host/mta1'))).toContain('Maillog not read (needs ssh_key).');
  });
});

describe('times on the host page', () => {
  it('the SNDS period, the maillog read and a block read as the rest of the page: 24-hour, to the minute, UTC', async () => {
    const rec = ipRecord('192.0.2.1', 'mta1', 'mta1.example.com');
    rec.snds = {
      status: 'ok',
      at: '2024-05-01T11:55:00.000Z',
      value: {
        data: { color: 'green', traps: 0, complaintRate: '< 0.1%', rcptCommands: 1, dataCommands: 1, recipients: 1, periodStart: '4/30/2024 12:00 AM', periodEnd: '4/30/2024 11:59 PM' },
        blocked: null,
      },
    };
    const block = { provider: 'gmail', line: 'May  1 11:42:07 mta1 postfix/smtp[1]: 550-5.7.1 gsmtp', at: '2024-05-01T11:42:07.512Z', ip: '192.0.2.1', recipientDomain: 'gmail.com' };
    await store(t.redis, k, {
      hosts: [hostRecord('mta1', 'mta1.example.com', ['192.0.2.1'], { resolve: { status: 'ok', at: '2024-05-01T11:55:03.201Z' } })],
      ips: [rec],
      blocks: [blocksRecord('mta1', [block], { at: '2024-05-01T11:55:12.461Z', lines: { read: 40, unparsed: 0 } })],
      lastRun: runSummary(),
    });
    const page = text(await get({ ssh_key: '/nonexistent/key' }, '/host/mta1'));
    expect(page).toContain('Addresses: resolved at 2024-05-01 11:55 UTC');
    expect(page).toContain('green, 0 trap hits, complaints < 0.1%, 2024-04-30 00:00 - 23:59');
    expect(page).toContain('Read ok at 2024-05-01 11:55 UTC, 40 lines (0 not understood).');
    expect(page).toContain('gmail 2024-05-01 11:42 UTC');
    // Nothing else: no ISO stamps, no 12-hour clock.
    expect(page).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
    expect(page).not.toMatch(/\b(AM|PM)\b/);
  });

  it('an SNDS period across days names both dates', async () => {
    const rec = ipRecord('192.0.2.1', 'mta1', 'mta1.example.com');
    rec.snds = {
      status: 'ok',
      at: '2024-05-01T11:55:00.000Z',
      value: { data: { color: 'red', traps: 3, complaintRate: '1%', rcptCommands: 1, dataCommands: 1, recipients: 1, periodStart: '4/29/2024 8:00 PM', periodEnd: '4/30/2024 7:59 AM' }, blocked: null },
    };
    await store(t.redis, k, { hosts: [hostRecord('mta1', 'mta1.example.com', ['192.0.2.1'])], ips: [rec], blocks: [], lastRun: runSummary() });
    expect(text(await get({}, '/host/mta1'))).toContain('red, 3 trap hits, complaints 1%, 2024-04-29 20:00 - 2024-04-30 07:59');
  });
});
