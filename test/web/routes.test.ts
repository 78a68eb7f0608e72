import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.js';
import { connectRedis } from '../../lib/redis.js';
import { blockIssueId, rblIssueId } from '../../lib/issues.js';
import { createApp } from '../../web/server.js';
import { CsrfTokens } from '../../web/csrf.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { basic, blocksRecord, hostRecord, htpasswdLine, ipRecord, keys, makeConfig, NOW, runSummary, sampleData, store, tempDir, writeHtpasswd, XSS, zone } from './fixtures.js';

let t: TestRedis;
const dir = tempDir();
let config: ReturnType<typeof makeConfig>;
const auth = basic('alice', 'pw-alice');
const k = keys('mtarep:');

beforeAll(async () => {
  t = await testRedis();
  config = makeConfig(dir, {}, t.prefix);
  writeHtpasswd(config, [htpasswdLine('alice', 'pw-alice', 'bcrypt')]);
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  await t.redis.flushdb();
});

const app = () => createApp({ config, redis: t.redis, log: silentLogger, now: () => NOW });

/** An issue's details as the overview's issue window fetches them. */
async function issuePart(a: ReturnType<typeof app>, id: string, back?: string): Promise<{ status: number; html: string }> {
  const res = await a.request(`/issue/part?id=${encodeURIComponent(id)}${back === undefined ? '' : `&back=${encodeURIComponent(back)}`}`, { headers: auth });
  return { status: res.status, html: await res.text() };
}

/** The issue ids the overview's badges link to. */
function badgeIds(html: string): string[] {
  return [...html.matchAll(/<a class="badge [a-z]+" href="\/issue\?id=([^"]+)" data-dialog/g)].map((m) => decodeURIComponent(m[1]!));
}

/** The per-user form token, as the issue window embeds it. */
async function csrfFromPage(a: ReturnType<typeof app>): Promise<string> {
  const { html } = await issuePart(a, rblIssueId('zen.spamhaus.org', '192.0.2.10'));
  return /name="csrf" value="([^"]+)"/.exec(html)![1]!;
}

function post(a: ReturnType<typeof app>, body: Record<string, string>, headers: Record<string, string> = { Origin: 'http://localhost' }) {
  return a.request('http://localhost/ack', {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
  });
}

