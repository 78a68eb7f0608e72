/**
 * The bundled CLI (scripts/build-bundle.ts), started as cli/main.ts starts a build's bundle: through
 * cli/bundle-loader.ts and its V8 code cache. It must answer as the modules do (the other CLI tests
 * run the modules through tsx), load its npm packages, the maillog scan worker and the dashboard's
 * render worker from where the bundle lies, and treat the code cache as an optimisation only: written on the first run, accepted
 * on the next, ignored when V8 rejects it, never taken from a folder others can write.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from '../scripts/build-bundle.js';
import { cachePlace, codeCacheDir } from '../cli/bundle-loader.js';
import { hashPassword } from '../lib/htpasswd.js';
import { keys } from '../lib/keys.js';
import type { RunSummary } from '../lib/model.js';
import { runCli, repoRoot, type CliResult } from './helpers/cli.js';
import { startDnsServer, type TestDnsServer } from './helpers/dns-server.js';
import { LogBuilder } from './helpers/maillog-log.js';
import { testRedis, type TestRedis } from './helpers/redis.js';
import { startSshServer, type TestSshServer } from './helpers/ssh-server.js';
import { freePort } from './helpers/net.js';
import { ANSWERS_MS } from './helpers/timeouts.js';

const mta = '127.1.0.31';
let bundle: string;
let buildDir: string;
let dir: string;
let cacheDir: string;
let launcher: string;
let r: TestRedis;
let dns: TestDnsServer;
let ssh: TestSshServer;

beforeAll(async () => {
  // Inside the checkout (gitignored), as dist/bundle is: the bundle finds node_modules from there.
  buildDir = path.join(repoRoot, '.bench', `test-bundle-${process.pid}`);
  bundle = await buildBundle(path.join(buildDir, 'bundle'));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-bundle-'));
  cacheDir = path.join(dir, 'cache');
  fs.mkdirSync(cacheDir, { mode: 0o700 });
  // What cli/main.ts does with a build's bundle, plus a line saying what the code cache did.
  launcher = path.join(dir, 'launch.mts');
  fs.writeFileSync(
    launcher,
    `import { loadBundle } from ${JSON.stringify(path.join(repoRoot, 'cli/bundle-loader.ts'))};
const [file, cache, ...argv] = process.argv.slice(2);
const b = loadBundle(file, argv[0], { cacheDir: cache });
process.stderr.write('code cache: ' + b.cache + '\\n');
b.exports.start(argv);
`,
  );
  r = await testRedis();
  dns = await startDnsServer();
  ssh = await startSshServer();
});
afterAll(async () => {
  await Promise.all([r?.close(), dns?.close(), ssh?.close()]);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(buildDir, { recursive: true, force: true });
});

/** tsx by path: the children run in a temporary folder, where `--import tsx` would not resolve. */
const tsxLoader = pathToFileURL(path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs')).href;

interface BundleResult extends CliResult {
  cache: string;
}

function runBundle(args: string[], cache = cacheDir): Promise<BundleResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsxLoader, launcher, bundle, cache, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /^code cache: (\w+)\n/.exec(stderr);
      resolve({ code, stdout, stderr: stderr.replace(/^code cache: \w+\n/, ''), cache: m?.[1] ?? 'missing' });
    });
  });
}

function writeConfig(name: string, body: Record<string, unknown>): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, stringify(body));
  return file;
}

