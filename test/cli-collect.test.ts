/**
 * `mtarep collect` as cron runs it: the real CLI in a child process (no TTY), a temp config pointing
 * at the test Redis and loopback peers. Exit codes, --json, and silence on stderr unless something failed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { keys } from '../lib/keys.js';
import { connectRedis } from '../lib/redis.js';
import type { RunSummary } from '../lib/model.js';
import type { PhaseReport } from '../lib/phases.js';
import { runCli } from './helpers/cli.js';
import { startDnsServer, type TestDnsServer } from './helpers/dns-server.js';
import { startHttpServer, type TestHttpServer } from './helpers/http-server.js';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { startSmtpGreeting, type SmtpGreeting } from './helpers/smtp-greeting.js';
import { ANSWERS_MS } from './helpers/timeouts.js';
import { deliveryLine } from './helpers/maillog-log.js';
import { startSshServer, type TestSshServer } from './helpers/ssh-server.js';

const mta = '127.1.0.30';
const sndsKey = 'cli-secret-key-777';
let r: TestRedis;
let dns: TestDnsServer;
let http: TestHttpServer;
let smtp: SmtpGreeting;
let dir: string;
const k = keys('mtarep:');

beforeAll(async () => {
  r = await testRedis();
  dns = await startDnsServer();
  dns.testPoints('bl.test');
  dns.list('bl.test', mta, ['127.0.0.2']);
  dns.set('mx.example.test', { A: [mta] });
  dns.set('30.0.1.127.in-addr.arpa', { PTR: ['mx.example.test'] });
  http = await startHttpServer();
  smtp = await startSmtpGreeting({ host: mta, banner: '220 mx.example.test ESMTP' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-cli-collect-'));
});
afterAll(async () => {
  await Promise.all([r.close(), dns.close(), http.close(), smtp.close()]);
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await r.redis.flushdb();
  http.route('/snds/data.aspx', { body: `${mta},4/30/2024 12:00 AM,4/30/2024 11:59 PM,1,1,1,GREEN,< 0.1%,,,,,,\r\n` });
});

function writeConfig(extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, 'mtarep.yml');
  fs.writeFileSync(
    file,
    stringify({
      redis_url: r.url,
      data_dir: './data',
      dns: { servers: [dns.address], timeout_ms: ANSWERS_MS, tries: 1 },
      rbls: ['bl.test'],
      senderscore_zone: false,
      snds_key: sndsKey,
      snds_url: `${http.url}snds/`,
      snds_timeout_ms: ANSWERS_MS,
      smtp_banner_port: smtp.port,
      smtp_banner_timeout_ms: ANSWERS_MS,
      mta_map: { mx: 'mx.example.test' },
      ...extra,
    }),
  );
  return file;
}

describe('mtarep collect', () => {
  it('exits 0 and prints one summary line, nothing on stderr', async () => {
    const res = await runCli(['collect', '--config', writeConfig()]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^mtarep collect ok: 1 hosts, 1 IPs in \d+\.\d s\n$/);
    expect(JSON.parse((await r.redis.get(k.ip(mta)))!).dnsbl.value.zones[0].state).toBe('listed');
  });

  it('keeps config warnings out of stderr under cron (they go to error_log)', async () => {
    // Both redis_url and redis_server: a config warning ("redis_url wins"), not a failure.
    const res = await runCli(['collect', '--config', writeConfig({ redis_server: '127.0.0.1:1', error_log: './collect.log' })]);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('');
    expect(fs.readFileSync(path.join(dir, 'collect.log'), 'utf8')).toMatch(/redis_url wins/);
  });

  it('--json prints the run summary as JSON', async () => {
    const res = await runCli(['collect', '--json', '--config', writeConfig()]);
    expect(res.code).toBe(0);
    const s = JSON.parse(res.stdout) as RunSummary;
    expect(s).toMatchObject({ status: 'ok', hosts: 1, ips: 1, errors: [] });
    expect(s.checks.dnsbl).toEqual({ ok: 1, error: 0, skipped: 0 });
    // One summary covers both sources (this host has no SSH: its maillog is skipped).
    expect(s.sources).toEqual(['reputation', 'maillog', 'probes', 'esp']);
    expect(s.checks.maillog).toEqual({ ok: 0, error: 0, skipped: 1 });
    expect(JSON.parse((await r.redis.get(k.lastRun))!)).toEqual(s);
  });

  it('--only runs the named sources; an unknown name is a usage error naming the sources', async () => {
    const res = await runCli(['collect', '--only', 'maillog', '--json', '--config', writeConfig()]);
    expect(res.code).toBe(0);
    const s = JSON.parse(res.stdout) as RunSummary;
    expect(s).toMatchObject({ status: 'ok', sources: ['maillog'], ips: 0 });
    expect(Object.keys(s.checks)).toEqual(['maillog']);
    expect(await r.redis.exists(k.ip(mta))).toBe(0);

    const bad = await runCli(['collect', '--only', 'reputation,webhooks', '--config', writeConfig()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--only: unknown source 'webhooks': the sources are reputation, maillog, probes, esp/);
    const badCfg = await runCli(['collect', '--config', writeConfig({ sources: { reputaton: { interval: 60 } } })]);
    expect(badCfg.code).toBe(2);
    expect(badCfg.stderr).toMatch(/sources\.reputaton: no such source/);
  });

  it('--output-format influx prints the run\'s figures as line protocol (for Telegraf exec), read back from the store', async () => {
    const res = await runCli(['collect', '--output-format', 'influx', '--config', writeConfig()]);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('');
    const lines = res.stdout.trimEnd().split('\n');
    const s = JSON.parse((await r.redis.get(k.lastRun))!) as RunSummary;
    const ts = String(BigInt(Date.parse(s.finishedAt)) * 1_000_000n);
    expect(lines[0]).toBe(`mtarep_run,status=ok duration_seconds=${s.durationMs / 1000},hosts=1i,ips=1i,errors=0i,unhealthy_zones=0i,ok=1i ${ts}`);
    expect(lines).toContain(`mtarep_dnsbl,host=mx,ip=${mta},zone=bl.test listed=1i,error=0i ${ts}`);
    expect(lines.find((l) => l.startsWith('mtarep_ip,'))).toBe(`mtarep_ip,host=mx,ip=${mta} checked=1i,listings=1i,dnsbl_errors=0i,snds_traps=0i,snds_color="green",snds_error=0i,rdns_match=1i,rdns_error=0i,fdns_match=1i,fdns_error=0i,helo_match=1i,helo_error=0i ${ts}`);
    expect(res.stdout).not.toContain(sndsKey);
    const bad = await runCli(['collect', '--output-format', 'xml', '--config', writeConfig()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--output-format must be text, json or influx, not "xml"/);
  });

  it('exits 1 on partial failure and says what failed on stderr, without the key', async () => {
    http.route('/snds/data.aspx', { status: 500, body: 'down' });
    const res = await runCli(['collect', '--config', writeConfig()]);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^mtarep collect partial: 1 hosts, 1 IPs in \d+\.\d s, 1 error\n$/);
    expect(res.stderr).toMatch(/SNDS data\.aspx answered HTTP 500/);
    expect(res.stdout + res.stderr).not.toContain(sndsKey);
    // Under cron (`>>log 2>&1`) the summary line appears once: stderr says what failed, not the line again.
    expect(res.stderr).not.toContain('mtarep collect partial');
    const warned = res.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; errors?: string[] });
    expect(warned.find((w) => w.msg === 'what failed in this run')?.errors).toEqual([expect.stringMatching(/SNDS data\.aspx answered HTTP 500/)]);
  });

  it('exits 4 when the run itself fails (Redis refuses a write), and says why', async () => {
    await r.redis.set(k.hostIndex, 'not a set');
    const res = await runCli(['collect', '--config', writeConfig()]);
    expect(res.code).toBe(4);
    expect(res.stdout).toMatch(/^mtarep collect failed: /);
    expect(res.stderr).toMatch(/collector run failed.*WRONGTYPE/);
  });

  it('exits 4 when Redis refuses redis_url\'s database (past its 64), naming it without the password; nothing written to database 0', async () => {
    const user = `mtarep-cli-collect-${process.pid}`;
    await r.redis.call('ACL', 'SETUSER', user, 'reset', 'on', '>Db99-S3cretPW', '~*', '&*', '+@all');
    const db0 = await connectRedis({ url: `${inject('redisUrl')}/0` }, { reconnect: false });
    try {
      const url = new URL(r.url);
      url.username = user;
      url.password = 'Db99-S3cretPW';
      url.pathname = '/99';
      const res = await runCli(['collect', '--config', writeConfig({ redis_url: url.toString() })]);
      expect(res.code).toBe(4);
      expect(res.stderr).toMatch(/refused database 99 of redis_url .*DB index is out of range; nothing was written/);
      expect(res.stdout + res.stderr).not.toContain('Db99-S3cretPW');
      expect(await db0.exists(k.ip(mta), k.hostIndex)).toBe(0);
    } finally {
      db0.disconnect();
      await r.redis.call('ACL', 'DELUSER', user);
    }
  });

  it('a malformed redis_url is a config error (exit 2) for check-config and collect alike, without the password', async () => {
    const base = new URL(r.url);
    for (const [redisUrl, problem] of [
      [`redis://:S3cretPW@127.0.0.1:notaport/0`, /redis_url: the port must be a number from 1 to 65535/],
      [`redis://:S3cretPW@[::1/0`, /redis_url: the host: an IPv6 address needs its closing \]/],
      [`redis://:S3c%ZZret@${base.host}/0`, /redis_url: the password has a bad percent-encoding/],
      [`redis://${base.host}/abc`, /redis_url: the database .* must be a non-negative integer/],
      [`redis://${base.host}/-1`, /redis_url: the database .* must be a non-negative integer/],
    ] as const) {
      const file = writeConfig({ redis_url: redisUrl });
      for (const command of ['check-config', 'collect']) {
        const res = await runCli([command, '--config', file]);
        expect(res.code, `${command} ${redisUrl}`).toBe(2);
        expect(res.stderr).toMatch(problem);
        expect(res.stderr).not.toMatch(/S3c|stack|at .*:\d+:\d+/);
      }
    }
    expect(await r.redis.dbsize()).toBe(0);
  });

  it('exits 3 when another run holds the lock, naming the holder', async () => {
    await r.redis.set(k.sourceLock('reputation'), JSON.stringify({ token: 't', host: 'cron-box', pid: 99, since: '2024-05-01T10:00:00Z' }), 'PX', 30_000);
    const res = await runCli(['collect', '--config', writeConfig()]);
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/pid 99 on cron-box, started 2024-05-01T10:00:00Z holds the collector lock/);
    const json = await runCli(['collect', '--json', '--config', writeConfig()]);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'locked' });
    expect(await r.redis.exists(k.ip(mta))).toBe(0);
  });
});

describe('mtarep collect --only maillog as a process', () => {
  let srv: TestSshServer;
  // A minute ago by the real clock (the CLI reads it), so maybe yesterday: a first read counts only
  // today's lines, so the line is written after a first run has read the log empty (new lines all count).
  const lineTime = new Date(Date.now() - 60_000);
  beforeAll(async () => {
    srv = await startSshServer();
    fs.writeFileSync(path.join(dir, 'id'), srv.clientKey.private, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'known_hosts'), srv.knownHostsLine() + '\n');
    fs.writeFileSync(path.join(srv.dir, 'maillog'), '');
  });
  afterAll(async () => {
    await srv?.close();
  });
  const maillogConfig = () =>
    writeConfig({
      mta_map: { mta1: { fqdn: 'mta1.example.com', ssh_host: srv.host, ssh_port: srv.port, maillog_path: path.join(srv.dir, 'maillog'), timezone: 'UTC', ips: ['192.0.2.10'] } },
      ssh_key: path.join(dir, 'id'),
      ssh_user: 'mtarep',
      ssh_known_hosts: path.join(dir, 'known_hosts'),
    });

  it('MTAREP_PHASES=<file> records when each phase was reached; the SSH connection starts before Redis is connected', async () => {
    const file = path.join(dir, 'phases.json');
    const empty = await runCli(['collect', '--only', 'maillog', '--config', maillogConfig()]);
    expect(empty.code).toBe(0);
    fs.appendFileSync(path.join(srv.dir, 'maillog'), deliveryLine(lineTime, 'A1B2C3D4E5', 'u@gmail.com', 'sent') + '\n');
    const before = srv.accepted;
    const res = await runCli(['collect', '--only', 'maillog', '--config', maillogConfig()], { env: { MTAREP_PHASES: file } });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    // One connection: the one started early is the one the read used.
    expect(srv.accepted - before).toBe(1);
    const report = JSON.parse(fs.readFileSync(file, 'utf8')) as PhaseReport;
    const mark = (name: string) => {
      const m = report.marks.find((x) => x.name === name);
      if (!m) throw new Error(`no mark ${name} in ${JSON.stringify(report.marks)}`);
      return m;
    };
    const at = (name: string) => mark(name).ms;
    const order = ['main', 'config loaded', 'command loaded', 'ssh connect', 'redis connected', 'locked', 'maillog state loaded', 'probe done', 'committed', 'summary stored', 'alert step done', 'redis closed'];
    const times = order.map(at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(at('ssh ready')).toBeGreaterThan(at('ssh connect'));
    expect(report.exitMs).toBeGreaterThanOrEqual(at('redis closed'));
    // Each mark has the main thread's CPU by then (Linux), never going back.
    const cpu = order.map((n) => mark(n).cpuMs);
    expect(cpu.every((c) => typeof c === 'number' && c >= 0)).toBe(true);
    expect(cpu).toEqual([...cpu].sort((a, b) => a! - b!));
    expect(await r.redis.hget(k.counter('mta1', lineTime.toISOString().slice(0, 10).replace(/-/g, ''), 'sent'), 'gmail.com')).toBe('1');
  });
});
