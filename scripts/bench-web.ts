/**
 * npm run bench:web -- the dashboard at fleet size: 1,000 hosts x 2 IPs stored in a throwaway
 * redis-server on a free loopback port (never 6379). Prints Redis round trips per overview render
 * (counted as writes on the client's socket: a pipeline is one write), the render time without the
 * page cache, and wrk on loopback against the overview vs the same server returning a pre-rendered
 * copy of the same page (both behind the same auth and headers), with the ratio.
 *
 * Options (env): BENCH_HOSTS (1000), BENCH_WRK_SECONDS (10), BENCH_WRK_CONNECTIONS (16).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { configSchema } from '../lib/config/schema.js';
import { normalizeConfig } from '../lib/config/normalize.js';
import { hashPassword } from '../lib/htpasswd.js';
import { keys } from '../lib/keys.js';
import { silentLogger } from '../lib/log.js';
import type { BlocksRecord, DnsblResult, HostRecord, IpRecord } from '../lib/model.js';
import { connectRedis, type Redis } from '../lib/redis.js';
import { startThrowawayRedis } from '../test/helpers/throwaway-redis.js';
import { basicAuth, HtpasswdStore } from '../web/auth.js';
import { loadSnapshot } from '../web/data.js';
import type { WebEnv } from '../web/env.js';
import { createApp, csp } from '../web/server.js';
import { buildOverview } from '../web/viewmodel/overview.js';
import { OverviewPage } from '../views/overview.js';
import { page } from '../views/layout.js';
import { CsrfTokens } from '../web/csrf.js';
import { freePort } from '../test/helpers/net.js';

const HOSTS = Number(process.env['BENCH_HOSTS'] ?? 1000);
const WRK_SECONDS = Number(process.env['BENCH_WRK_SECONDS'] ?? 10);
const WRK_CONN = Number(process.env['BENCH_WRK_CONNECTIONS'] ?? 16);
const run = promisify(execFile);

function say(s: string) {
  process.stdout.write(s + '\n');
}

const zones = ['zen.spamhaus.org', 'bl.spamcop.net', 'b.barracudacentral.org', 'psbl.surriel.com', 'bl.mailspike.net'];

/** A realistic fleet: most IPs clean, some listed, some blocked, a few failed checks. */
function fleet(now: Date) {
  const at = new Date(now.getTime() - 5 * 60_000).toISOString();
  const hosts: HostRecord[] = [];
  const ips: IpRecord[] = [];
  const blocks: BlocksRecord[] = [];
  for (let i = 0; i < HOSTS; i++) {
    const name = `mta${i}`;
    const fqdn = `${name}.example.com`;
    // Benchmark (198.18/15) and documentation (2001:db8::/32) ranges: data only, never contacted.
    const v4 = `198.18.${i >> 8}.${i & 255}`;
    const v6 = `2001:db8::${i.toString(16)}`;
    hosts.push({ name, fqdn, ips: [v4, v6], resolve: { status: 'ok', at }, checkedAt: at, runId: 'bench' });
    for (const ip of [v4, v6]) {
      const dnsbl: DnsblResult[] = zones.map((zone, z) => {
        const listed = (i * 7 + z) % 97 === 0;
        const error = (i + z) % 211 === 0;
        return {
          zone,
          kind: 'block',
          state: listed ? 'listed' : error ? 'error' : 'not_listed',
          critical: z < 2,
          codes: listed ? ['127.0.0.2'] : [],
          labels: listed ? ['SBL'] : [],
          ...(listed ? { txt: `Listed <b>by</b> ${zone} see https://${zone}/query/${ip}` } : {}),
          ...(error ? { reason: 'timeout after 3s' } : {}),
          at,
        };
      });
      ips.push({
        ip,
        family: ip.includes(':') ? 6 : 4,
        host: name,
        fqdn,
        checkedAt: at,
        runId: 'bench',
        dnsbl: { status: 'ok', at, value: { zones: dnsbl } },
        senderscore: { status: 'ok', at, value: { score: 60 + (i % 41) } },
        snds: {
          status: 'ok',
          at,
          value: {
            data: { color: i % 50 === 0 ? 'yellow' : 'green', traps: i % 13, complaintRate: '< 0.1%', rcptCommands: 100, dataCommands: 100, recipients: 100, periodStart: at, periodEnd: at },
            blocked: null,
          },
        },
        dnsMatch: {
          status: 'ok',
          at,
          value: { rdns: { state: i % 300 === 0 ? 'mismatch' : 'match', found: [fqdn] }, fdns: { state: 'match', found: [ip] }, helo: { state: 'match', found: [fqdn] } },
        },
      });
    }
    blocks.push({
      host: name,
      status: 'ok',
      at,
      blocksAt: at,
      blocks: i % 40 === 0 ? [{ provider: 'gmail', line: `postfix/smtp: 550-5.7.1 <${v4}> blocked gsmtp`, at, ip: v4 }] : [],
    });
  }
  return { hosts, ips, blocks };
}