describe('the bundled CLI', () => {
  it('check-config answers as the modules do; the code cache is written, then accepted', async () => {
    const cfg = writeConfig('check.yml', {
      http_auth_file: './htpasswd',
      rbls: ['zen.spamhaus.org', 'bl.spamcop.net'],
      provider_block_strings: { gmail: 'gsmtp.*550' },
      mta_map: { mx1: 'mx1.example.com', mx2: { fqdn: 'mx2.example.com', ips: ['192.0.2.7', '2001:db8::7'] } },
    });
    const modules = await runCli(['check-config', '--config', cfg]);
    expect(modules.code).toBe(0);
    // A cache of an earlier build of this bundle: removed when the new one is written.
    const place = cachePlace(bundle);
    const stale = path.join(cacheDir, `${place}-${'0'.repeat(20)}-1-1-${process.version}-${process.arch}-check-config.v8`);
    fs.writeFileSync(stale, 'old', { mode: 0o600 });
    const first = await runBundle(['check-config', '--config', cfg]);
    expect(fs.existsSync(stale)).toBe(false);
    expect(first).toMatchObject({ code: 0, stderr: '', cache: 'none', stdout: modules.stdout });
    const files = fs.readdirSync(cacheDir).filter((f) => f.endsWith('-check-config.v8'));
    expect(files).toHaveLength(1);
    expect(fs.statSync(path.join(cacheDir, files[0]!)).mode & 0o777).toBe(0o600);
    const second = await runBundle(['check-config', '--config', cfg]);
    expect(second).toMatchObject({ code: 0, stderr: '', cache: 'accepted', stdout: modules.stdout });
  });

  it('a cache V8 rejects is ignored and written again', async () => {
    const cfg = writeConfig('reject.yml', { mta_map: { mx1: 'mx1.example.com' } });
    await runBundle(['check-config', '--config', cfg]);
    const file = fs.readdirSync(cacheDir).find((f) => f.endsWith('-check-config.v8'))!;
    fs.writeFileSync(path.join(cacheDir, file), Buffer.alloc(4096, 7), { mode: 0o600 });
    const rejected = await runBundle(['check-config', '--config', cfg]);
    expect(rejected).toMatchObject({ code: 0, stderr: '', cache: 'rejected' });
    expect(rejected.stdout).toMatch(/is valid/);
    expect((await runBundle(['check-config', '--config', cfg])).cache).toBe('accepted');
  });

  it('a bad config: exit 2, the key named (the config error crosses the bundle as it should); that run writes no code cache', async () => {
    const cfg = writeConfig('bad.yml', { rbls: 5, mta_map: { mx1: 'mx1.example.com' } });
    const fresh = path.join(dir, 'cache-bad');
    fs.mkdirSync(fresh, { mode: 0o700 });
    const res = await runBundle(['check-config', '--config', cfg], fresh);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^bad\.yml: rbls: /m);
    // A cache made by a run that stopped early would hold little of the command, and an accepted
    // cache is kept: the next run that does its work writes it.
    expect(res.cache).toBe('none');
    expect(fs.readdirSync(fresh)).toEqual([]);
    const good = await runBundle(['check-config', '--config', writeConfig('good-after-bad.yml', { mta_map: { mx1: 'mx1.example.com' } })], fresh);
    expect(good).toMatchObject({ code: 0, cache: 'none' });
    expect(fs.readdirSync(fresh).filter((f) => f.endsWith('-check-config.v8'))).toHaveLength(1);
  });

  it('without a usable cache folder the bundle runs without a cache', async () => {
    const open = path.join(dir, 'open');
    fs.mkdirSync(path.join(open, 'mtarep'), { recursive: true });
    fs.chmodSync(path.join(open, 'mtarep'), 0o777);
    // A folder others can write is never used (a code cache is code): the next candidate is.
    expect(codeCacheDir({ XDG_CACHE_HOME: open, HOME: path.join(dir, 'home') })).toBe(path.join(dir, 'home', '.cache', 'mtarep'));
    fs.chmodSync(path.join(open, 'mtarep'), 0o700);
    expect(codeCacheDir({ XDG_CACHE_HOME: open })).toBe(path.join(open, 'mtarep'));
    const res = await runBundle(['--version'], '');
    expect(res.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version);
  });

  it('collect (DNSBL over UDP, maillog over SSH through the scan worker) writes what the modules write', async () => {
    dns.testPoints('bl.test');
    dns.list('bl.test', mta, ['127.0.0.2']);
    // Over 8 MiB: the read is scanned in the worker thread, which the bundle carries beside itself.
    // The lines lie in the last 3 hours by the real clock (the CLI reads it), so they may be of
    // yesterday: a first run counts only today's, which fails this test from 00:00 to 03:00 UTC. So a
    // first run reads the log while it is empty, and the lines are read as new lines, which all count.
    const log = path.join(ssh.dir, 'maillog');
    fs.writeFileSync(log, '');
    const b = new LogBuilder();
    const start = Date.now() - 3 * 3600_000;
    let n = 0;
    while (b.lines.length < 75_000) {
      b.message(new Date(start + n * 100), `u${n}@d${n % 7}.example`, (['sent', 'deferred', 'bounced', 'sent'] as const)[n % 4]!);
      n++;
    }
    fs.writeFileSync(path.join(dir, 'id'), ssh.clientKey.private, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'known_hosts'), ssh.knownHostsLine() + '\n');
    const cfg = writeConfig('collect.yml', {
      redis_url: r.url,
      data_dir: './data',
      dns: { servers: [dns.address], timeout_ms: ANSWERS_MS, tries: 1 },
      rbls: ['bl.test'],
      senderscore_zone: false,
      ssh_key: path.join(dir, 'id'),
      ssh_user: 'mtarep',
      ssh_known_hosts: path.join(dir, 'known_hosts'),
      mta_map: { mta1: { fqdn: 'mx.example.test', ips: [mta], ssh_host: ssh.host, ssh_port: ssh.port, maillog_path: log, timezone: 'UTC' } },
    });
    await r.redis.flushdb();
    const first = await runBundle(['collect', '--only', 'maillog', '--json', '--config', cfg]);
    expect(first.stderr).toBe('');
    expect((JSON.parse(first.stdout) as RunSummary).checks.maillog).toEqual({ ok: 1, error: 0, skipped: 0 });
    fs.appendFileSync(log, b.text());
    expect(fs.statSync(log).size).toBeGreaterThan(8 << 20);
    const res = await runBundle(['collect', '--only', 'reputation,maillog', '--json', '--config', cfg]);
    expect(res.stderr).toBe('');
    const s = JSON.parse(res.stdout) as RunSummary;
    expect(s.checks.maillog).toEqual({ ok: 1, error: 0, skipped: 0 });
    expect(JSON.parse((await r.redis.get(keys('mtarep:').ip(mta)))!).dnsbl.value.zones[0].state).toBe('listed');
    for (const [key, want] of b.expected) {
      const got = await r.redis.hgetall(`mta1:${key}`);
      expect([key, got]).toEqual([key, Object.fromEntries([...want].map(([d, c]) => [d, String(c)]))]);
    }
  });

  it('serve builds the overview in the render thread the bundle carries beside itself', async () => {
    const port = await freePort();
    fs.writeFileSync(path.join(dir, 'htpasswd'), `u:${hashPassword('p')}\n`);
    const cfg = writeConfig('serve.yml', { redis_url: r.url, listen: `127.0.0.1:${port}`, http_auth_file: './htpasswd', rbls: ['bl.test'], mta_map: { mta1: 'mx.example.test' } });
    const at = new Date().toISOString();
    await r.redis.set(keys('mtarep:').lastRun, JSON.stringify({ id: 'b', startedAt: at, finishedAt: at, durationMs: 1, hosts: 1, ips: 0, status: 'ok', checks: {}, unhealthyZones: [], errors: [] }));
    const version = String(await r.redis.incr(keys('mtarep:').dataVersion));
    const child = spawn(process.execPath, ['--import', tsxLoader, launcher, bundle, cacheDir, 'serve', '--config', cfg], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise((res) => child.once('close', res));
    try {
      const deadline = Date.now() + 30_000;
      let last = '';
      for (;;) {
        const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { Authorization: 'Basic ' + Buffer.from('u:p').toString('base64') } }).catch((e: unknown) => e as Error);
        if (!(res instanceof Error)) {
          last = `${res.status} ${(await res.text()).slice(0, 20000)}`;
          if (res.status === 200) break;
        }
        if (Date.now() > deadline) throw new Error(`serve did not answer 200 within 30 s: ${last} ${stderr}`);
        await new Promise((res) => setTimeout(res, 50));
      }
      // A render that failed in the worker would be a 500: this page was built there.
      expect(last).toContain('<table id="overview"');
      expect(last).toContain(`data-version="${version}"`);
    } finally {
      child.kill();
      await closed;
    }
  });
});

