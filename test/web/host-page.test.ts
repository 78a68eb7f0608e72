// The host page and the overview's maillog cell against the real app and a real Redis: why a maillog
// is not read (no ssh_key, or the host's `ssh: false`).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { createApp } from '../../web/server.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, hostRecord, htpasswdLine, keys, makeConfig, NOW, runSummary, store, tempDir, writeHtpasswd } from './fixtures.js';

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
