/**
 * `npm run bench:probes`: the round-trip probes at the scale of a large host, on loopback only.
 *
 *   send   1,000 domains: the probe round's real send code (collector/probes/send.ts `sendProbes`:
 *          records written to Redis before and after, SMTP pool of `probes.smtp.pool` = 4) against
 *          a local smtp-server (in a process of its own), and Postfix's `smtp-source` against the same
 *          server in the same run (4 sessions, connections reused as the pool does). Each runs twice,
 *          alternating; the better run of each counts. Prints both rates and their ratio (target >= 0.5),
 *          and the CPU time per message of each client, of the server and of Redis in each run (less
 *          blurred by a loaded machine than wall-clock rates, which depend on who else runs).
 *   match  the 1,000 probes come back into a Dovecot mailbox (Debian dovecot-imapd, own config, free
 *          port) among other mail: 10,000 messages in all, written as Maildir files. The real receive
 *          (collector/probes/receive.ts `receiveImap`: one pass over new UIDs in batches of headers,
 *          tokens matched locally, one HMGET, one commit, matched messages deleted) runs in a child
 *          process; prints the time (target < 2 s), peak RSS and heap. The same with a mailbox twice as
 *          large shows whether memory grows with the mailbox.
 *
 * Options (env): BENCH_DOMAINS (1000), BENCH_MAILBOX (10000), BENCH_POOL (4), BENCH_ONLY=send (skip the match),
 * BENCH_ONLY=match (skip smtp-source and the second send: one send makes the probes, then the match parts),
 * BENCH_MATCH_RUNS (1: how many times the 10,000 match runs, each on a fresh mailbox read for the first time),
 * BENCH_MATCH_LARGE=0 (skip the mailbox twice as large), BENCH_PROF (a directory: the send and match
 * children write CPU profiles there).
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { parseConfig } from '../lib/config/load.js';
import type { Config } from '../lib/config/normalize.js';
import { keys } from '../lib/keys.js';
import { silentLogger } from '../lib/log.js';
import { createSmtpSender } from '../lib/mail/smtp.js';
import { domainStore } from '../lib/probes/domains.js';
import type { ProbeRecord } from '../lib/probes/model.js';
import { probeStore } from '../lib/probes/store.js';
import { connectRedis } from '../lib/redis.js';
import { imapSettings, smtpSettings } from '../collector/probes/round.js';
import { sendProbes } from '../collector/probes/send.js';
import { receiveImap } from '../collector/probes/receive.js';
import { openImap } from '../lib/mail/imap.js';
import { startDovecot, type Dovecot } from '../test/helpers/dovecot.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../test/helpers/throwaway-redis.js';

const DOMAINS = Number(process.env['BENCH_DOMAINS'] ?? 1000);
const MAILBOX = Number(process.env['BENCH_MAILBOX'] ?? 10_000);
const POOL = Number(process.env['BENCH_POOL'] ?? 4);
const ONLY = process.env['BENCH_ONLY'];
const MATCH_RUNS = Math.max(1, Number(process.env['BENCH_MATCH_RUNS'] ?? 1));
const MATCH_LARGE = process.env['BENCH_MATCH_LARGE'] !== '0';
const MAILBOX_USER = 'probes@mon.test';
const self = fileURLToPath(import.meta.url);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const rssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

function benchConfig(redisUrl: string, smtpPort: number, imapPort: number, user = MAILBOX_USER): Config {
  const raw = {
    redis_url: redisUrl,
    redis_prefix: 'bench:',
    probes: {
      from: MAILBOX_USER,
      smtp: { host: '127.0.0.1', port: smtpPort, tls: 'none', pool: POOL },
      imap: { host: '127.0.0.1', port: imapPort, tls: 'none', user, password: 'bench-pw', folders: ['INBOX'], delete_matched: true },
    },
  };
  return parseConfig(JSON.stringify(raw), path.join(os.tmpdir(), 'mtarep-bench', 'mtarep.yml'));
}

// --- children -------------------------------------------------------------------------------------

/** A plain SMTP server that accepts everything and counts messages (smtp-server, its own process). */
function smtpChild(): void {
  let messages = 0;
  const server = new SMTPServer({
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, _s, cb) {
      stream.on('data', () => {});
      stream.on('end', () => {
        messages++;
        cb(null, 'Ok: queued');
      });
    },
  });
  server.listen(0, '127.0.0.1', () => {
    const port = ((server as unknown as { server: import('node:net').Server }).server.address() as import('node:net').AddressInfo).port;
    process.send!({ port });
  });
  // The bench's own end closes the IPC channel, however it ends (killed, a crash): this peer goes with it.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: { count?: boolean }) => {
    const cpu = process.cpuUsage();
    if (m.count) process.send!({ messages, cpuMs: (cpu.user + cpu.system) / 1000 });
  });
}

