/**
 * npm run bench:webhooks -- a sustained stream of signed SendGrid Event Webhook batches (100 events
 * each) from wrk on loopback into mtarep's real webhook route (signature check, replay window, parse,
 * the exactly-once Lua step, graph counters) backed by a throwaway redis-server on a free port.
 * Prints events/s accepted and counted, p50/p99 per request, and the ratio to the same server
 * answering 200 without doing anything (it reads the body and returns). The server's code is the
 * compiled build (dist/, built when stale), as users run it. The server is served as
 * startServer serves it: the webhook POSTs on its hot path before Hono (web/hot-path.ts), the
 * do-nothing route through Hono. After every run the counts
 * are verified: every answer wrk got was 200; events the server acknowledged as counted == events in
 * Redis's per-type counts == graph counter total == distinct event ids remembered; then every batch
 * of the run is sent again (as an ESP retries what it got no answer for) and the totals must be
 * exactly the number of distinct events: nothing lost, nothing counted twice.
 *
 * Why wrk: it is a Debian package already used by bench:web; a Lua script gives each wrk thread its
 * own slice of pre-signed batches (distinct event ids) and sums the server's `counted` answers.
 *
 * Each run also prints the CPU per request of this process and of Redis (INFO cpu) and the Redis
 * commands per request (INFO commandstats, a script's own calls included).
 *
 * Options (env): BENCH_SECONDS (10), BENCH_CONNECTIONS (16), BENCH_BATCHES (25000: enough distinct batches
 * that wrk does not run out and send batches again, which would count as cheaper duplicates), BENCH_ROUNDS (2),
 * BENCH_PROFILE (a folder: a CPU profile of the server per run is written there).
 */