describe('overview', () => {
  it('first-time user without data sees what to configure and when the first run happens', async () => {
    const res = await app().request('/', { headers: auth });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('No data yet');
    expect(html).toContain('every 15 min');
    expect(html).toContain('snds_key');
    expect(html).not.toContain('<table id="overview"');
    const none = makeConfig(tempDir(), { mta_map: [] }, t.prefix);
    writeHtpasswd(none, [htpasswdLine('alice', 'pw-alice', 'bcrypt')]);
    const html2 = await (await createApp({ config: none, redis: t.redis, log: silentLogger }).request('/', { headers: auth })).text();
    expect(html2).toContain('Add them under <code>mta_map</code>');
  });

  it('one row per IP, failed resolution shown, severity classes, summary line, secure headers', async () => {
    await store(t.redis, k, sampleData());
    const res = await app().request('/', { headers: auth });
    const html = await res.text();
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'.*script-src 'self'/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const rows = html.match(/<tr class="sev-[a-z]+">/g)!;
    expect(rows).toHaveLength(4); // 2 + 1 IPs, and mta3 unresolved
    expect(html).toContain('unresolved: NXDOMAIN');
    expect(html).toMatch(/<tr class="sev-error">(?:(?!<\/tr>).)*192\.0\.2\.10/s);
    expect(html).toMatch(/<tr class="sev-unknown">(?:(?!<\/tr>).)*mta3/s);
    expect(html).toMatch(/<tr class="sev-ok">(?:(?!<\/tr>).)*2001:db8::10/s);
    expect(html).toMatch(/<b>3<\/b> hosts/);
    expect(html).toMatch(/<b>3<\/b> IPs/);
    expect(html).toMatch(/<b>2<\/b> listed/);
    expect(html).toMatch(/<b>1<\/b> blocked/);
    expect(html).toMatch(/<b>0\/4<\/b> acknowledged/);
    expect(html).toContain('5 min ago');
    // severity sort (default): errors first
    expect(html.indexOf('sev-error')).toBeLessThan(html.indexOf('sev-ok'));
  });

  it('a row that cannot tell never reads "unlisted" or "no blocks"', async () => {
    const cfg = makeConfig(dir, { ssh_key: '/nonexistent/key', mta_map: { mta1: 'mta1.example.com', mta2: 'mta2.example.com', mta3: 'mta3.example.com', mta4: 'mta4.example.com' } }, t.prefix);
    await store(t.redis, k, {
      hosts: [
        hostRecord('mta1', 'mta1.example.com', ['192.0.2.1']),
        hostRecord('mta2', 'mta2.example.com', ['192.0.2.2']),
        hostRecord('mta3', 'mta3.example.com', [], { resolve: { status: 'error', reason: 'NXDOMAIN', at: NOW.toISOString() } }),
        hostRecord('mta4', 'mta4.example.com', ['192.0.2.4']),
      ],
      // mta2's IP has no record yet; mta4's maillog read failed.
      ips: [
        ipRecord('192.0.2.1', 'mta1', 'mta1.example.com', {
          dnsbl: [zone('zen.spamhaus.org', 'error', { reason: 'timeout', stale: { state: 'listed', codes: ['127.0.0.2'], labels: ['SBL'], at: NOW.toISOString() } })],
        }),
        ipRecord('192.0.2.4', 'mta4', 'mta4.example.com'),
      ],
      blocks: [blocksRecord('mta1', []), blocksRecord('mta4', [], { status: 'error', reason: 'ssh: host key changed' })],
      lastRun: runSummary(),
    });
    const html = await (await createApp({ config: cfg, redis: t.redis, log: silentLogger, now: () => NOW }).request('/', { headers: auth })).text();
    const row = (host: string) => new RegExp(`<tr class="sev-[a-z]+">(?:(?!</tr>).)*>${host}<(?:(?!</tr>).)*</tr>`, 's').exec(html)![0];
    // mta1: checked, maillog read ok; the zone timed out after a listing.
    expect(row('mta1')).toContain('no blocks');
    expect(row('mta1')).not.toContain('unlisted');
    expect(row('mta1')).toContain('last known: listed');
    expect(row('mta1')).toMatch(/^<tr class="sev-error">/);
    for (const host of ['mta2', 'mta3']) {
      expect(row(host), host).not.toMatch(/unlisted|no blocks/);
      expect(row(host), host).toContain('<span class="badge unknown" title="not checked yet">no data</span>');
      expect(row(host), host).toContain('<span class="badge unknown" title="no maillog read stored yet">no data</span>');
    }
    expect(row('mta4')).toContain('unlisted');
    expect(row('mta4')).not.toContain('no blocks');
    expect(row('mta4')).toContain('<span class="badge unknown" title="maillog read failed: ssh: host key changed">error</span>');
    // Without ssh_key the maillog is not read at all: a dash, not "no blocks".
    await store(t.redis, k, { hosts: [], ips: [], blocks: [] });
    const noSsh = await (await app().request('/', { headers: auth })).text();
    expect(noSsh).toContain('<span class="muted" title="maillog not read (needs ssh_key)">—</span>');
  });

  it('escapes HTML from log lines and TXT records; no inline script at all', async () => {
    await store(t.redis, k, sampleData());
    const a = app();
    const html = await (await a.request('/', { headers: auth })).text();
    const parts = [(await issuePart(a, rblIssueId('zen.spamhaus.org', '192.0.2.10'))).html, (await issuePart(a, blockIssueId('gmail', 'mta2'))).html];
    for (const h of [html, ...parts]) {
      expect(h).not.toContain('<script>alert');
      expect(h).not.toContain('<img src=x');
    }
    for (const h of parts) expect(h).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
    // Every <script> is an external file.
    for (const tag of html.match(/<script[^>]*>/g) ?? []) expect(tag).toMatch(/src="\/assets\/[a-z]+\.js"/);
    expect(html).not.toMatch(/<script[^>]*>[^<]/);
  });

  it('issue window, fetched on demand: rejection line, codes, TXT, removal link with the IP, runbook, SpamCop advice', async () => {
    await store(t.redis, k, sampleData());
    const a = app();
    const page = await (await a.request('/', { headers: auth })).text();
    // The rows carry none of it: one empty window, and badges that link to the issue (the page without JS).
    expect(page).toContain('<dialog id="issue-dialog" class="issue"');
    expect(page).not.toContain('class="issue-body"');
    expect(page).not.toContain('logline');
    expect(page).not.toContain('SpamCop listings expire');
    const ids = badgeIds(page);
    expect(ids.sort()).toEqual(
      [rblIssueId('zen.spamhaus.org', '192.0.2.10'), rblIssueId('bl.spamcop.net', '192.0.2.10'), rblIssueId('b.barracudacentral.org', '192.0.2.20'), blockIssueId('gmail', 'mta2')].sort(),
    );
    let html = '';
    for (const id of ids) {
      const part = await issuePart(a, id);
      expect(part.status).toBe(200);
      expect(part.html).toMatch(/^<div class="issue-body">/);
      expect(part.html).toContain(`name="id" value="${id}"`);
      html += part.html;
    }
    expect(html).toContain('href="https://check.spamhaus.example/?ip=192.0.2.10"');
    expect(html).toContain('href="https://wiki.example/runbooks/spamhaus"');
    expect(html).toContain('href="https://wiki.example/runbooks/gmail"');
    expect(html).toContain('href="https://barracudacentral.example/lookup?ip=192.0.2.20"');
    expect(html).toContain('SpamCop listings expire by themselves');
    expect(html).toContain('127.0.0.2');
    expect(html).toContain('<pre class="logline">May  1 11:50:00 mta2 postfix/smtp[1]: 550-5.7.1 &lt;script&gt;');
    // Acknowledge returns where the window was opened; anything but a path on this site goes to /.
    expect((await issuePart(a, ids[0]!, '/?sort=ip&dir=asc')).html).toContain('name="back" value="/?sort=ip&amp;dir=asc"');
    for (const bad of ['//evil.example/', 'https://evil.example/', '/\\evil']) expect((await issuePart(a, ids[0]!, bad)).html).toContain('name="back" value="/"');
    const gone = await issuePart(a, 'rbl:nowhere:192.0.2.99');
    expect(gone.status).toBe(404);
    expect(gone.html).toContain('does not exist');
  });

  it('links from stored data go through the scheme allow-list', async () => {
    const d = sampleData();
    d.ips[0]!.dnsbl.value!.zones[0]!.removalLink = 'javascript:alert(document.cookie)';
    await store(t.redis, k, d);
    const a = app();
    const html = (await (await a.request('/', { headers: auth })).text()) + (await issuePart(a, rblIssueId('zen.spamhaus.org', '192.0.2.10'))).html;
    expect(html).not.toContain('javascript:');
    // falls back to nothing configured for zen -> the "no removal link" note
    expect(html).toContain('No removal link configured');
  });

  it('sorts on the server from the URL and rejects unknown sort keys', async () => {
    await store(t.redis, k, sampleData());
    const html = await (await app().request('/?sort=ip&dir=desc', { headers: auth })).text();
    expect(html).toContain('data-sort="ip" data-dir="desc"');
    const ips = [...html.matchAll(/<td class="mono">([^<]+)</g)].map((m) => m[1]);
    expect(ips).toEqual(['2001:db8::10', '192.0.2.20', '192.0.2.10']);
    const bad = await (await app().request('/?sort=%3Cx%3E&dir=up', { headers: auth })).text();
    expect(bad).toContain('data-sort="severity" data-dir="desc"');
  });

  it('costs a fixed number of Redis round trips whatever the host count, and reuses the page until the data changes', async () => {
    const count = async (hosts: number) => {
      await t.redis.flushdb();
      const names = Array.from({ length: hosts }, (_, i) => `m${i}`);
      const cfg = makeConfig(dir, { mta_map: Object.fromEntries(names.map((n) => [n, `${n}.example.com`])) }, t.prefix);
      await store(t.redis, k, {
        hosts: names.map((n, i) => hostRecord(n, `${n}.example.com`, [`192.0.2.${i % 250}`, `2001:db8::${i.toString(16)}`])),
        ips: names.flatMap((n, i) => [ipRecord(`192.0.2.${i % 250}`, n, `${n}.example.com`), ipRecord(`2001:db8::${i.toString(16)}`, n, `${n}.example.com`)]),
        blocks: [blocksRecord(names[0]!, [])],
      });
      const r = await connectRedis({ url: t.url }, { reconnect: false });
      const stream = (r as unknown as { stream: { write: (...a: unknown[]) => boolean } }).stream;
      let writes = 0;
      const orig = stream.write.bind(stream);
      stream.write = (...a: unknown[]) => {
        writes++;
        return orig(...a);
      };
      const a = createApp({ config: cfg, redis: r, log: silentLogger, now: () => NOW });
      const first = await a.request('/', { headers: auth });
      expect(first.status).toBe(200);
      const cold = writes;
      writes = 0;
      const again = await (await a.request('/', { headers: auth })).text();
      const warm = writes;
      await t.redis.incr(k.dataVersion);
      writes = 0;
      const third = await (await a.request('/', { headers: auth })).text();
      const changed = writes;
      r.disconnect();
      expect(again.length).toBeGreaterThan(0);
      expect(third.length).toBeGreaterThan(0);
      return { cold, warm, changed };
    };
    const small = await count(3);
    const big = await count(300);
    // version, snapshot (lib/store), alert outbox health (lib/alerts/delivery-log.ts)
    expect(small).toEqual({ cold: 4, warm: 1, changed: 4 });
    expect(big).toEqual(small);
  });

  it('a key of the wrong type (acks, data version) is named; every page still shows the rest', async () => {
    await store(t.redis, k, sampleData());
    await t.redis.del(k.acks, k.dataVersion);
    await t.redis.set(k.acks, 'oops');
    await t.redis.hset(k.dataVersion, 'oops', '1');
    const a = app();
    const res = await a.request('/', { headers: auth });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<tr class="sev-error">(?:(?!<\/tr>).)*192\.0\.2\.10/s);
    expect(html).toContain('mtarep:acks: holds the wrong Redis type');
    expect(html).toContain('mtarep:data-version: holds the wrong Redis type');
    expect((await a.request('/host/mta1', { headers: auth })).status).toBe(200);
    const api = await a.request('/api/hosts', { headers: auth });
    expect(api.status).toBe(200);
    expect((await a.request('/api/version', { headers: auth })).status).toBe(200);
    const csrf = await csrfFromPage(a);
    const ack = await post(a, { id: rblIssueId('zen.spamhaus.org', '192.0.2.10'), csrf, back: '/' });
    expect(ack.status).toBe(500);
    expect(await ack.text()).toContain('The Redis key mtarep:acks holds another Redis type');
  });

  it('redis down: a fast, clear 503 page (JSON for the API)', async () => {
    const r = await connectRedis({ url: t.url }, { reconnect: false });
    const a = createApp({ config, redis: r, log: silentLogger, now: () => NOW });
    r.disconnect();
    const started = Date.now();
    const res = await a.request('/', { headers: auth });
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('cannot reach its Redis database');
    const api = await a.request('/api/hosts', { headers: auth });
    expect(api.status).toBe(503);
    expect(await api.json()).toMatchObject({ error: 'redis unavailable' });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('acknowledge', () => {
  const spamhaus = rblIssueId('zen.spamhaus.org', '192.0.2.10');

  it('stores who and when for a current issue, bumps the data version, then shows it', async () => {
    await store(t.redis, k, sampleData());
    const a = app();
    const csrf = await csrfFromPage(a);
    const before = await t.redis.get(k.dataVersion);
    const res = await post(a, { id: spamhaus, csrf, back: '/?sort=ip&dir=asc' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/?sort=ip&dir=asc');
    expect(await t.redis.hget(k.acks, spamhaus)).toBe('alice 2024-05-01 12:00:00');
    expect(Number(await t.redis.get(k.dataVersion))).toBe(Number(before) + 1);
    const html = await (await a.request('/', { headers: auth })).text();
    expect((await issuePart(a, spamhaus)).html).toContain('Acknowledged by <strong>alice</strong> at 2024-05-01 12:00 UTC');
    expect(html).toMatch(/<b>1\/4<\/b> acknowledged/);
    expect(html).toContain('class="badge ack"');
  });

  it('refuses an issue that does not exist now, and builds no key from it', async () => {
    await store(t.redis, k, sampleData());
    const a = app();
    const csrf = await csrfFromPage(a);
    for (const id of [rblIssueId('zen.spamhaus.org', '192.0.2.20'), blockIssueId('hotmail', 'mta2'), 'rbl:evil:1', 'x'.repeat(600)]) {
      const res = await post(a, { id, csrf });
      expect([400, 409]).toContain(res.status);
    }
    expect(await t.redis.hlen(k.acks)).toBe(0);
    expect((await t.redis.keys('*')).sort()).toEqual([k.blocks('mta2'), k.dataVersion, k.host('mta1'), k.host('mta2'), k.host('mta3'), k.ip('192.0.2.10'), k.ip('192.0.2.20'), k.ip('2001:db8::10'), k.lastRun].sort());
  });

  it('rejects CSRF: a foreign origin, a missing or another user\'s token; GET changes nothing', async () => {
    await store(t.redis, k, sampleData());
    const a = app();
    const csrf = await csrfFromPage(a);
    expect((await post(a, { id: spamhaus, csrf }, { Origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(a, { id: spamhaus, csrf }, { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect((await post(a, { id: spamhaus })).status).toBe(403);
    expect((await post(a, { id: spamhaus, csrf: new CsrfTokens().tokenFor('alice') })).status).toBe(403);
    expect((await a.request(`/ack?id=${encodeURIComponent(spamhaus)}&csrf=${csrf}`, { headers: auth })).status).toBe(404);
    expect(await t.redis.hlen(k.acks)).toBe(0);
    // the same-origin request with the token passes
    expect((await post(a, { id: spamhaus, csrf })).status).toBe(303);
  });

  it('redirects only to same-origin paths; any other return address is refused before anything is stored', async () => {
    await store(t.redis, k, sampleData());
    const a = app();
    const csrf = await csrfFromPage(a);
    // A control character made a 500 with a stack on stderr and no security headers, after storing the ack.
    for (const back of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', '/\x01x', '/a\tb', '/a\r\nSet-Cookie: x=1', '/caf\u00e9']) {
      const res = await post(a, { id: spamhaus, csrf, back });
      expect(res.status, JSON.stringify(back)).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await res.text()).toContain('Nothing was stored');
      expect(await t.redis.hlen(k.acks)).toBe(0);
    }
    const none = await post(a, { id: spamhaus, csrf });
    expect(none.headers.get('location')).toBe('/');
  });
});

describe('API', () => {
  it('GET /api/:fqdn has the original keys and string conventions plus structured checks', async () => {
    await store(t.redis, k, sampleData());
    const a = app();
    const res = await a.request('/api/mta1.example.com', { headers: auth });
    expect(res.status).toBe(200);
    const j = (await res.json()) as Record<string, unknown> & { ips: Record<string, unknown>[] };
    expect(j).toMatchObject({
      hostname: 'mta1.example.com',
      senderscore: '95',
      sndscolor: 'green',
      sndstraps: '0',
      brightmail: 'no data',
      provblocks: 'no data',
      listings: 'zen.spamhaus.org, bl.spamcop.net',
      host: 'mta1',
      severity: 'error',
    });
    expect(j.ips).toHaveLength(2);
    expect(j.ips[1]).toMatchObject({ ip: '2001:db8::10', listings: 'unlisted', senderscore: '95' });
    // Every check in one common shape; DNSBL's verdict per zone is in its value.
    const checks = j.ips[0]!.checks as { dnsbl: { status: string; value: { zones: { zone: string; state: string; codes: string[]; reason?: string; at: string }[] } } };
    expect(checks.dnsbl.status).toBe('ok');
    expect(checks.dnsbl.value.zones[2]).toMatchObject({ zone: 'b.barracudacentral.org', state: 'error', reason: 'timeout after 3s' });
    expect(checks.dnsbl.value.zones[0]!.codes).toEqual(['127.0.0.2']);

    const m2 = (await (await a.request('/api/mta2', { headers: auth })).json()) as Record<string, unknown>;
    expect(m2).toMatchObject({ hostname: 'mta2.example.com', senderscore: 'error', provblocks: 'gmail', listings: 'b.barracudacentral.org' });
    const m3 = (await (await a.request('/api/MTA3.example.com', { headers: auth })).json()) as Record<string, unknown>;
    expect(m3).toMatchObject({ hostname: 'mta3.example.com', listings: 'no data', severity: 'unknown', resolve: { status: 'error', reason: 'NXDOMAIN' } });
  });

  it('original strings for a quiet clean host: unlisted, no blocks, no score', async () => {
    await store(t.redis, k, {
      hosts: [hostRecord('mta1', 'mta1.example.com', ['192.0.2.1'])],
      ips: [ipRecord('192.0.2.1', 'mta1', 'mta1.example.com', { senderscore: { status: 'ok', at: NOW.toISOString(), value: { score: null } }, dnsbl: [zone('zen.spamhaus.org', 'not_listed')] })],
      blocks: [blocksRecord('mta1', [])],
    });
    const j = await (await app().request('/api/mta1.example.com', { headers: auth })).json();
    expect(j).toMatchObject({ senderscore: 'no score', listings: 'unlisted', provblocks: 'no blocks' });
  });

  it('lists each host\'s own acknowledgements only', async () => {
    const listed = { dnsbl: [zone('zen.spamhaus.org', 'listed')] };
    await store(t.redis, k, {
      hosts: [hostRecord('mta1', 'mta1.example.com', ['2001:db8::1']), hostRecord('mta2', 'mta2.example.com', ['db8::1'])],
      ips: [ipRecord('2001:db8::1', 'mta1', 'mta1.example.com', listed), ipRecord('db8::1', 'mta2', 'mta2.example.com', listed)],
      blocks: [blocksRecord('mta1', [{ provider: 'gmail', line: 'x', at: NOW.toISOString() }])],
    });
    await t.redis.hset(k.acks, rblIssueId('zen.spamhaus.org', '2001:db8::1'), 'alice 2024-05-01 11:00:00', blockIssueId('gmail', 'mta1'), 'bob 2024-05-01 11:30:00');
    const a = app();
    const j1 = (await (await a.request('/api/mta1', { headers: auth })).json()) as { acks: Record<string, unknown> };
    const j2 = (await (await a.request('/api/mta2', { headers: auth })).json()) as { acks: Record<string, unknown> };
    expect(j1.acks).toEqual({
      'rbl:zen.spamhaus.org:2001:db8::1': { user: 'alice', at: '2024-05-01 11:00:00' },
      'block:gmail:mta1': { user: 'bob', at: '2024-05-01 11:30:00' },
    });
    expect(j2.acks).toEqual({});
  });

  it('a host without an address has the severity its overview row shows (its blocks count)', async () => {
    const d = sampleData();
    d.blocks.push(blocksRecord('mta3', [{ provider: 'gmail', line: 'x', at: NOW.toISOString() }]));
    await store(t.redis, k, d);
    const a = app();
    const html = await (await a.request('/', { headers: auth })).text();
    expect(html).toMatch(/<tr class="sev-error">(?:(?!<\/tr>).)*mta3/s);
    expect(await (await a.request('/api/mta3', { headers: auth })).json()).toMatchObject({ severity: 'error', provblocks: 'gmail' });
  });

  it('stored links go through the pages\' allow-list', async () => {
    const d = sampleData();
    const zones = d.ips[0]!.dnsbl.value!.zones;
    zones[0]!.removalLink = 'javascript:alert(document.cookie)';
    zones[1] = { ...zones[0]!, zone: 'b.example.net', removalLink: 'https://lookup.example/?ip=192.0.2.10' };
    await store(t.redis, k, d);
    for (const path of ['/api/hosts', `/api/${d.ips[0]!.fqdn}`]) {
      const text = await (await app().request(path, { headers: auth })).text();
      expect(text).not.toContain('javascript:');
      expect(text).toContain('https://lookup.example/?ip=192.0.2.10');
    }
  });

  it('GET /api/hosts lists every host; unknown host is a JSON 404', async () => {
    await store(t.redis, k, sampleData());
    const a = app();
    const all = (await (await a.request('/api/hosts', { headers: auth })).json()) as { hosts: { hostname: string }[]; lastRun: unknown };
    expect(all.hosts.map((h) => h.hostname)).toEqual(['mta1.example.com', 'mta2.example.com', 'mta3.example.com']);
    expect(all.lastRun).toMatchObject({ id: 'run1' });
    const res = await a.request('/api/nope.example.com', { headers: auth });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual({ error: 'unknown host', host: 'nope.example.com' });
  });

  it('GET /api/version gives the data version the overview page was rendered with', async () => {
    await store(t.redis, k, sampleData());
    const a = app();
    const html = await (await a.request('/', { headers: auth })).text();
    const rendered = /data-version="([^"]*)"/.exec(html)?.[1];
    const v1 = (await (await a.request('/api/version', { headers: auth })).json()) as { dataVersion: string };
    expect(v1.dataVersion).toBe(rendered);
    await t.redis.incr(k.dataVersion);
    const v2 = (await (await a.request('/api/version', { headers: auth })).json()) as { dataVersion: string };
    expect(Number(v2.dataVersion)).toBe(Number(v1.dataVersion) + 1);
    expect((await a.request('/api/version')).status).toBe(401);
  });
});

describe('other pages', () => {
  it('help, version (local), host page with history, issue page, graphs with counters', async () => {
    await store(t.redis, k, sampleData());
    await t.redis.zadd(k.history('192.0.2.10'), NOW.getTime() - 3600_000, JSON.stringify({ t: NOW.getTime() - 3600_000, score: 90, listings: 1, traps: 2, color: 'green' }));
    await t.redis.hincrby(k.counter('acme', '20240501', 'sent'), 'gmail.com', 40);
    await t.redis.hincrby(k.counter('other', '20240501', 'sent'), 'gmail.com', 2);
    await t.redis.sadd(k.counterIds, 'acme');
    await t.redis.hincrby(k.counter('other', '20240501', 'bounced'), 'yahoo.com', 3);
    const a = app();
    const help = await (await a.request('/help', { headers: auth })).text();
    expect(help).toContain('SNDS trap hits ≥ 10');
    const version = await (await a.request('/version', { headers: auth })).text();
    expect(version).toMatch(/<dd class="mono">\d+\.\d+\.\d+<\/dd>/);
    const host = await (await a.request('/host/mta1', { headers: auth })).text();
    expect(host).toContain('data-chart="history"');
    expect(host).toContain('&quot;score&quot;:[[' + (NOW.getTime() - 3600_000) + ',90]]');
    expect(host).toContain('timeout after 3s');
    const missing = await a.request('/host/%3Cnope%3E', { headers: auth });
    expect(missing.status).toBe(404);
    // Error pages are per user like every page: never kept by a cache. Static assets may be.
    expect(missing.headers.get('cache-control')).toBe('no-store');
    expect((await a.request('/nowhere', { headers: auth })).headers.get('cache-control')).toBe('no-store');
    expect((await a.request('/assets/app.css', { headers: auth })).headers.get('cache-control')).toBe('private, max-age=300');
    const issue = await a.request(`/issue?id=${encodeURIComponent(blockIssueId('gmail', 'mta2'))}`, { headers: auth });
    expect(issue.status).toBe(200);
    expect(await issue.text()).toContain('gmail blocks mta2');
    expect((await a.request('/issue?id=nope', { headers: auth })).status).toBe(404);
    const graphs = await (await a.request('/graphs', { headers: auth })).text();
    expect(graphs).toContain('src="/assets/highcharts.js"');
    expect(graphs).toContain('{&quot;name&quot;:&quot;sent&quot;,&quot;data&quot;:[42,0]}');
    expect(graphs).toContain('{&quot;name&quot;:&quot;bounced&quot;,&quot;data&quot;:[0,3]}');
    expect((await a.request('/graphs?day=2024-02-30', { headers: auth })).status).toBe(400);
    const other = await (await a.request('/graphs?day=2024-04-30', { headers: auth })).text();
    expect(other).toContain('No counters for 2024-04-30');
  });
});