/** The probe round's send step for every domain. */
async function sendChild(redisUrl: string, smtpPort: number): Promise<void> {
  const config = benchConfig(redisUrl, smtpPort, 1);
  const redis = await connectRedis({ url: redisUrl }, { reconnect: false, commandTimeoutMs: 30_000 });
  const domains = await domainStore(redis, 'bench:').all();
  const store = probeStore(redis, 'bench:');
  const smtp = createSmtpSender(smtpSettings(config.probes!)!);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await sendProbes(store, smtp, config.probes!, domains, () => Date.now());
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  smtp.close();
  await redis.quit();
  console.log(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, sent: r.sent, failed: r.failed, firstError: r.firstError ?? null, rssMb: rssMb() }));
}

/** One receive over the whole mailbox with the real code; peak heap sampled while it runs. */
async function matchChild(redisUrl: string, imapPort: number, user: string): Promise<void> {
  const config = benchConfig(redisUrl, 1, imapPort, user);
  const redis = await connectRedis({ url: redisUrl }, { reconnect: false, commandTimeoutMs: 30_000 });
  // Where the time goes: the reader's and the store's calls are timed (the real code, wrapped).
  const phases: Record<string, number> = {};
  const timed = <T extends object>(o: T, names: string[]): T => {
    for (const n of names) {
      const f = (o as Record<string, unknown>)[n] as (...a: unknown[]) => Promise<unknown>;
      (o as Record<string, unknown>)[n] = async (...a: unknown[]) => {
        const t = performance.now();
        try {
          return await f.apply(o, a);
        } finally {
          phases[n] = (phases[n] ?? 0) + performance.now() - t;
        }
      };
    }
    return o;
  };
  const store = timed(probeStore(redis, 'bench:'), ['get', 'commitReceive', 'positions', 'pendingDeletes', 'clearPendingDeletes']);
  let heapPeak = 0;
  const sample = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 5);
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await receiveImap(store, {
    settings: imapSettings(config.probes!)!,
    folders: ['INBOX'],
    deleteMatched: true,
    probeFrom: MAILBOX_USER,
    now: () => Date.now(),
    log: silentLogger,
    open: async (st) => {
      const t = performance.now();
      const reader = await openImap(st);
      phases['connect+login'] = performance.now() - t;
      return timed(reader, ['junkFolder', 'scan', 'delete', 'close']);
    },
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  clearInterval(sample);
  await redis.quit();
  console.log(
    JSON.stringify({
      ms,
      cpuMs: (cpu.user + cpu.system) / 1000,
      scanned: r.scanned,
      matched: r.matched,
      deleted: r.deleted,
      rssMb: rssMb(),
      heapPeakMb: Math.round(Math.max(heapPeak, process.memoryUsage().heapUsed) / 1048576),
      heapBeforeMb: Math.round(heapBefore / 1048576),
      phases: Object.entries(phases)
        .map(([k, v]) => `${k} ${Math.round(v)}`)
        .join(', '),
    }),
  );
}

// --- orchestration --------------------------------------------------------------------------------

function runChild(args: string[]): Record<string, number | string | null> {
  const prof = process.env['BENCH_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROF']}`] : [];
  const r = spawnSync(process.execPath, [...prof, ...process.execArgv, self, '--child', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Record<string, number | string | null>;
  } catch {
    throw new Error(`bench child ${args[0]} failed (exit ${r.status}): ${r.stdout.slice(-500)}`);
  }
}

/** smtp-source against the server; its CPU time from /usr/bin/time when present. */
function smtpSource(port: number): { ms: number; cpuMs?: number; error?: string } {
  const bin = '/usr/sbin/smtp-source';
  if (!fs.existsSync(bin)) return { ms: NaN, error: 'smtp-source not installed (apt-get install postfix)' };
  // -s sessions in parallel, -m messages in all, -d reuse the connection (as the pool does), -l body size.
  const args = ['-d', '-s', String(POOL), '-m', String(DOMAINS), '-l', '400', '-f', MAILBOX_USER, '-t', 'mxtest@d0.bench.test', `127.0.0.1:${port}`];
  const timeFile = path.join(os.tmpdir(), `mtarep-bench-time-${process.pid}`);
  const timed = fs.existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = timed ? spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, bin, ...args], { encoding: 'utf8' }) : spawnSync(bin, args, { encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) return { ms, error: `exit ${r.status}: ${(r.stderr || r.stdout).trim().slice(0, 300)}` };
  if (!timed) return { ms };
  const [user, sys] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  fs.rmSync(timeFile, { force: true });
  return { ms, cpuMs: ((user ?? NaN) + (sys ?? NaN)) * 1000 };
}

/** Messages the server counted so far and its CPU time (ms). */
function count(child: ChildProcess): Promise<{ messages: number; cpuMs: number }> {
  return new Promise((resolve) => {
    child.once('message', (m: { messages: number; cpuMs: number }) => resolve(m));
    child.send({ count: true });
  });
}

/** Redis's CPU time so far (ms), from INFO cpu. */
async function redisCpuMs(r: Awaited<ReturnType<typeof connectRedis>>): Promise<number> {
  const info = await r.info('cpu');
  const num = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return (num('used_cpu_user') + num('used_cpu_sys')) * 1000;
}

const rfc = (ms: number) => new Date(ms).toUTCString().replace('GMT', '+0000');

/** Fill a user's INBOX: every probe's return plus other mail up to `total` messages, as Maildir files. */
function fill(dc: Dovecot, user: string, probes: readonly ProbeRecord[], total: number): number {
  const t0 = performance.now();
  const step = Math.max(1, Math.floor(total / probes.length));
  let p = 0;
  const body = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(12) + '\r\n';
  for (let i = 0; i < total; i++) {
    const probe = i % step === 0 && p < probes.length ? probes[p++] : undefined;
    if (probe) {
      const back = probe.sentAt + 7_000 + (p % 50) * 1000;
      dc.deliver(
        user,
        'INBOX',
        `Received: from mx.${probe.domain} (mx.${probe.domain} [127.0.0.1])\r\n\tby imap.mon.test (Dovecot) with LMTP id b${i}; ${rfc(back)}\r\nFrom: ${probe.address}\r\nTo: ${MAILBOX_USER}\r\nSubject: Re: [mtarep probe] ${probe.token}\r\nIn-Reply-To: <${probe.token}@mon.test>\r\nAuto-Submitted: auto-replied\r\nDate: ${rfc(back)}\r\nMessage-ID: <r${i}@${probe.domain}>\r\n\r\nYour message was returned.\r\n`,
      );
    } else {
      dc.deliver(
        user,
        'INBOX',
        `Received: from mail.news.test (mail.news.test [127.0.0.9])\r\n\tby imap.mon.test (Dovecot) with LMTP id n${i}; ${rfc(Date.now() - i * 1000)}\r\nFrom: Newsletter <news${i % 97}@news.test>\r\nTo: ${MAILBOX_USER}\r\nSubject: ${i % 3 === 0 ? 'Re: ' : ''}Weekly news number ${i}\r\nDate: ${rfc(Date.now() - i * 1000)}\r\nMessage-ID: <n${i}@news.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}`,
      );
    }
  }
  return performance.now() - t0;
}

/** CPU time (ms) of Dovecot: its live processes plus the exited ones its master has reaped (Linux /proc). */
function dovecotCpuMs(master: number | undefined): number {
  if (master === undefined || !fs.existsSync('/proc/self/stat')) return NaN;
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  const stats = new Map<number, { ppid: number; ticks: number; children: number }>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      // Fields after the name: state ppid ... utime(14) stime(15) cutime(16) cstime(17), numbered from 3.
      stats.set(Number(d), { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]), children: Number(rest[13]) + Number(rest[14]) });
    } catch {
      /* gone meanwhile */
    }
  }
  const within = (pid: number): boolean => pid === master || (pid > 1 && stats.has(pid) && within(stats.get(pid)!.ppid));
  let ticks = stats.get(master)?.children ?? 0;
  for (const [pid, s] of stats) if (within(pid)) ticks += s.ticks;
  return ticks * tick;
}

/** Open the folder once, as a mail client would have since the mail arrived: Dovecot assigns UIDs to the new files. */
async function firstSelect(port: number, user: string): Promise<number> {
  const { ImapFlow } = await import('imapflow');
  const c = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user, pass: 'bench-pw' }, logger: false });
  const t0 = performance.now();
  await c.connect();
  await c.mailboxOpen('INBOX');
  const ms = performance.now() - t0;
  await c.logout();
  return ms;
}

async function main(): Promise<void> {
  let redis: ThrowawayRedis | undefined;
  let dc: Dovecot | undefined;
  let smtpProc: ChildProcess | undefined;
  try {
    redis = await startThrowawayRedis();
    // One mailbox per match run (each read for the first time), the last one twice as large.
    const users = [MAILBOX_USER, ...Array.from({ length: MATCH_RUNS }, (_, i) => `probes${i + 2}@mon.test`)];
    dc = await startDovecot({ users: users.map((user) => ({ user, password: 'bench-pw' })) });
    smtpProc = fork(self, ['--child', 'smtp'], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const smtpPort = await new Promise<number>((resolve) => smtpProc!.once('message', (m: { port: number }) => resolve(m.port)));
    console.log(`mtarep bench:probes  ${fmt(DOMAINS)} domains, smtp-server (own process) on 127.0.0.1:${smtpPort}, Dovecot on 127.0.0.1:${dc.port}`);
    console.log(`machine  ${os.cpus().length} cores, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);

    const r = await connectRedis({ url: redis.url }, { reconnect: false, commandTimeoutMs: 30_000 });
    const ds = domainStore(r, 'bench:');
    await ds.import(Array.from({ length: DOMAINS }, (_, i) => ({ line: i + 1, customer: `c${i % 40}`, customerName: `Customer ${i % 40}`, address: `mxtest@d${i}.bench.test`, domain: `d${i}.bench.test` })));

    // --- send ---
    let bestSource = Infinity;
    let bestSend = Infinity;
    let sendRun: Record<string, number | string | null> = {};
    const cpu = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? '?' : `${(ms / DOMAINS).toFixed(2)}`);
    for (let round = 0; round < (ONLY === 'match' ? 1 : 2); round++) {
      if (ONLY === 'match') {
        await r.del(keys('bench:').probeRecords, keys('bench:').probeSent, keys('bench:').probeOpen);
        const s = runChild(['send', redis.url, String(smtpPort)]);
        console.log(`send         ${fmt(Number(s['sent']))} probes (to have them; smtp-source skipped: BENCH_ONLY=match)`);
        break;
      }
      const before = await count(smtpProc);
      const src = smtpSource(smtpPort);
      const after = await count(smtpProc);
      const got = after.messages - before.messages;
      if (src.error) console.log(`smtp-source failed: ${src.error}`);
      else {
        console.log(
          `smtp-source  ${fmt(DOMAINS)} messages  ${(src.ms / 1000).toFixed(2)} s  ${fmt((DOMAINS / src.ms) * 1000)} msg/s  (server counted ${got})  CPU ms/msg: client ${cpu(src.cpuMs)}, server ${cpu(after.cpuMs - before.cpuMs)}`,
        );
        bestSource = Math.min(bestSource, src.ms);
      }
      await r.del(keys('bench:').probeRecords, keys('bench:').probeSent, keys('bench:').probeOpen);
      const b2 = await count(smtpProc);
      const rc0 = await redisCpuMs(r);
      const s = runChild(['send', redis.url, String(smtpPort)]);
      const rc1 = await redisCpuMs(r);
      const a2 = await count(smtpProc);
      const got2 = a2.messages - b2.messages;
      const ms = Number(s['ms']);
      console.log(
        `mtarep send  ${fmt(Number(s['sent']))} probes    ${(ms / 1000).toFixed(2)} s  ${fmt((DOMAINS / ms) * 1000)} msg/s  (pool ${POOL}, records in Redis; ${s['failed']} failed${s['firstError'] ? `: ${s['firstError']}` : ''}; server counted ${got2}; peak RSS ${s['rssMb']} MB)  CPU ms/msg: client ${cpu(Number(s['cpuMs']))}, server ${cpu(a2.cpuMs - b2.cpuMs)}, redis ${cpu(rc1 - rc0)}`,
      );
      if (Number(s['sent']) === DOMAINS && got2 === DOMAINS && ms < bestSend) {
        bestSend = ms;
        sendRun = s;
      }
    }
    const ratio = bestSource / bestSend;
    if (ONLY !== 'match') console.log(
      `ratio        mtarep ${fmt((DOMAINS / bestSend) * 1000)} msg/s vs smtp-source ${fmt((DOMAINS / bestSource) * 1000)} msg/s = ${ratio.toFixed(2)}x (target >= 0.5x): ${ratio >= 0.5 ? 'met' : 'NOT met'}`,
    );
    void sendRun;
    if (ONLY === 'send') return void (await r.quit());

    // --- match ---
    const tokens = await r.zrange(keys('bench:').probeSent, 0, -1);
    const store = probeStore(r, 'bench:');
    const probes = (await store.get(tokens)).filter((p): p is ProbeRecord => p !== undefined && p.sendError === undefined);
    const results: Record<string, number | string | null>[] = [];
    const sizes = [...Array.from({ length: MATCH_RUNS }, () => MAILBOX), ...(MATCH_LARGE ? [MAILBOX * 2] : [])];
    for (const [i, size] of sizes.entries()) {
      const user = users[i]!;
      // The same sent probes each time (not yet returned), no read position: the receive reads the whole folder.
      await store.save(probes);
      await r.del(keys('bench:').probeImapPositions, keys('bench:').probeDeletePending);
      const fillMs = fill(dc, user, probes, size);
      const selMs = await firstSelect(dc.port, user);
      const dc0 = dovecotCpuMs(dc.pid);
      const m = runChild(['match', redis.url, String(dc.port), user]);
      const serverCpu = dovecotCpuMs(dc.pid) - dc0;
      const left = dc.count(user, 'INBOX');
      console.log(
        `match        ${fmt(Number(m['scanned']))} messages scanned, ${fmt(Number(m['matched']))} probes matched, ${fmt(Number(m['deleted']))} deleted (${fmt(left)} left)  ${(Number(m['ms']) / 1000).toFixed(2)} s  peak RSS ${m['rssMb']} MB, heap peak ${m['heapPeakMb']} MB (${m['heapBeforeMb']} MB before)  [fill ${(fillMs / 1000).toFixed(1)} s, first SELECT ${fmt(selMs)} ms]\n             CPU ms during the receive: its process ${fmt(Number(m['cpuMs']))}, Dovecot ${fmt(serverCpu)}\n             ms: ${m['phases']} (scan = the server's search + the candidates' FETCH + classifying; delete = STORE + EXPUNGE)`,
      );
      results.push(m);
    }
    const runs = results.map((x) => ({ ms: Number(x['ms']), matched: Number(x['matched']), scanned: Number(x['scanned']), rssMb: Number(x['rssMb']), heapPeakMb: Number(x['heapPeakMb']) }));
    const small = runs.slice(0, MATCH_RUNS);
    const large = MATCH_LARGE ? runs[MATCH_RUNS] : undefined;
    const times = small.map((x) => x.ms).sort((x, y) => x - y);
    const median = times[Math.floor((times.length - 1) / 2)]!;
    // Every run under the target, not just the median (with two runs the median taken here is the faster).
    const okMatch = small.every((x) => x.matched === probes.length && x.scanned === MAILBOX && x.ms < 2000);
    const a = small[0]!;
    console.log(
      `target       match ${fmt(probes.length)} of ${fmt(MAILBOX)} < 2 s in every run: ${okMatch ? 'met' : 'NOT met'} (${times.length > 1 ? `median of ${times.length}: ${(median / 1000).toFixed(2)} s, all: ${small.map((x) => (x.ms / 1000).toFixed(2)).join(' ')} s` : `${(median / 1000).toFixed(2)} s`})${large ? `; memory with a mailbox twice as large: peak RSS ${a.rssMb} -> ${large.rssMb} MB, heap peak ${a.heapPeakMb} -> ${large.heapPeakMb} MB` : ''}; load average now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    );
    await r.quit();
  } finally {
    smtpProc?.kill('SIGTERM');
    await dc?.stop();
    await redis?.stop();
  }
}

if (process.argv[2] === '--child') {
  const [, , , phase, ...rest] = process.argv;
  if (phase === 'smtp') smtpChild();
  else if (phase === 'send') {
    await sendChild(rest[0]!, Number(rest[1]));
    process.exit(0);
  } else if (phase === 'match') {
    await matchChild(rest[0]!, Number(rest[1]), rest[2]!);
    process.exit(0);
  }
} else {
  await main();
}
