/**
 * `npm run bench:maillog`: provider blocks + delivery counters from a 2,000,000-line postfix log
 * (~280 MB) read over SSH on loopback from a private OpenSSH sshd (what MTAs run), against
 * `ssh host cat maillog > /dev/null` on the same file in the same run. Two ways, each alternated with
 * the cat:
 *  - in-process: `collectMaillogs` timed inside a child process (its peak RSS is its own);
 *  - whole process, as cron runs it: `node dist/cli/mtarep.cjs collect --only maillog` (the built CLI,
 *    built first when stale; startup, config, SSH and Redis connects, locks, summary and alert step
 *    included), timed from spawn to exit.
 * Prints wall times, the ratios to the cat (target <= 1.5x), peak RSS (target < 200 MB), and
 * incremental runs after 10,000 appended lines (target < 0.5 s), each way (the process three times,
 * and as often again without NODE_EXTRA_CA_CERTS when it is set). The counters written are
 * checked against the generated log after the in-process and after the whole-process runs.
 *
 * Everything is private and loopback-only: its own sshd (temp host key, temp authorized_keys, a free
 * 127.0.0.1 port; never the system sshd) and a throwaway redis-server on a free port (never 6379).
 * Cleans up after itself. The log lies within today (UTC), ending 15 minutes before the real clock,
 * so the CLI (which reads the real clock) and the in-process child (given that time) see the same day.
 * BENCH_LINES=n changes the size; BENCH_ROUNDS=n the rounds (5); BENCH_PROFILE=dir writes a CPU
 * profile of each collect there; BENCH_KEEP_LOG=file keeps a copy of the generated log (for
 * profiling the scanner alone).
 * Needs root (or a user sshd accepts) and /usr/sbin/sshd; creates /run/sshd if missing (sshd's
 * privilege-separation folder, as the Debian package does).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { parseConfig } from '../lib/config/load.js';
import { startThrowawayRedis } from '../test/helpers/throwaway-redis.js';
import { stopWhenWeExit, type Watchdog } from '../test/helpers/watchdog.js';
import { connectRedis } from '../lib/redis.js';
import { silentLogger } from '../lib/log.js';
import type { collectMaillogs as CollectFn } from '../collector/maillog/index.js';
import { freePort } from '../test/helpers/net.js';
import { formatPhases, type PhaseReport } from '../lib/phases.js';

const LINES = Number(process.env.BENCH_LINES ?? 2_000_000);
const APPEND = 10_000;
/** Whole-process runs after APPEND new lines (each on its own new batch). */
const INC_ROUNDS = 3;
/**
 * The log lies within today (UTC; a first run counts only today's lines), from up to 22 hours ago to
 * 15 minutes ago: the appended lines (two batches of 10,000) stay before now. */
const END = Date.now() - 15 * 60_000;
const DAY = new Date(Math.max(Math.floor(END / 86_400_000) * 86_400_000, END - 22 * 3600_000));
if (END - DAY.getTime() < 10 * 60_000) throw new Error('bench:maillog puts its log within today (UTC): run it after 00:25 UTC');
/** "Now" for the in-process collects: set after generating (the real clock then). */
let NOW = new Date(DAY.getTime() + 23 * 3600_000);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

// ---------- child mode: one collect, timed, with its own peak RSS ----------
if (process.argv[2] === '--child') {
  // Without a build: the TypeScript sources through tsx (see plainChildSource for the usual child).
  const [, , , cfgFile, redisUrl, nowIso] = process.argv;
  NOW = new Date(nowIso!);
  const { collectMaillogs } = (await import('../collector/maillog/index.js')) as { collectMaillogs: typeof CollectFn };
  const config = parseConfig(fs.readFileSync(cfgFile!, 'utf8'), cfgFile!);
  const redis = await connectRedis({ url: redisUrl! }, { reconnect: false, commandTimeoutMs: 60_000 });
  const rssBeforeMb = process.memoryUsage().rss / 1048576;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const r = await collectMaillogs({ config, redis, log: silentLogger, now: () => NOW, hosts: config.hosts, hostIps: new Map([['mta1', ['192.0.2.10']]]) });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  redis.disconnect();
  process.stdout.write(JSON.stringify({ ms, rssBeforeMb, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024, result: r }) + '\n');
  process.exit(0);
}

