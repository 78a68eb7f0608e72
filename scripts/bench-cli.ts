/**
 * npm run bench:cli -- how long `mtarep` takes to start, as a user (or cron) meets it: whole processes
 * of the built CLI (`node dist/cli/mtarep.cjs`, package.json "bin", built first when stale; the ES
 * module start dist/cli/main.js too, for comparison) for `--version`, `--help` and
 * `check-config` (a config with 50 hosts and 5 zones), next to a bare `node -e 0` in the same run (the
 * floor no command can go under), and a node that only reads a file and prints check-config's output (what
 * any check-config must at least do: the floor for it). check-config runs from the bundle with its V8 code cache, as a user
 * meets it (the first, untimed run writes the cache), and for comparison without the cache
 * (MTAREP_CODE_CACHE=0) and from the modules (MTAREP_BUNDLE=0). Prints the median and the fastest of
 * BENCH_RUNS (15) runs each, the median over the floor, the child's CPU time (user + sys, the mean of
 * the runs: /usr/bin/time counts in 10 ms steps) and its excess over the floor's, and the npm
 * packages each command loads from node_modules (traced with module hooks; zod and yaml are inside
 * the bundle when it is used).
 *
 * When NODE_EXTRA_CA_CERTS is set (it is on the development machine, for its package mirror), Node 20
 * reads and parses that certificate file at every start, before any script runs (tens of ms for a
 * system bundle): the floor and the three commands are then also measured with it unset, as on a
 * machine without it, and the goal is judged in both environments.
 *
 * Options (env): BENCH_RUNS (15).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashPassword } from '../lib/htpasswd.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 15);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const main = path.join(root, 'dist/cli/mtarep.cjs');
const esmMain = path.join(root, 'dist/cli/main.js');

function say(s: string) {
  process.stdout.write(s + '\n');
}

// Build dist/ when it is missing or older than the sources (scripts/lib.sh need_build).
const build = spawnSync('bash', ['-c', '. scripts/lib.sh && need_build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) throw new Error('building dist/ failed');

// A realistic config in a temporary folder: 50 hosts, 5 zones, an htpasswd file.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-bench-cli-'));
const hosts = Array.from({ length: 50 }, (_, i) => `  mta${i}: mta${i}.example.com`).join('\n');
fs.writeFileSync(
  path.join(dir, 'mtarep.yml'),
  `http_auth_file: ./htpasswd
rbls: [zen.spamhaus.org, bl.spamcop.net, b.barracudacentral.org, psbl.surriel.com, bl.mailspike.net]
provider_block_strings: { gmail: 'gsmtp.*550', hotmail: 'S3150' }
mta_map:
${hosts}
`,
);
fs.writeFileSync(path.join(dir, 'htpasswd'), `admin:${hashPassword('bench-password')}\n`);

// Module trace: a resolve hook (module.register, Node >= 20.6) appends each resolved URL to a file.
const traceHooks = path.join(dir, 'trace-hooks.mjs');
fs.writeFileSync(
  traceHooks,
  `import fs from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  fs.appendFileSync(process.env.MTAREP_TRACE_FILE, r.url + '\\n');
  return r;
}
`,
);
const traceRegister = path.join(dir, 'trace-register.mjs');
// ES modules through the resolve hook; require()d files (the bundle's packages) from require.cache at exit.
fs.writeFileSync(
  traceRegister,
  `import { register, createRequire } from 'node:module';
import fs from 'node:fs';
register(${JSON.stringify('file://' + traceHooks)});
const require = createRequire(import.meta.url);
process.on('exit', () => fs.appendFileSync(process.env.MTAREP_TRACE_FILE, Object.keys(require.cache).join('\\n') + '\\n'));
`,
);

function packagesLoaded(args: string[], env: NodeJS.ProcessEnv): string[] {
  const file = path.join(dir, 'trace.txt');
  fs.writeFileSync(file, '');
  spawnSync(process.execPath, ['--import', traceRegister, main, ...args], { cwd: dir, env: { ...process.env, ...env, MTAREP_TRACE_FILE: file } });
  const pkgs = new Set<string>();
  for (const url of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m) pkgs.add(m[1]!);
  }
  return [...pkgs].sort();
}

interface Timing {
  median: number;
  min: number;
  /** /usr/bin/time counts CPU in 10 ms steps: the mean of the runs resolves finer than their median. */
  cpuMean: number;
}

/** Wall time of whole processes (spawn to exit) and their CPU time, alternating with the others. */
interface Case {
  name: string;
  argv: string[];
  expectCode: number;
  env?: NodeJS.ProcessEnv;
  /** Judged against the goal, in this environment ('' = as this process was started). */
  judged?: string;
}

function measure(cases: Case[]): Map<string, Timing> {
  const wall = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const cpu = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let i = 0; i < RUNS + 1; i++) {
    for (const c of cases) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...c.argv], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...c.env } });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== c.expectCode) throw new Error(`${c.name}: exit ${r.status}, expected ${c.expectCode}: ${r.stderr}`);
      const [u, s] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
      if (i === 0) continue; // warm the file cache
      wall.get(c.name)!.push(ms);
      cpu.get(c.name)!.push((u! + s!) * 1000);
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return new Map(
    cases.map((c) => [c.name, { median: med(wall.get(c.name)!), min: Math.min(...wall.get(c.name)!), cpuMean: mean(cpu.get(c.name)!) }]),
  );
}

if (spawnSync('/usr/bin/time', ['true']).error) throw new Error('/usr/bin/time is needed (Debian package "time")');