describe('the built launcher (dist/cli/mtarep.cjs, package.json "bin")', () => {
  function runLauncher(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult & { modules: string[] }> {
    // The node modules it loads beyond a bare start, printed by a preloaded script when it exits.
    const trace = path.join(dir, 'trace.cjs');
    fs.writeFileSync(trace, `const seen = new Set(Object.keys(require.cache));
process.on('exit', () => process.stderr.write('loaded: ' + JSON.stringify(Object.keys(require.cache).filter((f) => !seen.has(f))) + '\\n'));
`);
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', trace, path.join(buildDir, 'cli', 'mtarep.cjs'), ...args], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, XDG_CACHE_HOME: cacheDir, ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        const m = /^loaded: (.*)\n/m.exec(stderr);
        resolve({ code, stdout, stderr: stderr.replace(/^loaded: .*\n/m, ''), modules: m ? (JSON.parse(m[1]!) as string[]) : ['(no trace)'] });
      });
    });
  }
  const version = () => (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

  it('answers --version and --help from itself, loading no other file', async () => {
    const v = await runLauncher(['--version']);
    expect(v).toMatchObject({ code: 0, stdout: `${version()}\n`, stderr: '' });
    expect(v.modules).toEqual([path.join(buildDir, 'cli', 'mtarep.cjs')]);
    const help = await runLauncher(['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: mtarep <command>/m);
    expect(help.stdout).toMatch(/^ {2}check-config /m);
    expect(help.modules).toEqual([path.join(buildDir, 'cli', 'mtarep.cjs')]);
  });

  it('runs a command from the bundle beside it, through the code cache', async () => {
    const cfg = writeConfig('launcher.yml', { rbls: ['zen.spamhaus.org'], mta_map: { mx1: 'mx1.example.com' } });
    const modules = await runCli(['check-config', '--config', cfg]);
    const res = await runLauncher(['check-config', '--config', cfg]);
    expect(res).toMatchObject({ code: 0, stderr: '', stdout: modules.stdout });
    // The bundle is compiled with vm.Script (not require): its code cache for this command is the sign.
    expect(fs.readdirSync(path.join(cacheDir, 'mtarep')).some((f) => f.endsWith('-check-config.v8'))).toBe(true);
    // From the command's own bundle (only its code), not the whole program's.
    const own = path.join(path.dirname(bundle), 'mtarep-check-config.cjs');
    expect(fs.statSync(own).size).toBeLessThan(fs.statSync(bundle).size / 2);
    expect(fs.readdirSync(path.join(cacheDir, 'mtarep')).some((f) => f.startsWith(cachePlace(own) + '-') && f.endsWith('-check-config.v8'))).toBe(true);
    expect(res.modules).toEqual([path.join(buildDir, 'cli', 'mtarep.cjs')]);
    const bad = await runLauncher(['check-config', '--config', writeConfig('launcher-bad.yml', { rbls: 5, mta_map: { mx1: 'mx1.example.com' } })]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^launcher-bad\.yml: rbls: /m);
  });

  it('an unknown command and a broken bundle are errors with the reason', async () => {
    const unknown = await runLauncher(['nosuch']);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toBe('mtarep: unknown command "nosuch" (try mtarep --help)\n');
    // check-config runs from its own bundle.
    const own = path.join(path.dirname(bundle), 'mtarep-check-config.cjs');
    const saved = fs.readFileSync(own);
    fs.writeFileSync(own, 'not a bundle\n');
    try {
      const broken = await runLauncher(['check-config']);
      expect(broken).toMatchObject({ code: 4, stdout: '' });
      expect(broken.stderr).toBe(`mtarep: ${own} is not an mtarep bundle (rebuild with npm run build)\n`);
    } finally {
      fs.writeFileSync(own, saved);
    }
  });
});