// ---------- generator ----------
const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => (n < 10 ? '0' : '') + n;
function stamp(ms: number): string {
  const d = new Date(ms);
  return `${MON[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
}
const DOMAINS = ['gmail.com', 'yahoo.com', 'hotmail.com', 'outlook.com', 'aol.com', 'comcast.net', 'icloud.com', 'gmx.de', 'web.de', 'orange.fr'];
const tallies = new Map<string, number>(); // "<YYYYMMDD> <type> <domain>" -> count
let tallyDay = '';
const tally = (type: string, domain: string) => tallies.set(`${tallyDay} ${type} ${domain}`, (tallies.get(`${tallyDay} ${type} ${domain}`) ?? 0) + 1);

class Gen {
  get time(): number {
    return this.t;
  }
  /** Time of the newest provider-block (hotmail) line written, or 0. */
  lastBlock = 0;
  private n = 0;
  private rng = 12345;
  private deferredQ: [string, string, string][] = [];
  /** ms between messages (the appended batches get a shorter one: see `append`). */
  constructor(
    private t: number,
    public step: number,
  ) {}
  private rand(): number {
    this.rng = (this.rng * 1103515245 + 12345) & 0x7fffffff;
    return this.rng / 0x7fffffff;
  }
  /** Lines of one message (6-8 lines), appended to `out`; returns how many. */
  message(out: string[]): number {
    this.n++;
    this.t += this.step;
    const s = stamp(this.t);
    tallyDay = new Date(this.t).toISOString().slice(0, 10).replace(/-/g, '');
    const qid = (0x100000000 + this.n * 7919).toString(16).toUpperCase().slice(-10);
    const dom = DOMAINS[Math.floor(this.rand() * DOMAINS.length)]!;
    const rcpt = `user${this.n % 50000}@${dom}`;
    const start = out.length;
    out.push(
      `${s} mta1 postfix/smtpd[${2000 + (this.n % 500)}]: connect from app${this.n % 20}.example.net[198.51.100.${this.n % 250}]`,
      `${s} mta1 postfix/smtpd[${2000 + (this.n % 500)}]: ${qid}: client=app${this.n % 20}.example.net[198.51.100.${this.n % 250}], sasl_method=PLAIN, sasl_username=app${this.n % 20}@example.net`,
      `${s} mta1 postfix/cleanup[3000]: ${qid}: message-id=<${this.n}.${qid}.${(this.n * 2654435761) % 4294967296}@mailer.news.example.com>`,
      `${s} mta1 postfix/qmgr[1234]: ${qid}: from=<bounce-${this.n}-${qid.toLowerCase()}@bounces.news.example.com>, size=${8000 + (this.n % 5000)}, nrcpt=1 (queue active)`,
    );
    const r = this.rand();
    if (r < 0.8) {
      out.push(`${s} mta1 postfix/smtp[4154]: ${qid}: to=<${rcpt}>, relay=mx1.${dom}[203.0.113.${this.n % 250}]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 OK  ${1700000000 + this.n} d9443c01a7336-${qid.toLowerCase()}si${this.n % 1000}.${this.n % 97} - gsmtp)`);
      out.push(`${s} mta1 postfix/qmgr[1234]: ${qid}: removed`);
      tally('sent', dom);
    } else if (r < 0.9) {
      out.push(`${s} mta1 postfix/smtp[4155]: ${qid}: to=<${rcpt}>, relay=none, delay=3600, delays=3600/0/0/0, dsn=4.4.1, status=deferred (connect to mx1.${dom}[203.0.113.7]:25: Connection timed out)`);
      tally('deferred', dom);
      this.deferredQ.push([qid, dom, rcpt]);
    } else if (r < 0.997) {
      out.push(`${s} mta1 postfix/smtp[4156]: ${qid}: to=<${rcpt}>, relay=mx1.${dom}[203.0.113.9]:25, delay=0.8, delays=0.1/0/0.3/0.4, dsn=5.1.1, status=bounced (host mx1.${dom}[203.0.113.9] said: 550 5.1.1 user unknown (in reply to RCPT TO command))`);
      out.push(`${s} mta1 postfix/qmgr[1234]: ${qid}: removed`);
      tally('bounced', dom);
    } else {
      // A provider block: counted as a bounce, and (the newest, inside the window) a block.
      this.lastBlock = this.t;
      out.push(`${s} mta1 postfix/smtp[4157]: ${qid}: to=<${rcpt}>, relay=mx.hotmail.com[52.101.10.3]:25, delay=0.8, delays=0.1/0/0.3/0.4, dsn=5.7.1, status=bounced (host mx.hotmail.com[52.101.10.3] said: 550 5.7.1 Unfortunately, messages from [192.0.2.10] weren't sent. http://mail.live.com/mail/troubleshooting.aspx#errors. (in reply to MAIL FROM command))`);
      out.push(`${s} mta1 postfix/qmgr[1234]: ${qid}: removed`);
      tally('bounced', dom);
    }
    // Deferred mail: later sent or expired.
    if (this.deferredQ.length > 200) {
      const [dq, dd, dr] = this.deferredQ.shift()!;
      if (this.rand() < 0.5) {
        out.push(`${s} mta1 postfix/smtp[4158]: ${dq}: to=<${dr}>, relay=mx1.${dd}[203.0.113.8]:25, delay=7200, delays=7199/0/0.5/0.5, dsn=2.0.0, status=sent (250 OK)`);
        tally('sent', dd);
      } else {
        out.push(`${s} mta1 postfix/qmgr[1234]: ${dq}: from=<bounce@news.example.com>, status=expired, returned to sender`);
        tally('expired', dd);
      }
      out.push(`${s} mta1 postfix/qmgr[1234]: ${dq}: removed`);
    }
    out.push(`${s} mta1 postfix/smtpd[${2000 + (this.n % 500)}]: disconnect from app${this.n % 20}.example.net[198.51.100.${this.n % 250}] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5`);
    return out.length - start;
  }
}

