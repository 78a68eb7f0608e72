/**
 * npm run bench:web -- the dashboard at fleet size: 1,000 hosts x 2 IPs stored in a throwaway
 * redis-server on a free loopback port (never 6379). Prints Redis round trips per overview render
 * (counted as writes on the client's socket: a pipeline is one write), the render time without the
 * page cache, the page's size per encoding, and wrk on loopback against the overview side by side with
 * a plain `node:http` server writing the same bytes from a Buffer (no auth, no framework), once as is
 * and once gzip-encoded, with the ratio and the server's CPU per request (the process, and its main
 * thread, which bounds the rate). For gzip also, for comparison only, the plain server sending the
 * overview's own header block instead of its three headers: what those headers cost any server.
 *
 * The served part runs the real server (startServer: the hot path before Hono, the version watch).
 *
 * With BENCH_LOAD_SECONDS > 0 (`npm run bench:web -- --load` sets 60), a second phase: wrk with
 * BENCH_LOAD_CONNECTIONS (200) clients for that long on the overview while a child process writes as
 * collector runs do (see `writer` below), printing errors, latency percentiles, how many pages went
 * out marked stale, and the writer's runs and data versions per second; then the plain server under the
 * same load for as long, the writer writing again, as the anchor (wrk counts timeouts against it too).
 *
 * Options (env): BENCH_HOSTS (1000), BENCH_WRK_SECONDS (10), BENCH_WRK_CONNECTIONS (32),
 * BENCH_LOAD_SECONDS (0; 60 with --load), BENCH_LOAD_CONNECTIONS (200), BENCH_LOAD_ENCODING
 * (gzip|identity, default gzip), BENCH_WRITER (run|flood, default run), BENCH_SSH_MS (100).
 */
import { execFile, spawn } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { configSchema } from '../lib/config/schema.js';
import { normalizeConfig } from '../lib/config/normalize.js';
import { hashPassword } from '../lib/htpasswd.js';
import { keys } from '../lib/keys.js';
import { procCpuMs } from '../lib/phases.js';
import { silentLogger } from '../lib/log.js';
import type { BlocksRecord, DnsblResult, HostRecord, IpRecord } from '../lib/model.js';
import { connectRedis, type Redis } from '../lib/redis.js';
import { startThrowawayRedis } from '../test/helpers/throwaway-redis.js';
import { loadSnapshot } from '../web/data.js';
import { storeSummary, writeResults } from '../lib/store/index.js';
import { createApp, startServer } from '../web/server.js';
import { buildOverview } from '../web/viewmodel/overview.js';
import { OverviewPage } from '../views/overview.js';
import { page } from '../views/layout.js';
import { freePort } from '../test/helpers/net.js';

const HOSTS = Number(process.env['BENCH_HOSTS'] ?? 1000);
const WRK_SECONDS = Number(process.env['BENCH_WRK_SECONDS'] ?? 10);
const WRK_CONN = Number(process.env['BENCH_WRK_CONNECTIONS'] ?? 32);
const LOAD_SECONDS = Number(process.env['BENCH_LOAD_SECONDS'] ?? (process.argv.includes('--load') ? 60 : 0));
const LOAD_CONN = Number(process.env['BENCH_LOAD_CONNECTIONS'] ?? 200);
// gzip: what every browser asks for (as is, 200 clients of a 1.3 MB page are bound by loopback bytes).
const LOAD_ENCODING = process.env['BENCH_LOAD_ENCODING'] ?? 'gzip';
const WRITER = process.env['BENCH_WRITER'] ?? 'run';
const SSH_MS = Number(process.env['BENCH_SSH_MS'] ?? 100);
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

interface WrkResult {
  rps: number;
  latency: Record<string, string>;
  errors: { non2xx: number; connect: number; read: number; write: number; timeout: number };
  requests: number;
}

