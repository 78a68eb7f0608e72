/**
 * Issue events filled by real collector runs: the loopback DNS server lists and delists an IP, the
 * loopback SSH server serves a postfix log with a provider block, the dashboard's POST /ack
 * acknowledges. Exactly one event per change; a timeout or an unreadable log resolves nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCollect } from '../../collector/run.js';
import { dnsblName } from '../../lib/net/dns/names.js';
import type { StoredIssueEvent } from '../../lib/events.js';
import { readEvents, readOpenIssues, lastEventId, applySourceIssues } from '../../lib/issue-store.js';
import { blockIssueId, rblIssueId } from '../../lib/issues.js';
import { keys } from '../../lib/keys.js';
import { silentLogger } from '../../lib/log.js';
import { createApp } from '../../web/server.js';
import { configFrom } from '../helpers/collector-config.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { LogBuilder } from '../helpers/maillog-log.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { ANSWERS_MS } from '../helpers/timeouts.js';
import { startSshServer, type TestSshServer } from '../helpers/ssh-server.js';
import { basic, htpasswdLine, writeHtpasswd } from '../web/fixtures.js';

const ip = '127.1.0.40';
const HOTMAIL = 'mail\\.live\\.com\\/mail\\/troubleshooting\\.aspx#errors';
const blockReply = `host mx[52.101.10.3] said: 550 5.7.1 Unfortunately, messages from [${ip}] weren't sent. http://mail.live.com/mail/troubleshooting.aspx#errors. (in reply to MAIL FROM command)`;
const k = keys('mtarep:');

let r: TestRedis;
let dns: TestDnsServer;
let ssh: TestSshServer;
let tmp: string;
let log: string;
let clock = Date.parse('2026-11-03T10:00:00Z');

beforeAll(async () => {
  [r, dns, ssh] = await Promise.all([testRedis(), startDnsServer(), startSshServer()]);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-events-'));
  fs.writeFileSync(path.join(tmp, 'id'), ssh.clientKey.private, { mode: 0o600 });
  fs.writeFileSync(path.join(tmp, 'known_hosts'), ssh.knownHostsLine() + '\n');
});
afterAll(async () => {
  await Promise.all([r?.close(), dns?.close(), ssh?.close()]);
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(async () => {
  await r.redis.flushdb();
  dns.reset();
  dns.testPoints('bl.test');
  dns.set('mx.example.test', { A: [ip] });
  log = path.join(ssh.dir, `maillog-events-${Date.now()}`);
  fs.writeFileSync(log, '');
});

function config(over: Record<string, unknown> = {}) {
  return configFrom({
    // Answered queries never come near this; the one dropped query (a timeout run) waits for it.
    dns: { servers: [dns.address], timeout_ms: ANSWERS_MS, tries: 1 },
    rbls: [{ zone: 'bl.test', removal_link: 'https://bl.example/remove?ip=' }],
    senderscore_zone: false,
    dns_match: false,
    mta_map: { mx: { fqdn: 'mx.example.test', ssh_host: ssh.host, ssh_port: ssh.port, maillog_path: log, timezone: 'UTC' } },
    ssh_key: path.join(tmp, 'id'),
    ssh_user: 'mtarep',
    ssh_known_hosts: path.join(tmp, 'known_hosts'),
    ssh_timeout_ms: 30_000,
    provider_block_strings: { hotmail: HOTMAIL },
    ...over,
  });
}

/** One collector run, 15 minutes after the previous one; returns the events it appended. */
async function collect(cfg = config()): Promise<StoredIssueEvent[]> {
  clock += 15 * 60_000;
  const t = clock;
  const after = await lastEventId(r.redis, k);
  await runCollect({ config: cfg, redis: r.redis, log: silentLogger, now: () => new Date(t) });
  return readEvents(r.redis, k, { after });
}
const changes = (evs: StoredIssueEvent[]) => evs.filter((e) => e.type !== 'run').map((e) => `${e.type} ${e.issue!.id}`);
const listing = rblIssueId('bl.test', ip);
const block = blockIssueId('hotmail', 'mx');