/** Write `lines` lines to `fd`; returns the generator (to continue later). */
function generate(fd: number, lines: number, gen: Gen): void {
  let written = 0;
  let buf: string[] = [];
  while (written < lines) {
    written += gen.message(buf);
    if (buf.length > 20_000) {
      fs.writeSync(fd, buf.join('\n') + '\n');
      buf = [];
    }
  }
  if (buf.length) fs.writeSync(fd, buf.join('\n') + '\n');
}

// ---------- helpers ----------
function waitPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on 127.0.0.1:${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

let compiledModule: string | null = null;
/** With a build, the child is plain JS on the compiled modules: no tsx in the process measured. */
let plainChild: string | null = null;

function plainChildSource(build: string): string {
  const u = (f: string) => JSON.stringify(pathToFileURL(path.join(build, f)).href);
  return `
import fs from 'node:fs';
import { parseConfig } from ${u('lib/config/load.js')};
import { connectRedis } from ${u('lib/redis.js')};
import { silentLogger } from ${u('lib/log.js')};
import { collectMaillogs } from ${u('collector/maillog/index.js')};
const [cfgFile, redisUrl, nowIso] = process.argv.slice(2);
const NOW = new Date(nowIso);
const config = parseConfig(fs.readFileSync(cfgFile, 'utf8'), cfgFile);
const redis = await connectRedis({ url: redisUrl }, { reconnect: false, commandTimeoutMs: 60000 });
const rssBeforeMb = process.memoryUsage().rss / 1048576;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const result = await collectMaillogs({ config, redis, log: silentLogger, now: () => NOW, hosts: config.hosts, hostIps: new Map([['mta1', ['192.0.2.10']]]) });
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
redis.disconnect();
process.stdout.write(JSON.stringify({ ms, rssBeforeMb, cpuMs: (cpu.user + cpu.system) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024, result }) + '\\n');
process.exit(0);
`;
}

function runChild(cfgFile: string, redisUrl: string): Promise<{ ms: number; rssBeforeMb: number; cpuMs: number; maxRssMb: number; result: { ok: number; errors: string[] } }> {
  return new Promise((resolve, reject) => {
    const prof = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_PROFILE)}`] : [];
    const args = plainChild
      ? [...prof, plainChild, cfgFile, redisUrl, NOW.toISOString()]
      : [...prof, '--import', 'tsx', fileURLToPath(import.meta.url), '--child', cfgFile, redisUrl, NOW.toISOString()];
    const c = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('exit', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!));
      } catch {
        reject(new Error(`collect child failed (exit ${code}): ${out}`));
      }
    });
  });
}

interface ProcessRun {
  ms: number;
  cpuMs: number;
  maxRssMb: number;
  stdout: string;
  /** What the process wrote under MTAREP_PHASES (lib/phases.ts). */
  phases?: PhaseReport;
}

/** `mtarep collect --only maillog` as cron runs it: the built CLI, no terminal, timed spawn to exit. */
function runCliCollect(cfgFile: string, env: NodeJS.ProcessEnv = {}): ProcessRun {
  const prof = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_PROFILE)}`] : [];
  const phaseFile = path.join(path.dirname(cfgFile), 'phases.json');
  fs.rmSync(phaseFile, { force: true });
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', process.execPath, ...prof, path.join(root, 'dist/cli/mtarep.cjs'), 'collect', '--only', 'maillog', '--config', cfgFile], {
    cwd: path.dirname(cfgFile),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MTAREP_PHASES: phaseFile, ...env }, // an undefined value leaves the variable out
  });
  const ms = performance.now() - t0;
  const phases = fs.existsSync(phaseFile) ? (JSON.parse(fs.readFileSync(phaseFile, 'utf8')) as PhaseReport) : undefined;
  const timeLine = r.stderr.trim().split('\n').pop()!;
  if (r.status !== 0) throw new Error(`mtarep collect --only maillog exited ${r.status}: ${r.stdout}${r.stderr}`);
  const [u, sys, rssKb] = timeLine.split(' ').map(Number);
  return { ms, cpuMs: (u! + sys!) * 1000, maxRssMb: rssKb! / 1024, stdout: r.stdout, ...(phases ? { phases } : {}) };
}