async function wrk(url: string, headers: string[], o: { conn?: number; seconds?: number; latency?: boolean; timeout?: string } = {}): Promise<WrkResult> {
  const args = ['-t2', `-c${o.conn ?? WRK_CONN}`, `-d${o.seconds ?? WRK_SECONDS}s`, ...(o.latency ? ['--latency'] : []), ...(o.timeout ? ['--timeout', o.timeout] : [])];
  for (const h of headers) args.push('-H', h);
  const { stdout } = await run('wrk', [...args, url], { maxBuffer: 1 << 20 });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  if (!m) throw new Error(`cannot read wrk output:\n${stdout}`);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const latency: Record<string, string> = {};
  for (const l of stdout.matchAll(/^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+[a-z]+)/gm)) latency[l[1]!] = l[2]!;
  return {
    rps: Number(m[1]),
    latency,
    requests: Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0),
    errors: {
      non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0),
      connect: Number(sock?.[1] ?? 0),
      read: Number(sock?.[2] ?? 0),
      write: Number(sock?.[3] ?? 0),
      timeout: Number(sock?.[4] ?? 0),
    },
  };
}

/** Errors are reported, not hidden: a round with any is named in the output. */
const errorNotes: string[] = [];
function noErrors(r: WrkResult, what: string): WrkResult {
  const e = r.errors;
  if (e.non2xx + e.connect + e.read + e.write + e.timeout > 0) errorNotes.push(`${what}: ${JSON.stringify(e)}`);
  return r;
}

/**
 * The plainest server that can send the same bytes: node:http writing a Buffer. With `headers` (node's
 * flat list per encoding) it sends exactly those instead of its own three: not the anchor, a way to
 * show what the overview's header block (security headers, ETag, Vary, ...) costs any server.
 */
function plainServer(bytes: Map<string, Buffer>, headers?: Map<string, string[]>): Promise<{ url: string; http: http.Server; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const enc = req.url === '/gzip' ? 'gzip' : 'identity';
    const b = bytes.get(enc)!;
    const own = headers?.get(enc);
    if (own) res.writeHead(200, own);
    else res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': b.length, ...(enc === 'gzip' ? { 'Content-Encoding': 'gzip' } : {}) });
    res.end(b);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        http: server,
        close: () => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())),
      }),
    ),
  );
}

/** This process's main thread's CPU time in µs (Linux: /proc, 100 ticks a second), or null. */
function mainThreadCpuUs(): number | null {
  const ms = procCpuMs(`/proc/self/task/${process.pid}/stat`);
  return ms === undefined ? null : ms * 1000;
}

/** GET a URL and return the raw body bytes (no decoding) and headers. */
function getRaw(url: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; rawHeaders: string[]; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(parts) }));
      })
      .on('error', reject);
  });
}

/**
 * The writer child (`--writer <redis url>`): what collector runs store, back to back for the whole
 * window (a real deployment runs one every collect_interval, 15 min by default: this is harsher).
 * One run, as `mtarep collect` writes: the maillog source commits each host's blocks record as its
 * SSH read ends (ssh_concurrency 16 reads at a time, BENCH_SSH_MS per read; each commit INCRs the
 * data version), while the reputation source checks; then the reputation source writes the fleet
 * (lib/store writeResults: IP records and history in MULTIs of 500, host records, each bumping the
 * version) and the run summary. BENCH_WRITER=flood instead rewrites the whole fleet as fast as it can
 * (the earlier writer: about 17 data versions/s and the fleet's history written ten times a second).
 * Prints "<runs> <versions>" when stopped.
 */