import { execFile, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { configSchema } from '../lib/config/schema.js';
import { normalizeConfig } from '../lib/config/normalize.js';
import { keys } from '../lib/keys.js';
import { procCpuMs } from '../lib/phases.js';
import type * as LogModule from '../lib/log.js';
import type * as RedisModule from '../lib/redis.js';
import type { Redis } from '../lib/redis.js';
import { startThrowawayRedis } from '../test/helpers/throwaway-redis.js';
import type * as AuthModule from '../web/auth.js';
import type * as DashboardModule from '../web/dashboard.js';
import type * as MachineModule from '../web/machine.js';
import type * as ServerModule from '../web/server.js';

/*
 * The server's code as users run it: the compiled build (`npm run build`: dist/, built here when
 * missing or older than the sources, as scripts/lib.sh need_build does), not the TypeScript sources
 * through tsx. tsx's transform keeps function names by wrapping every function it creates at run
 * time (esbuild's keepNames: a call to `__name` and a property write each), a cost per request that
 * the build does not have, and that the do-nothing route (mostly Hono, from node_modules) paid less. The
 * bench's own setup and checks stay TypeScript.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = spawnSync('bash', ['-c', '. scripts/lib.sh && need_build'], { cwd: root, stdio: 'inherit' });
if (built.status !== 0) throw new Error('building dist/ failed');
const dist = (f: string) => pathToFileURL(path.join(root, 'dist', f)).href;
const { silentLogger } = (await import(dist('lib/log.js'))) as typeof LogModule;
const { connectRedis } = (await import(dist('lib/redis.js'))) as typeof RedisModule;
const { HtpasswdStore } = (await import(dist('web/auth.js'))) as typeof AuthModule;
const { dashboardApp } = (await import(dist('web/dashboard.js'))) as typeof DashboardModule;
const { machineApp } = (await import(dist('web/machine.js'))) as typeof MachineModule;
const { composeApp, serverHotPath, webContext } = (await import(dist('web/server.js'))) as typeof ServerModule;

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const CONN = Number(process.env['BENCH_CONNECTIONS'] ?? 16);
const BATCHES = Number(process.env['BENCH_BATCHES'] ?? 25000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const THREADS = 2;
const PER_BATCH = 100;
const run = promisify(execFile);
const say = (s: string) => process.stdout.write(s + '\n');

const wrkScript = `
local threads = {}
local n = 0
function setup(thread)
  thread:set("id", n)
  n = n + 1
  table.insert(threads, thread)
end
function init(args)
  local file, nthreads, target = args[1], tonumber(args[2]), args[3]
  reqs = {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id then
      local ts, sig, body = line:match("^([^\\t]*)\\t([^\\t]*)\\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", target, {
        ["Content-Type"] = "application/json",
        ["X-Twilio-Email-Event-Webhook-Signature"] = sig,
        ["X-Twilio-Email-Event-Webhook-Timestamp"] = ts,
      }, body)
    end
    i = i + 1
  end
  idx = 0; counted = 0; dups = 0; bad = 0; responses = 0; wrapped = 0
end
function request()
  idx = idx + 1
  if idx > #reqs then idx = 1; wrapped = wrapped + 1 end
  return reqs[idx]
end
function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then bad = bad + 1; return end
  local c = body:match('"counted":(%d+)')
  local d = body:match('"duplicates":(%d+)')
  counted = counted + tonumber(c or 0)
  dups = dups + tonumber(d or 0)
end
function done(summary, latency, requests)
  local c, d, b, r, w = 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("counted"); d = d + t:get("dups"); b = b + t:get("bad"); r = r + t:get("responses"); w = w + t:get("wrapped")
  end
  io.write(string.format("RESULT counted=%d duplicates=%d bad=%d responses=%d wrapped=%d p50us=%d p99us=%d errors=%d\\n",
    c, d, b, r, w, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
`;

interface WrkResult {
  counted: number;
  duplicates: number;
  bad: number;
  responses: number;
  wrapped: number;
  p50us: number;
  p99us: number;
  errors: number;
  seconds: number;
}

async function wrk(script: string, file: string, url: string, target: string): Promise<WrkResult> {
  const t0 = performance.now();
  const { stdout } = await run('wrk', [`-t${THREADS}`, `-c${CONN}`, `-d${SECONDS}s`, '--timeout', '10s', '-s', script, url, '--', file, String(THREADS), target], { maxBuffer: 1 << 22 });
  const seconds = (performance.now() - t0) / 1000;
  const m = /RESULT (.*)/.exec(stdout);
  if (!m) throw new Error(`cannot read wrk output:\n${stdout}`);
  const r = Object.fromEntries(m[1]!.split(' ').map((kv) => kv.split('=') as [string, string]).map(([k, v]) => [k, Number(v)])) as unknown as WrkResult;
  // wrk runs -d seconds of load; its own start-up (reading the batches) is not load time.
  const d = /requests in ([\d.]+)(m?s)/.exec(stdout);
  r.seconds = d ? Number(d[1]) / (d[2] === 'ms' ? 1000 : 1) : seconds;
  return r;
}

/** BATCHES signed batches with distinct event ids (prefix), one per line: timestamp \t signature \t body. */
function writeBatches(file: string, prefix: string, privateKey: crypto.KeyObject): void {
  const now = Math.floor(Date.now() / 1000);
  const domains = ['gmail.com', 'yahoo.com', 'hotmail.com', 'aol.com', 'example.org'];
  const out: string[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const events: Record<string, unknown>[] = [];
    for (let i = 0; i < PER_BATCH; i++) {
      const n = b * PER_BATCH + i;
      const mod = n % 20;
      // 70% delivered, 15% hard bounce, 10% deferred, 5% spam report: every event feeds a graph counter.
      const e: Record<string, unknown> = { email: `user${n}@${domains[n % domains.length]}`, timestamp: now, sg_event_id: `${prefix}-${n}`, sg_message_id: `${prefix}m${n}.filter0001.0` };
      if (mod < 14) Object.assign(e, { event: 'delivered', response: '250 2.0.0 OK' });
      else if (mod < 17) Object.assign(e, { event: 'bounce', type: 'bounce', status: '5.1.1', reason: '550 5.1.1 user unknown' });
      else if (mod < 19) Object.assign(e, { event: 'deferred', response: '421 4.7.0 try later', attempt: '1' });
      else Object.assign(e, { event: 'spamreport' });
      events.push(e);
    }
    const body = JSON.stringify(events);
    const ts = String(now);
    const sig = crypto.createSign('sha256').update(ts + body).sign(privateKey).toString('base64');
    out.push(`${ts}\t${sig}\t${body}`);
  }
  fs.writeFileSync(file, out.join('\n') + '\n');
}

/** Members of every set matching the pattern (the seen-id sets: distinct event ids remembered). */
async function sumSets(redis: Redis, pattern: string): Promise<number> {
  let total = 0;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 10000);
    cursor = next;
    for (const key of batch) total += await redis.scard(key);
  } while (cursor !== '0');
  return total;
}

