/**
 * Whole collector runs end to end against real loopback peers (DNS server, SNDS/HTTP server, SMTP
 * greeters) and the real test Redis: what is stored, stale values, ack cleanup, removals, the lock.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dnsResendNote, LockHeldError, runChecks, runCollect, type CollectDeps } from '../../collector/run.js';
import { captureLog } from '../helpers/capture-log.js';
import type { AnyPlugin, CheckDeps, CheckPlugin, Target } from '../../lib/checks/types.js';
import { dnsblPlugin } from '../../lib/checks/dnsbl.js';
import { senderscorePlugin } from '../../lib/checks/senderscore.js';
import type { DnsClient } from '../../lib/net/dns/client.js';
import { keys } from '../../lib/keys.js';
import { silentLogger } from '../../lib/log.js';
import type { BlocksRecord, CheckResult, DnsblValue, HistoryPoint, HostRecord, IpRecord, RunSummary } from '../../lib/model.js';
import { configFrom } from '../helpers/collector-config.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startHttpServer, type TestHttpServer } from '../helpers/http-server.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { startSmtpGreeting, type SmtpGreeting } from '../helpers/smtp-greeting.js';
import { ANSWERS_MS, SILENT_MS } from '../helpers/timeouts.js';

const mx1a = '127.1.0.10';
const mx1b = '127.1.0.11';
const mx2 = '127.1.0.20';

let r: TestRedis;
let dns: TestDnsServer;
let http: TestHttpServer;
const greeters: SmtpGreeting[] = [];
const k = keys('mtarep:');

const sndsRow = (ip: string, color: string, traps: number) =>
  `${ip},4/30/2024 12:00 AM,4/30/2024 11:59 PM,10,10,10,${color},< 0.1%,4/30/2024 1:00 AM,4/30/2024 2:00 AM,${traps},,,`;

beforeAll(async () => {
  r = await testRedis();
  dns = await startDnsServer();
  http = await startHttpServer();
  const g = await startSmtpGreeting({ host: mx1a, banner: '220 mx1.example.test ESMTP' });
  greeters.push(g);
  greeters.push(await startSmtpGreeting({ host: mx1b, port: g.port, banner: '220 mx1.example.test ESMTP' }));
  greeters.push(await startSmtpGreeting({ host: mx2, port: g.port, banner: '220 mx2.example.test ESMTP' }));
});
afterAll(async () => {
  await Promise.all([r.close(), dns.close(), http.close(), ...greeters.map((g) => g.close())]);
});

beforeEach(async () => {
  await r.redis.flushdb();
  dns.reset();
  dns.testPoints('bl.test');
  dns.testPoints('score.test');
  dns.list('bl.test', mx1a, ['127.0.0.2', '127.0.0.4'], 'spam seen');
  dns.list('score.test', mx1a, ['127.0.4.72']);
  dns.list('score.test', mx1b, ['127.0.4.99']);
  dns.set('mx1.example.test', { A: [mx1a, mx1b] });
  dns.set('mx2.example.test', { A: [mx2] });
  for (const [ip, name] of [
    [mx1a, 'mx1.example.test'],
    [mx1b, 'mx1.example.test'],
    [mx2, 'mx2.example.test'],
  ] as const) {
    dns.set(`${ip.split('.').reverse().join('.')}.in-addr.arpa`, { PTR: [name] });
  }
  http.route('/snds/data.aspx', { body: [sndsRow(mx1a, 'YELLOW', 3), sndsRow(mx2, 'GREEN', 0)].join('\r\n') + '\r\n' });
});

function configWith(extra: Record<string, unknown> = {}) {
  return configFrom({
    dns: { servers: [dns.address], timeout_ms: ANSWERS_MS, tries: 1 },
    rbls: ['bl.test'],
    senderscore_zone: 'score.test',
    snds_key: 'run-test-key-42',
    snds_url: `${http.url}snds/`,
    snds_timeout_ms: ANSWERS_MS,
    smtp_banner_port: greeters[0]!.port,
    smtp_banner_timeout_ms: ANSWERS_MS,
    mta_map: { mx1: 'mx1.example.test', mx2: { fqdn: 'mx2.example.test', ips: [mx2] } },
    ...extra,
  });
}

let clock = Date.parse('2024-05-01T10:00:00Z');
function deps(extra: Partial<CollectDeps> & { config: CollectDeps['config'] }): CollectDeps {
  // Each run 15 minutes after the previous one: history points and stale times are distinct.
  clock += 15 * 60_000;
  const t = clock;
  return { redis: r.redis, log: silentLogger, now: () => new Date(t), ...extra };
}

async function getJson<T>(key: string): Promise<T> {
  const v = await r.redis.get(key);
  expect(v, key).not.toBeNull();
  return JSON.parse(v!) as T;
}

describe('runCollect', () => {
  it('checks every IP of every host and stores records, host records, history and the summary', async () => {
    const config = configWith();
    const steps: [number, number][] = [];
    const before = Number((await r.redis.get(k.dataVersion)) ?? 0);
    const s = await runCollect(deps({ config, progress: { update: (d, n) => steps.push([d, n]) } }));

    expect(s).toMatchObject({ status: 'ok', hosts: 2, ips: 3, unhealthyZones: [], errors: [] });
    expect(s.checks).toMatchObject({
      hosts: { ok: 2, error: 0 },
      dnsbl: { ok: 3, error: 0 },
      senderscore: { ok: 3, error: 0 },
      snds: { ok: 3, error: 0 },
      dnsMatch: { ok: 3, error: 0 },
      httpReputation: { ok: 0, error: 0, skipped: 3 },
    });

    const a = await getJson<IpRecord>(k.ip(mx1a));
    expect(a).toMatchObject({ ip: mx1a, host: 'mx1', fqdn: 'mx1.example.test', runId: s.id });
    expect(a.dnsbl.status).toBe('ok');
    expect(a.dnsbl.value!.zones).toEqual([expect.objectContaining({ zone: 'bl.test', state: 'listed', codes: ['127.0.0.2', '127.0.0.4'], txt: 'spam seen' })]);
    expect(a.senderscore).toMatchObject({ status: 'ok', value: { score: 72 } });
    expect(a.snds).toMatchObject({ status: 'ok', value: { data: { color: 'yellow', traps: 3 }, blocked: null } });
    expect(a.dnsMatch).toMatchObject({ status: 'ok', value: { rdns: { state: 'match' }, fdns: { state: 'match' }, helo: { state: 'match' } } });
    expect((await getJson<IpRecord>(k.ip(mx1b))).snds).toMatchObject({ status: 'ok', value: { data: null } });

    expect(await getJson<HostRecord>(k.host('mx1'))).toMatchObject({ ips: [mx1a, mx1b], resolve: { status: 'ok' }, runId: s.id });
    expect(await getJson<HostRecord>(k.host('mx2'))).toMatchObject({ ips: [mx2], resolve: { status: 'config' } });
    expect((await r.redis.smembers(k.hostIndex)).sort()).toEqual(['mx1', 'mx2']);

    const hist = (await r.redis.zrange(k.history(mx1a), 0, -1)).map((p) => JSON.parse(p) as HistoryPoint);
    expect(hist).toEqual([{ t: Date.parse(a.checkedAt), score: 72, listings: 1, traps: 3, color: 'yellow' }]);

    expect(await getJson<RunSummary>(k.lastRun)).toEqual(s);
    expect(await r.redis.llen(k.runs)).toBe(1);
    expect(Number(await r.redis.get(k.dataVersion))).toBeGreaterThan(before);
    expect(await r.redis.exists(k.sourceLock('reputation'))).toBe(0);

    expect(steps.at(-1)![0]).toBe(steps.at(-1)![1]);
    expect(steps.map((x) => x[0])).toEqual([...steps.map((x) => x[0])].sort((p, q) => p - q));
  });

  it('a failing source is an error with the reason; the last good value is kept as stale; the run is partial', async () => {
    const config = configWith();
    const first = await runCollect(deps({ config }));
    expect(first.status).toBe('ok');
    const goodAt = (await getJson<IpRecord>(k.ip(mx1a))).snds.at;

    http.route('/snds/data.aspx', { body: '<html><title>Sign in</title></html>' });
    dns.fail('score.test', 'SERVFAIL');
    const s = await runCollect(deps({ config }));
    expect(s.status).toBe('partial');
    expect(s.checks.snds).toEqual({ ok: 0, error: 3, skipped: 0 });
    expect(s.errors.join('\n')).toMatch(/snds: SNDS data export returned an HTML page instead of CSV \("Sign in"\).*\(3 IPs/);
    expect(s.errors.join('\n')).not.toContain('run-test-key-42');

    const a = await getJson<IpRecord>(k.ip(mx1a));
    expect(a.snds).toMatchObject({ status: 'error', reason: expect.stringMatching(/HTML page/), stale: { at: goodAt, value: { data: { color: 'yellow' } } } });
    expect(a.snds.value).toBeUndefined();
    expect(a.senderscore).toMatchObject({ status: 'error', stale: { value: { score: 72 } } });
    // The failed run still adds a history point, with nulls where nothing fresh was measured.
    const hist = (await r.redis.zrange(k.history(mx1a), 0, -1)).map((p) => JSON.parse(p) as HistoryPoint);
    expect(hist.map((h) => [h.score, h.color])).toEqual([
      [72, 'yellow'],
      [null, null],
    ]);
    expect(await r.redis.llen(k.runs)).toBe(2);
  });

  it('an unhealthy zone and an unresolvable host make the run partial and are named', async () => {
    dns.fail('dead.test', 'drop');
    const config = configWith({ rbls: ['bl.test', { zone: 'dead.test', timeout_ms: SILENT_MS }], mta_map: { mx1: 'mx1.example.test', ghost: 'ghost.example.test' } });
    const s = await runCollect(deps({ config }));
    expect(s.status).toBe('partial');
    expect(s.unhealthyZones).toEqual([expect.stringMatching(/^dead\.test: self-test .*timeout/)]);
    expect(s.checks.hosts).toEqual({ ok: 1, error: 1, skipped: 0 });
    expect(s.errors[0]).toMatch(/^host ghost: .*ghost\.example\.test/);
    expect(await getJson<HostRecord>(k.host('ghost'))).toMatchObject({ ips: [], resolve: { status: 'error' } });
    const a = await getJson<IpRecord>(k.ip(mx1a));
    expect(a.dnsbl.value!.zones.find((z) => z.zone === 'dead.test')).toMatchObject({ state: 'error', unhealthy: expect.any(String) });
  });

  it('removes acknowledgements whose issue has gone and keeps the others', async () => {
    const config = configWith({ mta_map: { mx1: 'mx1.example.test', mx2: { fqdn: 'mx2.example.test', ips: [mx2] } } });
    const blocks: BlocksRecord = {
      host: 'mx2',
      status: 'ok',
      at: '2024-05-01T10:00:00Z',
      blocksAt: '2024-05-01T10:00:00Z',
      blocks: [{ provider: 'gmail', line: 'x', at: '2024-05-01T10:00:00Z' }],
    };
    await r.redis.set(k.blocks('mx2'), JSON.stringify(blocks));
    await r.redis.hset(k.acks, {
      [`rbl:bl.test:${mx1a}`]: 'alice 2024-05-01 09:00:00',
      [`rbl:bl.test:${mx1b}`]: 'bob 2024-05-01 09:00:00',
      'block:gmail:mx2': 'carol 2024-05-01 09:00:00',
      'block:yahoo:mx2': 'dave 2024-05-01 09:00:00',
      // Acks of other issue kinds: one whose issue this run resolves, two of issues it knows nothing of.
      'score:198.51.100.1': 'erin 2024-05-01 09:00:00',
      'snds:198.51.100.2:filter': 'frank 2024-05-01 09:00:00',
      'probe:example.org': 'grace 2024-05-01 09:00:00',
    });
    const open = { id: 'score:198.51.100.1', kind: 'score', severity: 'warning', source: 'reputation', host: 'mx2', ip: '198.51.100.1', state: 'score 42', firstSeen: '2024-05-01T09:00:00Z', lastSeen: '2024-05-01T09:00:00Z' };
    await r.redis.hset(k.issues, 'reputation', JSON.stringify({ runId: 'before', at: '2024-05-01T09:00:00Z', issues: [open] }));
    await runCollect(deps({ config }));
    expect(await r.redis.hgetall(k.acks)).toEqual({
      [`rbl:bl.test:${mx1a}`]: 'alice 2024-05-01 09:00:00',
      'block:gmail:mx2': 'carol 2024-05-01 09:00:00',
      'snds:198.51.100.2:filter': 'frank 2024-05-01 09:00:00',
      'probe:example.org': 'grace 2024-05-01 09:00:00',
    });

    // The listed zone times out next run: the listing is stale, not gone, and its ack stays.
    dns.fail('bl.test', 'drop');
    await runCollect(deps({ config: configWith({ mta_map: { mx1: 'mx1.example.test', mx2: { fqdn: 'mx2.example.test', ips: [mx2] } }, rbls: [{ zone: 'bl.test', timeout_ms: SILENT_MS }] }) }));
    expect(await r.redis.hget(k.acks, `rbl:bl.test:${mx1a}`)).toBe('alice 2024-05-01 09:00:00');
    const a = await getJson<IpRecord>(k.ip(mx1a));
    expect(a.dnsbl.value!.zones[0]).toMatchObject({ state: 'error', stale: { state: 'listed', codes: ['127.0.0.2', '127.0.0.4'] } });
  });

  it('deletes records of hosts and IPs no longer configured or resolved', async () => {
    await runCollect(deps({ config: configWith() }));
    expect(await r.redis.exists(k.ip(mx2), k.history(mx2), k.host('mx2'))).toBe(3);

    // mx2 leaves the config; mx1 now resolves to one address only.
    dns.set('mx1.example.test', { A: [mx1a] });
    await runCollect(deps({ config: configWith({ mta_map: { mx1: 'mx1.example.test' } }) }));
    expect(await r.redis.exists(k.ip(mx2), k.history(mx2), k.host('mx2'), k.ip(mx1b), k.history(mx1b))).toBe(0);
    expect(await r.redis.smembers(k.hostIndex)).toEqual(['mx1']);
    expect(await r.redis.exists(k.ip(mx1a))).toBe(1);
  });

  it('a host whose name stops resolving keeps its IPs checked, with the error on the host', async () => {
    const config = configWith({ mta_map: { mx1: 'mx1.example.test' } });
    await runCollect(deps({ config }));
    dns.fail('mx1.example.test', 'SERVFAIL');
    const s = await runCollect(deps({ config }));
    expect(s.status).toBe('partial');
    const h = await getJson<HostRecord>(k.host('mx1'));
    expect(h).toMatchObject({ ips: [mx1a, mx1b], resolve: { status: 'error', reason: expect.stringMatching(/still checking the 2 IP\(s\)/) } });
    expect((await getJson<IpRecord>(k.ip(mx1b))).runId).toBe(s.id);
  });

  it('a host whose A lookup fails while its AAAA answers keeps its IPv4 records, history and acks', async () => {
    const v6 = '::1';
    dns.set('mx1.example.test', { A: [mx1a, mx1b], AAAA: [v6] });
    const config = configWith({ mta_map: { mx1: 'mx1.example.test' } });
    await runCollect(deps({ config }));
    expect(await r.redis.exists(k.ip(mx1a), k.history(mx1a), k.ip(v6))).toBe(3);
    await r.redis.hset(k.acks, `rbl:bl.test:${mx1a}`, 'alice 2024-05-01 09:00:00');

    dns.fail('mx1.example.test', 'drop', 'A');
    // The A query goes unanswered: this run waits for the resolver's (long) timeout, which every
    // other query, answered, must not come near.
    const s = await runCollect(deps({ config }));
    // The IPv4 addresses are still checked (nothing says they went), and the run says what failed.
    const h = await getJson<HostRecord>(k.host('mx1'));
    expect(h.ips.sort()).toEqual([mx1a, mx1b, v6].sort());
    expect(h.resolve.reason).toMatch(/A: timeout.*still checking the 2 IP\(s\)/);
    expect((await getJson<IpRecord>(k.ip(mx1a))).runId).toBe(s.id);
    expect(await r.redis.zcard(k.history(mx1a))).toBe(2);
    expect(await r.redis.hget(k.acks, `rbl:bl.test:${mx1a}`)).toBe('alice 2024-05-01 09:00:00');
    expect(s.status).toBe('partial');
    expect(s.checks.hosts).toEqual({ ok: 0, error: 1, skipped: 0 });
    expect(s.errors.join('\n')).toMatch(/host mx1: .*A: timeout/);
  });

  it('a second run while one holds the lock throws LockHeldError and writes nothing', async () => {
    const config = configWith();
    await r.redis.set(k.sourceLock('reputation'), JSON.stringify({ token: 't', host: 'other-box', pid: 4242, since: '2024-05-01T09:59:00Z' }), 'PX', 30_000);
    const err = await runCollect(deps({ config })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as Error).message).toMatch(/pid 4242 on other-box, started 2024-05-01T09:59:00Z holds the collector lock/);
    expect(await r.redis.exists(k.ip(mx1a), k.lastRun)).toBe(0);
    await r.redis.del(k.sourceLock('reputation'));
  });

  it('each source has its own lock and summary; the last run shown merges the newest run of each', async () => {
    const config = configWith();
    await r.redis.set(k.sourceLock('maillog'), JSON.stringify({ token: 't', host: 'other-box', pid: 7, since: '2024-05-01T09:59:00Z' }), 'PX', 30_000);
    // All sources: the maillog lock is held, so nothing runs at all.
    const err = await runCollect(deps({ config })).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/pid 7 on other-box.*holds the collector lock of source maillog/);
    expect(await r.redis.exists(k.ip(mx1a), k.lastRun, k.sourceLock('reputation'))).toBe(0);
    // The reputation source alone runs beside it.
    const rep = await runCollect(deps({ config, only: ['reputation'] }));
    expect(rep).toMatchObject({ status: 'ok', sources: ['reputation'], ips: 3 });
    expect(rep.checks.maillog).toBeUndefined();
    expect(await getJson<RunSummary>(k.sourceLastRun('reputation'))).toMatchObject({ id: rep.id, sources: ['reputation'] });
    await r.redis.del(k.sourceLock('maillog'));
    const ml = await runCollect(deps({ config, only: ['maillog'] }));
    expect(ml).toMatchObject({ status: 'ok', sources: ['maillog'], ips: 0, checks: { maillog: { ok: 0, error: 0, skipped: 2 } } });
    // The dashboard's last run: the maillog run merged with the newest reputation run.
    const last = await getJson<RunSummary>(k.lastRun);
    expect(last).toMatchObject({ id: ml.id, status: 'ok', hosts: 2, ips: 3, sources: ['maillog', 'reputation'], startedAt: rep.startedAt, finishedAt: ml.finishedAt });
    expect(last.checks).toMatchObject({ dnsbl: { ok: 3 }, maillog: { skipped: 2 } });
    expect(await r.redis.llen(k.runs)).toBe(2);
  });

  it('runs of two sources that store at the same moment: the last run shown still has the newest of each', async () => {
    const config = configWith();
    // The reputation run reads the maillog source's summary, then waits (as if slow) until the maillog
    // run has stored its own, then stores: the merge it read is stale by then.
    let gate!: () => void;
    const opened = new Promise<void>((res) => (gate = res));
    let held = false;
    const slow = new Proxy(r.redis, {
      get(target, prop) {
        if (prop === 'mget') {
          return async (...keyList: string[]) => {
            const res = await target.mget(...keyList);
            if (!held && keyList.includes(k.sourceLastRun('maillog'))) {
              held = true;
              await opened;
            }
            return res;
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const repRun = runCollect({ ...deps({ config, only: ['reputation'] }), redis: slow });
    const deadline = Date.now() + 30_000;
    while (!held) {
      if (Date.now() > deadline) throw new Error('the reputation run never read the maillog summary');
      await new Promise((res) => setTimeout(res, 10));
    }
    const ml = await runCollect(deps({ config, only: ['maillog'] }));
    gate();
    const rep = await repRun;
    expect(rep.status).toBe('ok');
    // The maillog run finished later (its clock is 15 min on): the merge is named after it and holds both.
    const last = await getJson<RunSummary>(k.lastRun);
    expect(last).toMatchObject({ id: ml.id, startedAt: rep.startedAt, finishedAt: ml.finishedAt });
    expect([...(last.sources ?? [])].sort()).toEqual(['maillog', 'reputation']);
    expect(last.checks).toMatchObject({ dnsbl: { ok: 3 }, maillog: { skipped: 2 } });
  });

  it('a Redis failure during the run gives a failed summary, not a crash, and releases the lock', async () => {
    const config = configWith();
    // A key of the wrong type makes the host-index write fail inside the transaction.
    await r.redis.set(k.hostIndex, 'not a set');
    const s = await runCollect(deps({ config }));
    expect(s.status).toBe('failed');
    expect(s.errors[0]).toMatch(/^run failed: .*WRONGTYPE/);
    expect((await getJson<RunSummary>(k.lastRun)).status).toBe('failed');
    expect(await r.redis.exists(k.sourceLock('reputation'))).toBe(0);
  });

  it('warns when the resolver drops queries (datagrams sent again), naming the counts, and still gets every verdict', async () => {
    const config = configWith({ senderscore_zone: false, dns_match: false, snds_key: undefined });
    // The listed IP's first datagram is lost: answered from the copy sent again, within its one try.
    dns.dropFirst(`${mx1a.split('.').reverse().join('.')}.bl.test`, 1);
    const log = captureLog();
    const s = await runCollect(deps({ config, log }));
    expect(s.status).toBe('ok');
    expect(((await getJson<IpRecord>(k.ip(mx1a))).dnsbl as CheckResult<DnsblValue>).value!.zones[0]!.state).toBe('listed');
    const warn = log.lines.map((l) => JSON.parse(l) as { level: string; msg: string; resent?: number; queries?: number }).find((l) => l.msg.startsWith('DNS: '));
    expect(warn).toMatchObject({ level: 'warn', resent: 1 });
    expect(warn!.queries).toBeGreaterThan(1);
    expect(warn!.msg).toMatch(/^DNS: 1 datagram\(s\) of \d+ queries had to be sent again .*lower dns\.concurrency$/);
  });
});

describe('dnsResendNote', () => {
  it('says nothing without resends, a debug line under 1% of queries, a warning from 1%', () => {
    expect(dnsResendNote(200_000, 0)).toBeNull();
    expect(dnsResendNote(200_000, 19)).toMatchObject({ level: 'debug', fields: { queries: 200_000, resent: 19 } });
    expect(dnsResendNote(200_000, 1999)?.level).toBe('debug');
    expect(dnsResendNote(200_000, 2000)?.level).toBe('warn');
    expect(dnsResendNote(3, 1)).toMatchObject({ level: 'warn', message: expect.stringContaining('1 datagram(s) of 3 queries') });
  });
});

describe('runChecks', () => {
  it('a check that leaves an IP without a result or throws gives errors, never a clean verdict or a secret', async () => {
    const key = 'dqsSecretKey4242';
    const config = configFrom({
      rbls: ['bl.test', { zone: 'zen.spamhaus.org', dqs_key: key }],
      mta_map: { mx: { fqdn: 'mx.example.test', ips: [mx1a, mx1b] } },
    });
    const targets: Target[] = [mx1a, mx1b].map((ip) => ({ ip, family: 4, host: config.hosts[0]! }));
    // Breaks the contract: a result for the first IP only.
    const empty: CheckResult<DnsblValue> = { status: 'ok', at: '2024-05-01T10:00:00.000Z', value: { zones: [] } };
    const forgetful: CheckPlugin<DnsblValue> = {
      ...dnsblPlugin,
      skipReason: () => null,
      run: async () => new Map([[mx1a, empty]]),
    };
    const thrower: AnyPlugin = {
      ...senderscorePlugin,
      skipReason: () => null,
      run: () => Promise.reject(new Error(`resolving 10.0.1.127.${key}.zen.dq.spamhaus.net blew up`)),
    };
    const deps: CheckDeps = { config, log: silentLogger, now: () => new Date('2024-05-01T10:00:00Z'), dns: {} as DnsClient, fetch };
    const res = await runChecks([forgetful, thrower], targets, deps, () => {});
    if (!res.dnsbl || !res.senderscore || 'skipped' in res.dnsbl || 'skipped' in res.senderscore) throw new Error('not run');
    expect(res.dnsbl.results.get(mx1a)).toEqual(empty);
    // The IP left without a result is an error (it would otherwise look unlisted), in the common shape.
    expect(res.dnsbl.results.get(mx1b)).toMatchObject({ status: 'error', reason: expect.stringMatching(/^dnsbl check failed: .*no result for this IP/) });
    const score = res.senderscore.results.get(mx1b)!;
    expect(score).toMatchObject({ status: 'error', reason: expect.stringMatching(/^senderscore check failed: resolving .*blew up$/) });
    expect(JSON.stringify([...res.senderscore.results.values()])).not.toContain(key);
  });
});