describe('issue events from collector runs', () => {
  it('a listing: opened once (first run flagged), nothing while it stays or times out, resolved once', async () => {
    dns.list('bl.test', ip, ['127.0.0.2'], 'listed for spam');
    const first = await collect();
    expect(changes(first)).toEqual([`opened ${listing}`]);
    expect(first.find((e) => e.type === 'opened')!.issue).toMatchObject({
      kind: 'listing',
      severity: 'warning',
      source: 'reputation',
      host: 'mx',
      ip,
      zone: 'bl.test',
      state: 'listed: 127.0.0.2',
      detail: 'listed for spam',
      links: { removal: `https://bl.example/remove?ip=${ip}` },
    });
    const runs = first.filter((e) => e.type === 'run');
    expect(runs.map((e) => [e.source, e.run?.first, e.run?.status])).toEqual([
      ['reputation', true, 'ok'],
      ['maillog', true, 'ok'],
    ]);

    expect(changes(await collect())).toEqual([]);

    // The IP's lookup times out (the zone's self-test still answers): nothing resolves.
    dns.fail(dnsblName(ip, 'bl.test'), 'drop');
    const timeout = await collect();
    expect(changes(timeout)).toEqual([]);
    expect(timeout.find((e) => e.source === 'reputation')!.run).toMatchObject({ status: 'partial', open: 1 });
    const open = (await readOpenIssues(r.redis, k)).bySource.get('reputation')!.issues;
    expect(open.map((i) => i.id)).toEqual([listing]);

    dns.reset();
    dns.testPoints('bl.test');
    dns.set('mx.example.test', { A: [ip] });
    const gone = await collect();
    expect(changes(gone)).toEqual([`resolved ${listing}`]);
    expect(gone.find((e) => e.type === 'resolved')!.issue!.firstSeen).toBe(first.find((e) => e.type === 'opened')!.issue!.firstSeen);
    expect(gone.filter((e) => e.type === 'run').every((e) => e.run?.first === undefined)).toBe(true);
    expect(changes(await collect())).toEqual([]);
  });

  it('a provider block: opened; an unreadable log keeps it and opens its own issue; acknowledged on the dashboard', async () => {
    const b = new LogBuilder();
    b.delivery(new Date(clock + 10 * 60_000), 'B10CK0001', 'x@hotmail.com', 'bounced', { reply: blockReply });
    fs.writeFileSync(log, b.text());
    const first = await collect();
    expect(changes(first)).toEqual([`opened ${block}`]);
    expect(first.find((e) => e.type === 'opened')!.issue).toMatchObject({ kind: 'block', severity: 'problem', source: 'maillog', host: 'mx', provider: 'hotmail', ip, state: 'blocked', detail: expect.stringContaining('550 5.7.1') });

    // The log cannot be read: the block stays (inside its window), the unreadable log is an issue.
    const broken = config({ mta_map: { mx: { fqdn: 'mx.example.test', ssh_host: ssh.host, ssh_port: ssh.port, maillog_path: `${log}.missing`, timezone: 'UTC' } } });
    const unreadable = await collect(broken);
    expect(changes(unreadable)).toEqual(['opened maillog:mx']);
    expect(unreadable.find((e) => e.source === 'maillog' && e.type === 'run')!.run).toMatchObject({ status: 'partial', open: 2 });
    const back = await collect();
    expect(changes(back)).toEqual(['resolved maillog:mx']);

    // POST /ack on the dashboard appends `acknowledged` with who.
    const dir = fs.mkdtempSync(path.join(tmp, 'web-'));
    const cfg = configFrom({ ...rawFor(), http_auth_file: path.join(dir, 'htpasswd') });
    writeHtpasswd(cfg, [htpasswdLine('alice', 'pw-alice', 'bcrypt')]);
    const app = createApp({ config: cfg, redis: r.redis, log: silentLogger, now: () => new Date(clock) });
    const auth = basic('alice', 'pw-alice');
    // The form token is in the issue window (fetched on demand from the overview).
    const html = await (await app.request(`/issue/part?id=${encodeURIComponent(block)}`, { headers: auth })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const after = await lastEventId(r.redis, k);
    const res = await app.request('http://localhost/ack', {
      method: 'POST',
      headers: { ...auth, Origin: 'http://localhost', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ id: block, csrf }).toString(),
    });
    expect(res.status).toBe(303);
    const acked = await readEvents(r.redis, k, { after });
    expect(acked).toEqual([expect.objectContaining({ type: 'acknowledged', by: 'alice', source: 'maillog', at: new Date(clock).toISOString(), issue: expect.objectContaining({ id: block }) })]);
    expect(await r.redis.hget(k.acks, block)).toMatch(/^alice /);
    // The next run: the block is still there, no new event for it.
    expect(changes(await collect())).toEqual([]);
  });

  it('the readers filter by host, kind, type and time, newest first on request', async () => {
    dns.list('bl.test', ip, ['127.0.0.2']);
    await collect();
    dns.reset();
    dns.testPoints('bl.test');
    dns.set('mx.example.test', { A: [ip] });
    await collect();
    const all = await readEvents(r.redis, k);
    expect(all.map((e) => e.type)).toEqual(['opened', 'run', 'run', 'resolved', 'run', 'run']);
    expect((await readEvents(r.redis, k, { kind: 'listing' })).map((e) => e.type)).toEqual(['opened', 'resolved']);
    expect(await readEvents(r.redis, k, { host: 'other' })).toEqual([]);
    expect((await readEvents(r.redis, k, { type: 'run', source: 'maillog' })).length).toBe(2);
    expect((await readEvents(r.redis, k, { newestFirst: true, limit: 2 })).map((e) => e.type)).toEqual(['run', 'run']);
    expect((await readEvents(r.redis, k, { newestFirst: true, type: ['opened', 'resolved'] })).map((e) => e.type)).toEqual(['resolved', 'opened']);
    expect(await readEvents(r.redis, k, { since: new Date(Date.now() + 60_000) })).toEqual([]);
    expect((await readEvents(r.redis, k, { since: new Date(Date.now() - 60_000) })).length).toBe(6);
    expect((await readEvents(r.redis, k, { after: all[3]!.streamId })).map((e) => e.type)).toEqual(['run', 'run']);
  });

  it('a run applied twice (a retried job) appends its events once', async () => {
    const issues = { source: 'probe-test', runId: 'run-1', at: '2026-11-03T10:00:00.000Z', open: [], undetermined: [] };
    const withOne = { ...issues, open: [{ id: 'p:1', kind: 'probe_failing', severity: 'problem' as const, source: 'probe-test', state: 'failing', firstSeen: issues.at, lastSeen: issues.at }] };
    const a = await applySourceIssues(r.redis, k, withOne, { status: 'ok', maxLen: 1000 });
    const b = await applySourceIssues(r.redis, k, withOne, { status: 'ok', maxLen: 1000 });
    expect([a.applied, b.applied]).toEqual([true, false]);
    expect((await readEvents(r.redis, k)).map((e) => e.type)).toEqual(['opened', 'run']);
  });
});

/** The raw config the dashboard part of the test loads (same hosts and zones). */
function rawFor(): Record<string, unknown> {
  return { rbls: ['bl.test'], mta_map: { mx: { fqdn: 'mx.example.test', ssh_host: ssh.host, ssh_port: ssh.port, maillog_path: log } }, provider_block_strings: { hotmail: HOTMAIL } };
}