async function sumHashes(redis: Redis, pattern: string): Promise<number> {
  let total = 0;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 10000);
    cursor = next;
    for (const key of batch) for (const v of await redis.hvals(key)) total += Number(v);
  } while (cursor !== '0');
  return total;
}

/** Redis's own CPU seconds and the commands it ran (those a script calls included), read from INFO. */
async function redisWork(redis: Redis): Promise<{ cpu: number; calls: number; stats: Map<string, number>; usec: Map<string, number> }> {
  const info = await redis.info('all');
  const num = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  const stats = new Map<string, number>();
  const usec = new Map<string, number>();
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+),usec=(\d+)/gm)) {
    stats.set(m[1]!, Number(m[2]));
    usec.set(m[1]!, Number(m[3]));
    calls += Number(m[2]);
  }
  return { cpu: num('used_cpu_user') + num('used_cpu_sys'), calls, stats, usec };
}

/** CPU per request of this process and of Redis over a run, and Redis's commands per request. */
interface Work {
  nodeMs: number;
  /** Of nodeMs, the main thread's (the event loop); the rest is other threads: the thread pool's ECDSA checks, V8's GC helpers. */
  nodeMainMs: number | null;
  nodeSysMs: number;
  redisMs: number;
  commands: number;
  /** Ingest script calls per request (below 1: requests arriving together were stored in one call). */
  scripts: number;
  top: string;
}