function timeCat(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync('ssh', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`ssh cat failed: ${r.stderr.toString()}`);
  return performance.now() - t0;
}

// ---------- main ----------
const procs: ChildProcess[] = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-bench-maillog-'));
// Inside the checkout (gitignored) so the compiled files find node_modules.
const buildDir = path.join(root, '.bench', `maillog-build-${process.pid}`);
let stopRedis: (() => Promise<void>) | undefined;
// Peers stopped even when this process is killed (test/helpers/watchdog.ts); cancelled by cleanup.
const dogs: Watchdog[] = [];
const cleanup = () => {
  for (const d of dogs) d.cancel();
  for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
  void stopRedis?.();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(buildDir, { recursive: true, force: true });
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

try {
  if (!fs.existsSync('/usr/sbin/sshd')) throw new Error('/usr/sbin/sshd is not installed (apt-get install openssh-server)');
  if (!fs.existsSync('/run/sshd')) fs.mkdirSync('/run/sshd', { mode: 0o755 });

  // Compile as `npm run build` does (type errors elsewhere do not stop the emit).
  spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--outDir', buildDir, '--sourceMap', 'false'], { cwd: root, stdio: 'ignore' });
  const built = path.join(buildDir, 'collector/maillog/index.js');
  if (fs.existsSync(built)) {
    compiledModule = pathToFileURL(built).href;
    plainChild = path.join(buildDir, 'bench-child.mjs');
    fs.writeFileSync(plainChild, plainChildSource(buildDir));
  }
  else console.log('(could not compile: timing the TypeScript sources through tsx)');

  // Keys, sshd and redis.
  for (const k of ['host_key', 'client_key']) {
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, k)]);
    if (r.status !== 0) throw new Error(`ssh-keygen: ${r.stderr.toString()}`);
  }
  fs.copyFileSync(path.join(dir, 'client_key.pub'), path.join(dir, 'authorized_keys'));
  const sshPort = await freePort();
  const user = os.userInfo().username;
  fs.writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `Port ${sshPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${user}`,
      // A home without shell rc files: a login's ~/.bashrc (slow on a workstation) must not be timed.
      `SetEnv HOME=${path.join(dir, 'home')}`,
    ].join('\n') + '\n',
  );
  fs.mkdirSync(path.join(dir, 'home'));
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-f', path.join(dir, 'sshd_config'), '-E', path.join(dir, 'sshd.log')], { stdio: 'ignore' });
  procs.push(sshd);
  dogs.push(stopWhenWeExit(sshd.pid, dir));
  const redisSrv = await startThrowawayRedis();
  stopRedis = redisSrv.stop;
  await waitPort(sshPort, 10_000);
  const redisUrl = redisSrv.url;
  const hostKey = fs.readFileSync(path.join(dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  fs.writeFileSync(path.join(dir, 'known_hosts'), `[127.0.0.1]:${sshPort} ${hostKey}\n`);

  // The log: LINES lines over the day up to NOW.
  const log = path.join(dir, 'maillog');
  console.log(`bench:maillog, node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  process.stdout.write(`generating ${LINES.toLocaleString('en')} lines... `);
  // Messages average ~7.1 lines; the step assumes 6.9, so the log ends a little before END (up to 22
  // hours after DAY). With 6 it ended at ~85% of the span: after ~11:20 UTC its newest provider block
  // was older than the 2-hour window, and the runs found none.
  const gen = new Gen(DAY.getTime(), Math.max(1, Math.floor((END - DAY.getTime()) / (LINES / 6.9))));
  const fd = fs.openSync(log, 'w');
  generate(fd, LINES, gen);
  fs.closeSync(fd);
  NOW = new Date();
  if (gen.time > NOW.getTime() - 10 * 60_000) throw new Error(`the generated log ends at ${new Date(gen.time).toISOString()}, less than 10 minutes before the clock`);
  const size = fs.statSync(log).size;
  const lineCount = Number(spawnSync('wc', ['-l', log]).stdout.toString().trim().split(' ')[0]);
  console.log(`${lineCount.toLocaleString('en')} lines, ${(size / 1e6).toFixed(0)} MB`);

  const cfgFile = path.join(dir, 'mtarep.yml');
  fs.writeFileSync(
    cfgFile,
    stringify({
      redis_url: redisUrl,
      data_dir: path.join(dir, 'data'),
      mta_map: { mta1: { fqdn: 'mta1.example.com', ssh_host: '127.0.0.1', ssh_port: sshPort, maillog_path: log, timezone: 'UTC', ips: ['192.0.2.10'] } },
      ssh_key: path.join(dir, 'client_key'),
      ssh_user: user,
      ssh_known_hosts: path.join(dir, 'known_hosts'),
      // The whole file on the first run (the default reads a 64 MiB tail).
      maillog_initial_tail_bytes: size + 1,
      provider_block_strings: {
        aol: 'postmaster\\.info\\.aol\\.com\\/errors\\/5',
        hotmail: 'mail\\.live\\.com\\/mail\\/troubleshooting\\.aspx#errors',
        comcast: 'postmaster.comcast.net/smtp-error-codes.php#BL0',
        cox: 'Error\\sCode:\\sCXBL',
        united: '\\.untd\\.com.*550\\sAccess\\sdenied',
        gmail: 'www\\.google\\.com\\/mail\\/help\\/bulk_mail\\.html',
        cloudmark: 'csi\\.cloudmark\\.com\\/reset-request',
      },
    }),
  );
  const sshArgs = ['-i', path.join(dir, 'client_key'), '-o', `UserKnownHostsFile=${path.join(dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-p', String(sshPort), `${user}@127.0.0.1`, 'cat', log];

  const admin = await connectRedis({ url: redisUrl }, { reconnect: false, commandTimeoutMs: 60_000 });
  const checkCounters = async (what: string): Promise<number> => {
    let wrong = 0;
    for (const [key, n] of tallies) {
      const [day, type, domain] = key.split(' ') as [string, string, string];
      const got = Number(await admin.hget(`mta1:${day}:${type}`, domain));
      if (got !== n) {
        wrong++;
        if (wrong <= 5) console.log(`  ${what}: counter mismatch ${day} ${type} ${domain}: got ${got}, generated ${n}`);
      }
    }
    return wrong;
  };
  // Alternate each way with the cat, several times: the machine's other load hits both alike.
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
  const cats: number[] = [];
  const runs: { ms: number; rssBeforeMb: number; cpuMs: number; maxRssMb: number }[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    cats.push(timeCat(sshArgs));
    await admin.flushdb();
    const r = await runChild(cfgFile, redisUrl);
    if (r.result.ok !== 1) throw new Error(`collect failed: ${r.result.errors.join('; ')}`);
    runs.push(r);
  }
  const wrong = await checkCounters('in-process');
  const blocks = JSON.parse((await admin.get('mtarep:blocks:mta1')) ?? '{}') as { blocks?: { provider: string }[] };
  const lastBlockOfFullLog = gen.lastBlock;

  // The whole CLI process. One untimed run first: the CLI writes its code cache on its first run of
  // a command (as the first cron run does), the timed runs use it.
  spawnSync('bash', ['-c', '. scripts/lib.sh && need_build'], { cwd: root, stdio: 'inherit' });
  await admin.flushdb();
  runCliCollect(cfgFile);
  const pcats: number[] = [];
  const pruns: ProcessRun[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    pcats.push(timeCat(sshArgs));
    await admin.flushdb();
    pruns.push(runCliCollect(cfgFile));
  }
  const pwrong = await checkCounters('whole process');

  // Incremental: 10,000 more lines, each way (the in-process child, then the CLI on the next 10,000,
  // INC_ROUNDS times, and as often again without NODE_EXTRA_CA_CERTS when it is set: Node 20 reads
  // and parses that file in every start, see bench:cli). Each appended batch spans about a minute,
  // so all of them stay before the real clock (the log ends 15 minutes before it).
  gen.step = Math.floor(60_000 / (APPEND / 6));
  const append = () => {
    const fd2 = fs.openSync(log, 'a');
    generate(fd2, APPEND, gen);
    fs.closeSync(fd2);
  };
  append();
  const incRun = await runChild(cfgFile, redisUrl);
  const incRun2 = await runChild(cfgFile, redisUrl); // nothing new: the floor (connect + stat)
  const extraCa = process.env.NODE_EXTRA_CA_CERTS;
  const pincs: ProcessRun[] = [];
  const pincsNoCa: ProcessRun[] = [];
  for (let i = 0; i < INC_ROUNDS; i++) {
    append();
    pincs.push(runCliCollect(cfgFile));
    if (extraCa) {
      append();
      pincsNoCa.push(runCliCollect(cfgFile, { NODE_EXTRA_CA_CERTS: undefined }));
    }
  }
  const pinc2 = runCliCollect(cfgFile);
  const incWrong = await checkCounters('after the incremental runs');
  admin.disconnect();

  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const cat = med(cats);
  const full = med(runs.map((r) => r.ms));
  const pcat = med(pcats);
  const pfull = med(pruns.map((r) => r.ms));
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log('');
  console.log(`in-process code timed: ${compiledModule ? 'the compiled build (tsc, as npm run build)' : 'TypeScript sources via tsx'}`);
  console.log(`ssh cat maillog > /dev/null (OpenSSH client): ${cats.map(s).join(', ')}  median ${s(cat)}  (${(size / 1e6 / (cat / 1000)).toFixed(0)} MB/s)`);
  console.log(`in-process collect, blocks + counters:       ${runs.map((r) => s(r.ms)).join(', ')}  median ${s(full)}  (${((LINES / full) * 1000 / 1e6).toFixed(2)} M lines/s)`);
  console.log(`CPU time of the collect process:             ${runs.map((r) => s(r.cpuMs)).join(', ')}`);
  console.log(`ratio in-process collect / cat:              ${(full / cat).toFixed(2)}x of the medians, ${(Math.min(...runs.map((r) => r.ms)) / Math.min(...cats)).toFixed(2)}x of the best runs   (target <= 1.5x)`);
  console.log(`peak RSS of the collect process:             ${Math.max(...runs.map((r) => r.maxRssMb)).toFixed(0)} MB   (target < 200 MB; ${Math.max(...runs.map((r) => r.rssBeforeMb)).toFixed(0)} MB of it before the collect started: node, config, redis client)`);
  console.log(`incremental run after ${APPEND.toLocaleString('en')} new lines:       ${s(incRun.ms)}   (target < 0.5 s; a run with nothing new: ${s(incRun2.ms)})`);
  console.log('');
  console.log('whole process, as cron runs it: node dist/cli/mtarep.cjs collect --only maillog');
  console.log(`ssh cat maillog > /dev/null (same rounds):   ${pcats.map(s).join(', ')}  median ${s(pcat)}`);
  console.log(`mtarep collect --only maillog (process):     ${pruns.map((r) => s(r.ms)).join(', ')}  median ${s(pfull)}`);
  console.log(`CPU time of the process:                     ${pruns.map((r) => s(r.cpuMs)).join(', ')}`);
  const pratio = pfull / pcat;
  console.log(`ratio process / cat:                         ${pratio.toFixed(2)}x of the medians, ${(Math.min(...pruns.map((r) => r.ms)) / Math.min(...pcats)).toFixed(2)}x of the best runs   (target <= 1.5x: ${pratio <= 1.5 ? 'met' : 'NOT met'})`);
  console.log(`peak RSS of the process:                     ${Math.max(...pruns.map((r) => r.maxRssMb)).toFixed(0)} MB`);
  const pinc = [...pincs].sort((a, b) => a.ms - b.ms)[Math.floor(pincs.length / 2)]!;
  console.log(
    `process after ${APPEND.toLocaleString('en')} new lines:              ${pincs.map((r) => s(r.ms)).join(', ')}  median ${s(pinc.ms)}   (target < 0.5 s: ${pinc.ms < 500 ? 'met' : 'NOT met'}; a run with nothing new: ${s(pinc2.ms)})`,
  );
  if (extraCa) {
    const m = med(pincsNoCa.map((r) => r.ms));
    console.log(`  same, without NODE_EXTRA_CA_CERTS:         ${pincsNoCa.map((r) => s(r.ms)).join(', ')}  median ${s(m)}   (target < 0.5 s: ${m < 500 ? 'met' : 'NOT met'}; this machine sets it to ${extraCa}, parsed in every node start)`);
  }
  const medianRun = [...pruns].sort((a, b) => a.ms - b.ms)[Math.floor(pruns.length / 2)]!;
  console.log(`phases of the median whole run, ms from the process start (MTAREP_PHASES):`);
  console.log(`  ${formatPhases(medianRun.phases)}`);
  console.log(`phases of the median run after ${APPEND.toLocaleString('en')} new lines:`);
  console.log(`  ${formatPhases(pinc.phases)}`);
  console.log('');
  console.log(`counters checked against the generated log:  ${tallies.size} day/type/domain triples; wrong: ${wrong} in-process, ${pwrong} whole process, ${incWrong} after the incremental runs`);
  // The newest hotmail block line lies inside the 2-hour window (provider_block_window's default) of
  // the in-process runs' clock: that block must be found, and no other (the log has no other).
  const windowMs = 7200 * 1000;
  const expectBlock = gen.lastBlock > 0 && NOW.getTime() - lastBlockOfFullLog <= windowMs;
  const found = (blocks.blocks ?? []).map((b) => b.provider);
  const blocksRight = expectBlock ? found.length === 1 && found[0] === 'hotmail' : found.length === 0;
  console.log(
    `provider blocks found:                       ${found.join(', ') || 'none'} (${expectBlock ? 'hotmail expected: its newest line is inside the 2-hour window' : 'none expected'}: ${blocksRight ? 'right' : 'WRONG'})`,
  );
  if (!blocksRight) process.exitCode = 1;
  console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (pwrong > 0 || incWrong > 0) process.exitCode = 1;
  if (wrong > 0) process.exitCode = 1;
  if (process.env.BENCH_KEEP_LOG) fs.copyFileSync(log, process.env.BENCH_KEEP_LOG);
} catch (e) {
  console.error(`bench-maillog: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  await stopRedis?.();
  cleanup();
}