async function writer(url: string): Promise<void> {
  const redis = await connectRedis({ url });
  const k = keys('mtarep:');
  let runs = 0;
  let versions = 0;
  const stop = Date.now() + (LOAD_SECONDS + 5) * 1000;
  const done = () => {
    process.stdout.write(`${runs} ${versions}\n`);
    process.exit(0);
  };
  process.on('SIGTERM', done);
  const writeFleet = async (now: Date, data: ReturnType<typeof fleet>) => {
    await writeResults(redis, k, { records: data.ips, hosts: data.hosts, removedHosts: [], removedIps: [], t: now.getTime(), historyDays: 1 });
    versions += Math.ceil(data.ips.length / 500) + 1;
    const finishedAt = new Date().toISOString();
    await storeSummary(redis, k, { id: `w${runs}`, startedAt: now.toISOString(), finishedAt, durationMs: Date.now() - now.getTime(), hosts: HOSTS, ips: HOSTS * 2, status: 'ok', checks: {}, unhealthyZones: [], errors: [] }, 10);
    versions++;
  };
  while (Date.now() < stop) {
    const now = new Date();
    const data = fleet(now);
    if (WRITER !== 'flood') {
      // The maillog source: 16 hosts read at a time; each read's commit bumps the version.
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < data.blocks.length && Date.now() < stop) {
            const b = data.blocks[next++]!;
            await new Promise((r) => setTimeout(r, SSH_MS));
            await redis.multi().set(k.blocks(b.host), JSON.stringify({ ...b, at: new Date().toISOString() })).incr(k.dataVersion).exec();
            versions++;
          }
        }),
      );
    }
    await writeFleet(now, data);
    runs++;
  }
  done();
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
    let stale = 0;
    const staleCount = () => stale;
    // Brotli on here to measure what it would save (the dashboard's default is gzip only).
    const app = createApp({ config, redis, log: silentLogger, pageCache: { onStale: () => stale++, brotli: true } });
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
    const rows = (body.match(/<tr class="sev-/g) ?? []).length;
    say(`overview page: ${(Buffer.byteLength(body) / 1024).toFixed(0)} KiB, ${rows} rows, ${(Buffer.byteLength(body) / rows).toFixed(0)} bytes per row on average`);
    if (process.env['BENCH_DUMP']) fs.writeFileSync(process.env['BENCH_DUMP'], body);

    // --- render time (no cache) ----------------------------------------------------------------
    const loadT: number[] = [];
    const modelT: number[] = [];
    const htmlT: number[] = [];
    const fullT: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      const snap = await loadSnapshot(redis, k, config);
      const t1 = performance.now();
      const model = buildOverview(config, snap, new Date(), { sort: 'severity', dir: 'desc' });
      const t2 = performance.now();
      const html = page(OverviewPage({ m: model, user: 'bench', version: snap.version }));
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

    // --- the served bytes, per encoding ----------------------------------------------------------
    // The real server, as `mtarep serve` runs it: the hot path before Hono and the version watch.
    const server = await startServer({ config, redis, log: silentLogger, pageCache: { onStale: () => stale++, brotli: true } });
    const base = server.url.replace(/\/$/, '');
    // The overview's own header block per encoding (node's flat list, without the per-answer Date and
    // connection headers node adds to every answer, the plain server's included).
    const overviewHeaders = new Map<string, string[]>();
    const fetched = async (enc: string): Promise<Buffer> => {
      // The compressed copies are made in the background after a render: ask until they are there.
      for (let i = 0; i < 200; i++) {
        const r = await getRaw(`${base}/`, { Authorization: auth, ...(enc === 'identity' ? {} : { 'Accept-Encoding': enc }) });
        if (r.status !== 200) throw new Error(`GET / answered ${r.status}`);
        if ((r.headers['content-encoding'] ?? 'identity') === enc) {
          const own: string[] = [];
          for (let j = 0; j + 1 < r.rawHeaders.length; j += 2) if (!/^(date|connection|keep-alive)$/i.test(r.rawHeaders[j]!)) own.push(r.rawHeaders[j]!, r.rawHeaders[j + 1]!);
          overviewHeaders.set(enc, own);
          return r.body;
        }
        await new Promise((res) => setTimeout(res, 25));
      }
      throw new Error(`no ${enc} copy of the overview after 5 s`);
    };
    const bytes = new Map<string, Buffer>();
    for (const enc of ['identity', 'gzip', 'br']) bytes.set(enc, await fetched(enc));
    const kib = (b: Buffer) => `${(b.length / 1024).toFixed(0)} KiB`;
    say(`overview bytes sent: as is ${kib(bytes.get('identity')!)}, gzip ${kib(bytes.get('gzip')!)}, brotli ${kib(bytes.get('br')!)}`);
    // Redis commands per cached request on the socket (counted by redis-server itself), once the
    // watch knows the version: 0 when the hot path answers.
    const gets = async () => Number(/cmdstat_get:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    const g0 = await gets();
    const t100 = performance.now();
    for (let i = 0; i < 100; i++) await getRaw(`${base}/`, { Authorization: auth, 'Accept-Encoding': 'gzip' });
    say(`redis GETs during 100 cached requests on the socket: ${(await gets()) - g0} in ${(performance.now() - t100).toFixed(0)} ms (version watch live: 0 per request; its check reads once a second; without the watch 1 per request)`);
    const etag = (await getRaw(`${base}/`, { Authorization: auth })).headers.etag ?? '';
    const notModified = await getRaw(`${base}/`, { Authorization: auth, 'If-None-Match': etag });
    say(`revalidation with If-None-Match: ${notModified.status}, ${notModified.body.length} bytes`);

    // --- wrk: mtarep vs a plain node:http server writing the same bytes -----------------------------
    const plain = await plainServer(bytes);
    const sameHeaders = await plainServer(bytes, overviewHeaders);
    const A = `Authorization: ${auth}`;
    await wrk(`${base}/`, [A], { seconds: 2 }).catch(() => null); // warm-up
    // Alternate the targets so drifting machine load hits both alike; report the means.
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    // The server's CPU per request (this process: both servers live here, one is asked at a time),
    // which a busy machine disturbs less than the rate: what each answer costs the server itself.
    // The main thread's share too: it bounds the rate (the render thread and zlib's pool are others).
    type Timed = { rps: number; cpuUs: number; mainUs: number | null };
    const timed = async (url: string, headers: string[], what: string): Promise<Timed> => {
      const c0 = process.cpuUsage();
      const m0 = mainThreadCpuUs();
      const r = noErrors(await wrk(url, headers), what);
      const c = process.cpuUsage(c0);
      const m1 = mainThreadCpuUs();
      const n = Math.max(1, r.requests);
      return { rps: r.rps, cpuUs: (c.user + c.system) / n, mainUs: m0 === null || m1 === null ? null : (m1 - m0) / n };
    };
    for (const enc of ['identity', 'gzip']) {
      const ours: Timed[] = [];
      const theirs: Timed[] = [];
      const same: Timed[] = [];
      const accept = enc === 'gzip' ? ['Accept-Encoding: gzip'] : [];
      const path = `/${enc === 'gzip' ? 'gzip' : ''}`;
      for (let round = 0; round < 2; round++) {
        ours.push(await timed(`${base}/`, [A, ...accept], 'the overview'));
        theirs.push(await timed(`${plain.url}${path}`, accept, 'the plain server'));
        if (enc === 'gzip') same.push(await timed(`${sameHeaders.url}${path}`, accept, 'the plain server with the overview\'s headers'));
      }
      const rps = (xs: Timed[]) => mean(xs.map((x) => x.rps));
      const cpu = (xs: Timed[]) => {
        const main = xs.every((x) => x.mainUs !== null) ? ` (main thread ${mean(xs.map((x) => x.mainUs!)).toFixed(0)})` : '';
        return `${mean(xs.map((x) => x.cpuUs)).toFixed(0)}${main}`;
      };
      say(
        `wrk -t2 -c${WRK_CONN} -d${WRK_SECONDS}s, ${enc === 'gzip' ? 'gzip' : 'as is'} (${kib(bytes.get(enc)!)}): overview ${rps(ours).toFixed(0)} req/s, plain node:http ${rps(theirs).toFixed(0)} req/s, ratio ${(rps(ours) / rps(theirs)).toFixed(2)}x (target >= 0.8x); rounds ${ours.map((x) => x.rps.toFixed(0)).join(', ')} vs ${theirs.map((x) => x.rps.toFixed(0)).join(', ')}; server CPU per request ${cpu(ours)} vs ${cpu(theirs)} µs`,
      );
      if (same.length > 0) {
        say(
          `  for comparison, not the target: the plain server sending the overview's own ${overviewHeaders.get(enc)!.length / 2} headers (security headers, ETag, Vary, ...) instead of its 3: ${rps(same).toFixed(0)} req/s (rounds ${same.map((x) => x.rps.toFixed(0)).join(', ')}), server CPU per request ${cpu(same)} µs; overview / that = ${(rps(ours) / rps(same)).toFixed(2)}x`,
        );
      }
    }
    if (errorNotes.length) say(`  errors in these rounds: ${errorNotes.join('; ')}`);

    // --- under load while a collector writes ----------------------------------------------------------
    if (LOAD_SECONDS > 0) {
      /** The writer process (see `writer`), started for one load; stop() gives its run count. */
      const startWriter = () => {
        const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, '--writer', redisSrv.url], {
          stdio: ['ignore', 'pipe', 'inherit'],
          env: { ...process.env, BENCH_LOAD_SECONDS: String(LOAD_SECONDS) },
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        return {
          stop: async () => {
            child.kill('SIGTERM');
            await new Promise((res) => child.once('exit', res));
            return out.trim().split(' ')[0] ?? '?';
          },
        };
      };
      const accept = LOAD_ENCODING === 'gzip' ? ['Accept-Encoding: gzip'] : [];
      const writing = startWriter();
      const v0 = Number(await redis.get(k.dataVersion));
      const stale0 = staleCount();
      const stalls = watchMainThread();
      const seen = watchRequests(server.http);
      const r = await wrk(`${base}/`, [A, ...accept], { conn: LOAD_CONN, seconds: LOAD_SECONDS, latency: true, timeout: '2s' });
      const mainThread = stalls.stop();
      const requests = seen.stop();
      const v1 = Number(await redis.get(k.dataVersion));
      const runs = await writing.stop();
      const e = r.errors;
      const what = WRITER === 'flood' ? `rewrote the whole fleet ${runs} times (flood)` : `wrote ${runs} collector runs back to back (maillog commits of ${HOSTS} hosts, 16 reads at a time of ${SSH_MS} ms each, then the fleet's records and the run summary)`;
      say(
        `under load (${LOAD_ENCODING === 'gzip' ? 'gzip' : 'as is'}): wrk -t2 -c${LOAD_CONN} -d${LOAD_SECONDS}s while a writer process ${what}: ${v1 - v0} data versions, ${((v1 - v0) / LOAD_SECONDS).toFixed(1)}/s; ` +
          `${r.requests} requests, ${r.rps.toFixed(0)} req/s, latency p50 ${r.latency['50']} p90 ${r.latency['90']} p99 ${r.latency['99']} (target < 250ms); ` +
          `errors: ${e.non2xx} non-2xx, ${e.connect + e.read + e.write} socket, ${e.timeout} timeouts (target 0); ${staleCount() - stale0} pages sent marked "may be a moment old"`,
      );
      say(`  the server's main thread meanwhile: ${mainThread}`);
      say(`  the requests as the server saw them: ${requests}`);
      // The anchor: the plain server sending the same bytes to as many clients for as long, while the
      // writer writes as before (the same load on the machine), same run.
      const anchorWriting = startWriter();
      const anchorSeen = watchRequests(plain.http);
      const p = await wrk(`${plain.url}/${LOAD_ENCODING === 'gzip' ? 'gzip' : ''}`, accept, { conn: LOAD_CONN, seconds: LOAD_SECONDS, latency: true, timeout: '2s' });
      const anchorRequests = anchorSeen.stop();
      const anchorRuns = await anchorWriting.stop();
      say(
        `  anchor: plain node:http, same bytes, wrk -t2 -c${LOAD_CONN} -d${LOAD_SECONDS}s while the writer wrote ${anchorRuns} runs: ${p.rps.toFixed(0)} req/s, latency p50 ${p.latency['50']} p90 ${p.latency['90']} p99 ${p.latency['99']}; ` +
          `errors: ${p.errors.non2xx} non-2xx, ${p.errors.connect + p.errors.read + p.errors.write} socket, ${p.errors.timeout} timeouts`,
      );
      say(`  the anchor's requests as it saw them: ${anchorRequests}`);
    }
    await plain.close();
    await sameHeaders.close();
    await server.close();
    redis.disconnect();
  } finally {
    await redisSrv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The server's main thread (this process's) while the load runs: its event-loop delay (p99, max), every
 * stall over 0.5 s with its time from the start, and GC pauses over 100 ms: a client timeout at 2 s
 * with a low p99 is either such a stall or one connection left waiting.
 */
function watchMainThread(): { stop(): string } {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const t0 = performance.now();
  const stalls: string[] = [];
  let last = t0;
  const tick = setInterval(() => {
    const now = performance.now();
    if (now - last > 500) stalls.push(`${((last - t0) / 1000).toFixed(1)} s: ${(now - last).toFixed(0)} ms`);
    last = now;
  }, 10);
  const gcs: string[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.duration > 100) gcs.push(`${((e.startTime - t0) / 1000).toFixed(1)} s: ${e.duration.toFixed(0)} ms`);
  });
  obs.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      clearInterval(tick);
      obs.disconnect();
      delay.disable();
      const ms = (ns: number) => (ns / 1e6).toFixed(0);
      return `event-loop delay p99 ${ms(delay.percentile(99))} ms, max ${ms(delay.max)} ms; stalls over 0.5 s: ${stalls.length ? stalls.join(', ') : 'none'}; GC pauses over 100 ms: ${gcs.length ? gcs.join(', ') : 'none'}`;
    },
  };
}