/** BENCH_PROFILE=<dir>: a CPU profile of this process per wrk run (<dir>/<name>.cpuprofile, for Chrome DevTools). */
async function profiled<T>(name: string, f: () => Promise<T>): Promise<T> {
  const dir = process.env['BENCH_PROFILE'];
  if (!dir) return f();
  const inspector = await import('node:inspector/promises');
  const session = new inspector.Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await f();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

async function measured<T extends { responses: number }>(redis: Redis, name: string, f: () => Promise<T>): Promise<T & { work: Work }> {
  const r0 = await redisWork(redis);
  const m0 = mainThreadMs();
  const c0 = process.cpuUsage();
  const r = await profiled(name, f);
  const c = process.cpuUsage(c0);
  const m1 = mainThreadMs();
  const r1 = await redisWork(redis);
  const n = Math.max(1, r.responses);
  // The INFO calls themselves are one command each way: not counted.
  const diff = [...r1.stats].map(([name, v]) => [name, v - (r0.stats.get(name) ?? 0) - (name === 'info' ? 1 : 0)] as const).filter(([, v]) => v > 0);
  // Each command's time per request (Redis's own accounting: a script's includes the commands it calls).
  const usOf = (name: string) => ((r1.usec.get(name) ?? 0) - (r0.usec.get(name) ?? 0)) / n;
  diff.sort((a, b) => usOf(b[0]) - usOf(a[0]) || b[1] - a[1]);
  const top = diff.slice(0, 8).map(([name, v]) => `${name} ${(v / n).toFixed(1)} (${usOf(name).toFixed(0)} µs)`).join(', ');
  const scripts = diff.filter(([name]) => name === 'evalsha' || name === 'eval').reduce((a, [, v]) => a + v, 0);
  return { ...r, work: { nodeMs: (c.user + c.system) / 1000 / n, nodeMainMs: m0 === null || m1 === null ? null : (m1 - m0) / n, nodeSysMs: c.system / 1000 / n, redisMs: ((r1.cpu - r0.cpu) * 1000) / n, commands: (r1.calls - r0.calls - 1) / n, scripts: scripts / n, top } };
}

/** CPU ms of this process's main thread so far (Linux /proc; null elsewhere). Clock ticks of 10 ms. */
function mainThreadMs(): number | null {
  return procCpuMs(`/proc/self/task/${process.pid}/stat`) ?? null;
}

const workText = (w: Work) =>
  `CPU per request: node ${w.nodeMs.toFixed(2)} ms (of which system ${w.nodeSysMs.toFixed(2)}${w.nodeMainMs === null ? '' : `; main thread ${w.nodeMainMs.toFixed(2)}, other threads ${(w.nodeMs - w.nodeMainMs).toFixed(2)}`}), redis ${w.redisMs.toFixed(2)} ms; redis commands per request ${w.commands.toFixed(1)}${w.top ? ` (${w.top})` : ''}${w.scripts > 0 ? `; script calls per request ${w.scripts.toFixed(2)}` : ''}`;

async function main() {
  const which = await run('sh', ['-c', 'command -v wrk']).catch(() => null);
  if (!which) throw new Error('wrk is not installed: sudo apt-get install wrk');
  const redisSrv = await startThrowawayRedis();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-bench-webhooks-'));
  try {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const parsed = configSchema.parse({
      http_auth_file: path.join(dir, 'htpasswd'),
      esp: { webhooks: { counters_id: 'espbench', sendgrid: { public_key: publicKey.export({ format: 'der', type: 'spki' }).toString('base64') } } },
    });
    const { config, problems } = normalizeConfig(parsed, path.join(dir, 'mtarep.yml'));
    if (problems.length) throw new Error(JSON.stringify(problems));
    const redis = await connectRedis({ url: redisSrv.url });
    const k = keys(config.redis.prefix);

    // The app as createApp composes it, plus one machine route that reads the body and answers 200.
    const w = webContext({ config, redis, log: silentLogger });
    const htpasswd = new HtpasswdStore(config.httpAuthFile, silentLogger);
    const machine = machineApp({ w, htpasswd });
    machine.post('/webhooks/noop', async (c) => {
      await c.req.arrayBuffer();
      return c.json({ received: 0 }, 200);
    });
    const app = composeApp({ machine, dashboard: dashboardApp(w, htpasswd), log: silentLogger });
    // Served as startServer serves it: its hot path (web/hot-path.ts: the webhook POSTs) before Hono's
    // listener; the do-nothing route is Hono's. Around both, the server side of the measurement:
    // requests in flight (to wait for the ones wrk abandons at its deadline) and the events the server
    // acknowledged as counted (read from the answer as it is written, not changing how it is sent).
    const hot = await serverHotPath(w, htpasswd);
    let inFlight = 0;
    let acked = 0;
    const createServer = ((options: http.ServerOptions, listener: http.RequestListener) =>
      http.createServer(options, (req, res) => {
        inFlight++;
        res.once('close', () => inFlight--);
        if (req.url === '/webhooks/sendgrid') {
          const end = res.end;
          res.end = function (this: http.ServerResponse, ...args: unknown[]) {
            const chunk = args[0];
            if (res.statusCode === 200 && (typeof chunk === 'string' || Buffer.isBuffer(chunk))) acked += Number(/"counted":(\d+)/.exec(chunk.toString())?.[1] ?? 0);
            return (end as (...a: unknown[]) => http.ServerResponse).apply(this, args);
          } as typeof res.end;
        }
        if (!hot(req, res)) listener(req, res);
      })) as unknown as typeof http.createServer;
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0, createServer });
    await new Promise<void>((r) => server.once('listening', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const script = path.join(dir, 'sendgrid.lua');
    fs.writeFileSync(script, wrkScript);

    say(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs (the machine is shared: figures are noisy when it is busy)`);
    say(`mtarep bench:webhooks — wrk -t${THREADS} -c${CONN} -d${SECONDS}s, signed SendGrid batches of ${PER_BATCH} events, ${BATCHES} distinct batches per run, redis at ${redisSrv.url}`);
    say('server code timed: the compiled build (dist/, as npm run build makes it), not the TypeScript sources');
    const real: WrkResult[] = [];
    const noop: WrkResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const file = path.join(dir, `batches-${round}.tsv`);
      const t0 = performance.now();
      writeBatches(file, `r${round}-${crypto.randomBytes(4).toString('hex')}`, privateKey);
      say(`round ${round + 1}: ${BATCHES} batches signed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      await redis.flushdb();

      const n = await measured(redis, `noop-${round + 1}`, () => wrk(script, file, base, '/webhooks/noop'));
      if (n.bad || n.errors) throw new Error(`do-nothing run had ${n.bad} non-200 answers and ${n.errors} socket errors`);
      noop.push(n);
      acked = 0;
      const r = await measured(redis, `sendgrid-${round + 1}`, async () => {
        const x = await wrk(script, file, base, '/webhooks/sendgrid');
        for (let i = 0; inFlight > 0 && i < 600; i++) await new Promise((res) => setTimeout(res, 100));
        return x;
      });
      real.push(r);

      // Verify: acknowledged == stored == graph counters == distinct ids remembered.
      const count = async () => ({
        stored: await sumHashes(redis, `${k.espEventCounts('*')}`),
        graph: await sumHashes(redis, 'espbench:*'),
        seen: await sumSets(redis, k.espIds('sendgrid', '*')),
      });
      const c1 = await count();
      const ackedRun = acked;
      const ok1 = r.bad === 0 && r.errors === 0 && acked === c1.stored && c1.stored === c1.graph && c1.graph === c1.seen && r.counted <= acked;
      // Then every batch again, as an ESP retries: the totals must be exactly the distinct events.
      const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
      let retryBad = 0;
      for (let i = 0; i < lines.length; i += 8) {
        await Promise.all(
          lines.slice(i, i + 8).map(async (line) => {
            const [ts, sig, body] = line.split('\t') as [string, string, string];
            const res = await fetch(`${base}/webhooks/sendgrid`, {
              method: 'POST',
              body,
              headers: { 'content-type': 'application/json', 'x-twilio-email-event-webhook-signature': sig, 'x-twilio-email-event-webhook-timestamp': ts },
            });
            if (res.status !== 200) retryBad++;
            await res.arrayBuffer();
          }),
        );
      }
      const c2 = await count();
      const distinct = BATCHES * PER_BATCH;
      const ok = ok1 && retryBad === 0 && c2.stored === distinct && c2.graph === distinct && c2.seen === distinct && acked === distinct;
      const stored = c1.stored;
      const graph = c1.graph;
      const seen = c1.seen;
      say(
        `  webhook: ${r.responses} requests, ${((r.counted + r.duplicates) / r.seconds).toFixed(0)} events/s accepted, ${(r.counted / r.seconds).toFixed(0)} events/s counted` +
          ` (${r.duplicates} duplicates from wrapping around the batches: ${r.wrapped}), p50 ${(r.p50us / 1000).toFixed(1)} ms, p99 ${(r.p99us / 1000).toFixed(1)} ms`,
      );
      say(`    ${workText(r.work)}`);
      say(`  do-nothing: ${n.responses} requests, ${((n.responses * PER_BATCH) / n.seconds).toFixed(0)} events/s, p50 ${(n.p50us / 1000).toFixed(1)} ms, p99 ${(n.p99us / 1000).toFixed(1)} ms`);
      say(`    ${workText(n.work)}`);
      say(
        `  verify after the run: counted per wrk's answers ${r.counted}, acknowledged by the server ${c1.stored === ackedRun ? ackedRun : `${ackedRun} (MISMATCH)`}, per-type counts ${stored}, graph counters ${graph}, distinct ids ${seen}; non-200 ${r.bad}, socket errors ${r.errors}`,
      );
      say(`  verify after sending all ${BATCHES} batches again: per-type counts ${c2.stored}, graph counters ${c2.graph}, distinct ids ${c2.seen}, acknowledged ${acked}, expected ${distinct}, non-200 ${retryBad}: ${ok ? 'EXACT' : 'MISMATCH'}`);
      if (!ok) throw new Error('counts do not agree: events lost or counted twice');
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const evReal = mean(real.map((r) => (r.counted + r.duplicates) / r.seconds));
    const evCounted = mean(real.map((r) => r.counted / r.seconds));
    const evNoop = mean(noop.map((r) => (r.responses * PER_BATCH) / r.seconds));
    const p99 = Math.max(...real.map((r) => r.p99us)) / 1000;
    if (real.some((r) => r.wrapped > 0)) say(`WARNING: wrk ran out of distinct batches and sent some again (duplicates are cheaper): raise BENCH_BATCHES; the events/s counted is the figure to read`);
    say(
      `summary: ${evReal.toFixed(0)} events/s accepted (${evCounted.toFixed(0)} counted), p99 ${p99.toFixed(1)} ms per request (worst round); do-nothing ${evNoop.toFixed(0)} events/s; ratio ${(evReal / evNoop).toFixed(2)}x (targets >= 10,000 events/s and >= 0.5x)`,
    );
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
    process.stderr.write(`bench:webhooks failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
