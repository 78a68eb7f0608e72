/**
 * Sources on BullMQ against the real test Redis and the loopback DNS server: two workers (this
 * process and a real `mtarep worker` child process) share one sharded reputation run, every IP
 * queried exactly once (counted at the DNS server), one merged summary; SIGTERM while the child holds
 * a shard lets it finish that shard, then it exits 0. The schedulers run each source on its own interval: a slow source never delays
 * another and two runs of one source never overlap.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { stringify } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dnsblName } from '../../lib/net/dns/names.js';
import { queueNames, startScheduler, type Scheduler } from '../../collector/scheduler.js';
import { parseConfig } from '../../lib/config/load.js';
import { keys } from '../../lib/keys.js';
import { silentLogger } from '../../lib/log.js';
import type { RunSummary } from '../../lib/model.js';
import { spawnCli } from '../helpers/cli.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';

const ips = Array.from({ length: 12 }, (_, i) => `127.1.2.${i + 1}`);
const k = keys('mtarep:');
let r: TestRedis;
let dns: TestDnsServer;
let dir: string;

beforeAll(async () => {
  [r, dns] = await Promise.all([testRedis(), startDnsServer()]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-sched-'));
});
afterAll(async () => {
  await Promise.all([r?.close(), dns?.close()]);
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await r.redis.flushdb();
  dns.reset();
  dns.testPoints('bl.test');
  for (const ip of ips.slice(0, 3)) dns.list('bl.test', ip, ['127.0.0.2']);
});

function writeConfig(extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, `mtarep-${Math.random().toString(36).slice(2)}.yml`);
  fs.writeFileSync(
    file,
    stringify({
      redis_url: r.url,
      data_dir: dir,
      dns: { servers: [dns.address], timeout_ms: 30_000, tries: 1 },
      rbls: ['bl.test'],
      senderscore_zone: false,
      dns_match: false,
      mta_map: {
        mx1: { fqdn: 'mx1.example.test', ips: ips.slice(0, 4) },
        mx2: { fqdn: 'mx2.example.test', ips: ips.slice(4, 8) },
        mx3: { fqdn: 'mx3.example.test', ips: ips.slice(8) },
      },
      ...extra,
    }),
  );
  return file;
}

/** Poll until `fn` gives a value (bounded), never a sleep as an assertion. */
async function until<T>(fn: () => Promise<T | null | undefined>, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function json<T>(key: string): Promise<T | null> {
  const v = await r.redis.get(key);
  return v === null ? null : (JSON.parse(v) as T);
}

function startChildWorker(file: string): { child: ChildProcess; ready: Promise<void>; stderr: () => string } {
  const child = spawnCli(['worker', '--verbose', '--config', file]);
  let stderr = '';
  child.stdout!.resume();
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/worker ready/.test(stderr)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${stderr}`)));
  });
  return { child, ready, stderr: () => stderr };
}

describe('sources on BullMQ', () => {
  it('two workers (two processes) share one sharded run: every IP checked exactly once, one merged summary', async () => {
    // Slow answers: each shard takes a while, so both idle workers get shards.
    dns.slow('bl.test', 300);
    const file = writeConfig({ sources: { reputation: { shard_size: 3 } } });
    const config = parseConfig(fs.readFileSync(file, 'utf8'), file);
    const w = startChildWorker(file);
    let here: Scheduler | undefined;
    try {
      await w.ready;
      here = await startScheduler({ config, redis: r.redis, log: silentLogger, schedule: false, name: 'test-worker' });
      dns.clearQueries();
      const q = new Queue(queueNames.shards, { connection: r.redis.duplicate({ maxRetriesPerRequest: null }), prefix: k.bullPrefix });
      const jobId = await here.runNow('reputation');

      // SIGTERM the child as soon as it holds a shard: it stops taking jobs but finishes that one.
      await until(async () => ((await q.getJobs(['active', 'completed'])).some((j) => j.processedBy !== undefined && j.processedBy !== 'test-worker') ? true : null), 'the child taking a shard');
      const exited = new Promise<number | null>((res) => w.child.once('exit', (code) => res(code)));
      w.child.kill('SIGTERM');

      const s = await until(() => json<RunSummary>(k.sourceLastRun('reputation')), 'the reputation run');
      expect(s.id).toBe(`reputation:${jobId}`);
      expect(s).toMatchObject({ status: 'ok', ips: 12, hosts: 3, sources: ['reputation'], errors: [] });
      expect(s.checks.dnsbl).toEqual({ ok: 12, error: 0, skipped: 0 });
      expect(await r.redis.llen(k.runs)).toBe(1);
      expect(await exited).toBe(0);

      // Every IP queried exactly once, at the DNS server.
      const perIp = ips.map((ip) => dns.count((x) => x.name === dnsblName(ip, 'bl.test') && x.type === 'A'));
      expect(perIp).toEqual(ips.map(() => 1));
      const listed = await Promise.all(ips.map(async (ip) => (await json<{ dnsbl: { value: { zones: { state: string }[] } } }>(k.ip(ip)))!.dnsbl.value.zones[0]!.state));
      expect(listed).toEqual(ips.map((_, i) => (i < 3 ? 'listed' : 'not_listed')));

      // Four shards, taken by both workers.
      const done = await q.getJobs(['completed']);
      expect(done.map((j) => j.data.index).sort()).toEqual([0, 1, 2, 3]);
      const by = new Set(done.map((j) => j.processedBy));
      expect(by.size).toBe(2);
      expect(by.has('test-worker')).toBe(true);
      await q.close();
    } finally {
      await here?.close();
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
  });

  it('with one worker a large run stays in its process: no shard jobs', async () => {
    const file = writeConfig({ sources: { reputation: { shard_size: 3 } } });
    const config = parseConfig(fs.readFileSync(file, 'utf8'), file);
    const s = await startScheduler({ config, redis: r.redis, log: silentLogger, schedule: false });
    try {
      dns.clearQueries();
      const jobId = await s.runNow('reputation');
      const sum = await until(() => json<RunSummary>(k.sourceLastRun('reputation')), 'the reputation run');
      expect(sum).toMatchObject({ id: `reputation:${jobId}`, status: 'ok', ips: 12 });
      expect(ips.map((ip) => dns.count((x) => x.name === dnsblName(ip, 'bl.test') && x.type === 'A'))).toEqual(ips.map(() => 1));
      const q = new Queue(queueNames.shards, { connection: r.redis.duplicate({ maxRetriesPerRequest: null }), prefix: k.bullPrefix });
      expect(await q.getJobCountByTypes('completed', 'waiting', 'active', 'failed')).toBe(0);
      await q.close();
    } finally {
      await s.close();
    }
  });

  it('each source on its own interval: a slow source never delays another; runs of one source never overlap', async () => {
    // The reputation run takes about 3 s, every second; maillog (no SSH hosts: instant) every second, so
    // about three maillog runs fit inside one reputation run, even when a loaded machine slows them.
    dns.slow('bl.test', 3000);
    const file = writeConfig({ sources: { reputation: { interval: 1 }, maillog: { interval: 1 } } });
    const config = parseConfig(fs.readFileSync(file, 'utf8'), file);
    const s = await startScheduler({ config, redis: r.redis, log: silentLogger });
    try {
      const firstRep = await until(() => json<RunSummary>(k.sourceLastRun('reputation')), 'a reputation run', 60_000);
      // While that first reputation run was going, maillog ran (a slow source never holds another).
      const runs = (await r.redis.lrange(k.runs, 0, -1)).map((x) => JSON.parse(x) as RunSummary);
      const ml = runs.filter((x) => x.sources?.[0] === 'maillog' && x.finishedAt <= firstRep.finishedAt && x.startedAt >= firstRep.startedAt);
      expect(ml.length).toBeGreaterThanOrEqual(1);
      // Wait for a few more reputation runs, then check no two overlapped.
      await until(async () => ((await r.redis.lrange(k.runs, 0, -1)).filter((x) => x.includes('"sources":["reputation"]')).length >= 3 ? true : null), 'three reputation runs', 90_000);
    } finally {
      await s.close();
    }
    const rep = (await r.redis.lrange(k.runs, 0, -1))
      .map((x) => JSON.parse(x) as RunSummary)
      .filter((x) => x.sources?.[0] === 'reputation')
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    for (let i = 1; i < rep.length; i++) expect(rep[i]!.startedAt >= rep[i - 1]!.finishedAt, `run ${i} overlaps`).toBe(true);
  });
});