/**
 * The load as the server sees it: connections opened and closed while it runs, each request's time
 * from its arrival (headers read) to its answer handed to the kernel ('finish'), and the gap on each
 * connection from one answer's finish to the next request's arrival, and when each connection was
 * accepted and its first request arrived, counted from the first accept. A wrk timeout (a request
 * older than 2 s) that the server never saw take 2 s, on a connection that was not closed, is a wait
 * outside the server's request handling: wrk starts a connection's clock when it connects, and a
 * connection accepted late has its first request waiting that long.
 */
function watchRequests(server: http.Server): { stop(): string } {
  const t0 = performance.now();
  let opened = 0;
  const closedAt: number[] = [];
  const lastFinish = new WeakMap<object, number>();
  const serve: number[] = [];
  const gaps: number[] = [];
  // When each connection was accepted and its first request arrived, from the first accept: wrk
  // connects all its clients at once and starts each one's clock at its connect.
  let firstAccept: number | undefined;
  const acceptedAt: number[] = [];
  const firstRequestAt: number[] = [];
  const onConnection = (socket: import('node:net').Socket) => {
    opened++;
    const now = performance.now();
    firstAccept ??= now;
    acceptedAt.push(now - firstAccept);
    socket.once('close', () => closedAt.push(performance.now() - t0));
  };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const arrived = performance.now();
    const socket = req.socket;
    const prev = lastFinish.get(socket);
    if (prev !== undefined) gaps.push(arrived - prev);
    else if (firstAccept !== undefined) firstRequestAt.push(arrived - firstAccept);
    res.once('finish', () => {
      const finished = performance.now();
      serve.push(finished - arrived);
      lastFinish.set(socket, finished);
    });
  };
  server.on('connection', onConnection);
  server.on('request', onRequest);
  const summary = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(0) : '-');
    const over = (ms: number) => s.filter((x) => x > ms).length;
    return `p99 ${at(0.99)} ms, max ${s.length ? s[s.length - 1]!.toFixed(0) : '-'} ms, over 0.5 s ${over(500)}, over 2 s ${over(2000)}`;
  };
  return {
    stop() {
      server.off('connection', onConnection);
      server.off('request', onRequest);
      const end = performance.now() - t0;
      const early = closedAt.filter((t) => t < end - 1000).map((t) => (t / 1000).toFixed(1));
      return (
        `${serve.length} answered; arrival to finish ${summary(serve)}; finish to the next request on the same connection ${summary(gaps)}; ` +
        `connections opened ${opened}, closed ${closedAt.length} (${early.length} of them more than 1 s before the load ended${early.length ? `, at ${early.slice(0, 20).join(', ')} s` : ''}); ` +
        `accepted after the first one: ${summary(acceptedAt)}; their first requests arrived ${summary(firstRequestAt)} after it`
      );
    },
  };
}

const w = process.argv.indexOf('--writer');
(w >= 0 ? writer(process.argv[w + 1]!) : main()).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench:web failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