// What any check-config must at least do, with no code of mtarep's: start node, read a file, print
// check-config's output (the same bytes, to the same pipe).
const expected = spawnSync(process.execPath, [main, 'check-config'], { cwd: dir, encoding: 'utf8' });
if (expected.status !== 0) throw new Error(`check-config failed: ${expected.stderr}`);
fs.writeFileSync(path.join(dir, 'expected.txt'), expected.stdout);

const cases: Case[] = [
  { name: 'node -e 0 (floor)', argv: ['-e', '0'], expectCode: 0 },
  { name: 'read + print (floor 2)', argv: ['-e', 'process.stdout.write(require("fs").readFileSync("expected.txt"))'], expectCode: 0 },
  { name: 'mtarep --version', argv: [main, '--version'], expectCode: 0, judged: '' },
  { name: '  same, main.js (ESM)', argv: [esmMain, '--version'], expectCode: 0 },
  { name: 'mtarep --help', argv: [main, '--help'], expectCode: 0, judged: '' },
  { name: 'mtarep check-config', argv: [main, 'check-config'], expectCode: 0, judged: '' },
  { name: '  same, no code cache', argv: [main, 'check-config'], expectCode: 0, env: { MTAREP_CODE_CACHE: '0' } },
  { name: '  same, modules', argv: [main, 'check-config'], expectCode: 0, env: { MTAREP_BUNDLE: '0' } },
];
// Node 20 loads NODE_EXTRA_CA_CERTS eagerly, in its own start-up: every node process pays for it.
const extraCa = process.env['NODE_EXTRA_CA_CERTS'];
const noCa = 'without NODE_EXTRA_CA_CERTS';
if (extraCa) {
  const unset: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: undefined }; // spawn leaves out undefined values
  cases.push(
    { name: 'node -e 0, no extra CAs', argv: ['-e', '0'], expectCode: 0, env: unset },
    { name: 'mtarep --version, same', argv: [main, '--version'], expectCode: 0, env: unset, judged: noCa },
    { name: 'mtarep --help, same', argv: [main, '--help'], expectCode: 0, env: unset, judged: noCa },
    { name: 'mtarep check-config, same', argv: [main, 'check-config'], expectCode: 0, env: unset, judged: noCa },
  );
}
say(`mtarep CLI start: whole processes, node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(2)}, ${RUNS} runs each (alternated)`);
if (extraCa) {
  const certs = (() => {
    try {
      return String((fs.readFileSync(extraCa, 'latin1').match(/-----BEGIN CERTIFICATE-----/g) ?? []).length);
    } catch {
      return 'unreadable';
    }
  })();
  say(`NODE_EXTRA_CA_CERTS is set (${extraCa}, ${certs} certificates): Node 20 reads and parses it in every start, before any script runs. The rows marked "no extra CAs" / "same" run with it unset, as on a machine without it.`);
}
const res = measure(cases);
say('');
// Each row is compared with the floor of its own environment.
const floorCase = (c: Case) => (c.env && 'NODE_EXTRA_CA_CERTS' in c.env ? cases.find((f) => f.name === 'node -e 0, no extra CAs')! : cases[0]!);
const floor = res.get(cases[0]!.name)!.median;
say(`${'command'.padEnd(26)} ${'median'.padStart(8)} ${'fastest'.padStart(8)} ${'over floor'.padStart(10)} ${'cpu mean'.padStart(9)} ${'over floor'.padStart(10)}   npm packages loaded from node_modules`);
const verdicts = new Map<string, string[]>();
for (const c of cases) {
  const t = res.get(c.name)!;
  const f = res.get(floorCase(c).name)!;
  const isFloor = c === floorCase(c);
  const ours = c.argv[0] === main || c.argv[0] === esmMain;
  const pkgs = ours ? packagesLoaded(c.argv.slice(1), c.env ?? {}) : [];
  const signed = (ms: number) => `${ms < 0 ? '-' : '+'}${(Math.abs(ms) / 1000).toFixed(3)}s`;
  const over = isFloor ? '' : signed(t.median - f.median);
  const cpuOver = isFloor ? '' : signed(t.cpuMean - f.cpuMean);
  say(
    `${c.name.padEnd(26)} ${(t.median / 1000).toFixed(3).padStart(7)}s ${(t.min / 1000).toFixed(3).padStart(7)}s ${over.padStart(10)} ${(t.cpuMean / 1000).toFixed(3).padStart(8)}s ${cpuOver.padStart(10)}   ${ours ? pkgs.join(', ') || 'none' : ''}`,
  );
  if (c.judged !== undefined) {
    const list = verdicts.get(c.judged) ?? [];
    list.push(`${c.name.slice(7).replace(/, same$/, '')} ${(t.median / 1000).toFixed(3)} s ${t.median < 150 ? 'met' : 'NOT met'}`);
    verdicts.set(c.judged, list);
  }
}
say('');
say(
  `Goal (issue 13): --version, --help and check-config under 0.15 s: ${verdicts.get('')!.join('; ')} (medians; the floor here is ${(floor / 1000).toFixed(3)} s, reading and printing check-config's output ${(res.get(cases[1]!.name)!.median / 1000).toFixed(3)} s).`,
);
if (extraCa) {
  say(`  ${noCa}: ${verdicts.get(noCa)!.join('; ')} (the floor ${(res.get('node -e 0, no extra CAs')!.median / 1000).toFixed(3)} s).`);
}
say(`load average at the end: ${os.loadavg()[0]!.toFixed(2)} (figures from a busy machine are not the CLI's)`);
fs.rmSync(dir, { recursive: true, force: true });