function countWrites(redis: Redis): { get(): number; reset(): void } {
  const stream = (redis as unknown as { stream: { write: (...a: unknown[]) => boolean } }).stream;
  let n = 0;
  const orig = stream.write.bind(stream);
  stream.write = (...a: unknown[]) => {
    n++;
    return orig(...a);
  };
  return { get: () => n, reset: () => (n = 0) };
}

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { median: q(0.5), p95: q(0.95), min: s[0]! };
}

async function wrk(url: string, auth: string): Promise<number> {
  const { stdout } = await run('wrk', ['-t2', `-c${WRK_CONN}`, `-d${WRK_SECONDS}s`, '-H', `Authorization: ${auth}`, url], { maxBuffer: 1 << 20 });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout);
  if (non2xx) throw new Error(`wrk got ${non2xx[1]} error responses from ${url}`);
  if (!m) throw new Error(`cannot read wrk output:\n${stdout}`);
  return Number(m[1]);
}

async function main() {
  const redisSrv = await startThrowawayRedis();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-bench-web-cfg-'));
  try {
    const now = new Date();
    const mta_map = Object.fromEntries(Array.from({ length: HOSTS }, (_, i) => [`mta${i}`, `mta${i}.example.com`]));
    const port = await freePort();
    const parsed = configSchema.parse({
      mta_map,
      rbls: zones,
      listen: `127.0.0.1:${port}`,
      http_auth_file: path.join(dir, 'htpasswd'),
      graph_domains: ['gmail.com'],
      provider_block_strings: { gmail: 'gsmtp' },
      assistance_links: { spamhaus: 'https://wiki.example/spamhaus' },
    });
    const { config } = normalizeConfig(parsed, path.join(dir, 'mtarep.yml'));
    fs.writeFileSync(config.httpAuthFile, `bench:${hashPassword('bench-password')}\n`);
    const auth = 'Basic ' + Buffer.from('bench:bench-password').toString('base64');
    const k = keys(config.redis.prefix);

    const redis = await connectRedis({ url: redisSrv.url });
    const data = fleet(now);
    const m = redis.multi();
    for (const h of data.hosts) m.set(k.host(h.name), JSON.stringify(h));
    for (const r of data.ips) m.set(k.ip(r.ip), JSON.stringify(r));
    for (const b of data.blocks) m.set(k.blocks(b.host), JSON.stringify(b));
    m.set(k.lastRun, JSON.stringify({ id: 'bench', startedAt: now.toISOString(), finishedAt: now.toISOString(), durationMs: 1, hosts: HOSTS, ips: HOSTS * 2, status: 'ok', checks: {}, unhealthyZones: [], errors: [] }));
    m.incr(k.dataVersion);
    await m.exec();
    say(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs (figures are noisy when the machine is busy)`);
    say(`mtarep bench:web — ${HOSTS} hosts x 2 IPs (${data.ips.length} rows) in a throwaway redis-server at ${redisSrv.url}`);

    // --- round trips ---------------------------------------------------------------------------
    const writes = countWrites(redis);
    const app = createApp({ config, redis, log: silentLogger });
    const headers = { Authorization: auth };
    await app.request('/', { headers }); // warm up auth (bcrypt) and JIT
    await redis.incr(k.dataVersion);
    writes.reset();
    const cold = await app.request('/', { headers });
    const coldTrips = writes.get();
    const body = await cold.text();
    writes.reset();
    await (await app.request('/', { headers })).text();
    const warmTrips = writes.get();
    say(`redis round trips per overview: ${coldTrips} when the data changed (version GET, one pipeline, one MGET), ${warmTrips} when cached (version GET)`);
    say(`overview page: ${(Buffer.byteLength(body) / 1024).toFixed(0)} KiB, ${(body.match(/<tr class="sev-/g) ?? []).length} rows`);

    // --- render time (no cache) ----------------------------------------------------------------
    const csrf = new CsrfTokens();
    const loadT: number[] = [];
    const modelT: number[] = [];
    const htmlT: number[] = [];
    const fullT: number[] = [];
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now();
      const snap = await loadSnapshot(redis, k, config);
      const t1 = performance.now();
      const model = buildOverview(config, snap, new Date(), { sort: 'severity', dir: 'desc' });
      const t2 = performance.now();
      const html = page(OverviewPage({ m: model, user: 'bench', csrf: csrf.tokenFor('bench'), back: '/', version: snap.version }));
      const t3 = performance.now();
      if (html.length < 1000) throw new Error('empty render');
      if (i < 10) continue; // warm-up (JIT)
      loadT.push(t1 - t0);
      modelT.push(t2 - t1);
      htmlT.push(t3 - t2);
      await redis.incr(k.dataVersion);
      const t4 = performance.now();
      await (await app.request('/', { headers })).text();
      fullT.push(performance.now() - t4);
    }
    const f = (x: { median: number; p95: number }) => `median ${x.median.toFixed(1)} ms, p95 ${x.p95.toFixed(1)} ms`;
    say(`render without cache: load from Redis ${f(stats(loadT))}; view model ${f(stats(modelT))}; HTML ${f(stats(htmlT))}`);
    say(`render without cache, whole request through the app (auth remembered): ${f(stats(fullT))}`);

    // --- wrk: overview (cached per data version) vs a pre-rendered copy ---------------------------
    const pre = body;
    const store = new HtpasswdStore(config.httpAuthFile, silentLogger);
    const outer = new Hono<WebEnv>();
    outer.use('/prerendered', secureHeaders({ contentSecurityPolicy: csp, xFrameOptions: 'DENY' }), basicAuth(store));
    outer.get('/prerendered', (c) => c.html(pre, 200, { 'Cache-Control': 'no-store' }));
    outer.route('/', app);
    const server = serve({ fetch: outer.fetch, hostname: '127.0.0.1', port });
    await new Promise<void>((r) => server.once('listening', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await wrk(`${base}/`, auth).catch(() => 0); // warm-up
    // Alternate the two targets so drifting machine load hits both alike; report the means.
    const a: number[] = [];
    const b: number[] = [];
    for (let round = 0; round < 2; round++) {
      a.push(await wrk(`${base}/`, auth));
      b.push(await wrk(`${base}/prerendered`, auth));
    }
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    const rpsOverview = mean(a);
    const rpsPre = mean(b);
    say(`  rounds: overview ${a.map((x) => x.toFixed(0)).join(', ')}; pre-rendered ${b.map((x) => x.toFixed(0)).join(', ')}`);
    say(`wrk -t2 -c${WRK_CONN} -d${WRK_SECONDS}s on loopback: overview ${rpsOverview.toFixed(0)} req/s, pre-rendered copy ${rpsPre.toFixed(0)} req/s, ratio ${((rpsOverview / rpsPre) * 100).toFixed(0)}% (target >= 80%)`);
    await new Promise<void>((r) => server.close(() => r()));
    redis.disconnect();
  } finally {
    await redisSrv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench:web failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
