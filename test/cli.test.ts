import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnCli } from './helpers/cli.js';
import { freePort } from './helpers/net.js';
import { parseHtpasswd, verifyPassword } from '../lib/htpasswd.js';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-cli-'));
}

describe('mtarep CLI', () => {
  it('prints usage with exit 2 without a command, 0 with --help; unknown commands are usage errors', async () => {
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/Usage: mtarep <command>/);
    expect((await runCli(['--help'])).code).toBe(0);
    for (const c of ['start', 'collect', 'worker', 'serve', 'check-config', 'passwd', 'init']) {
      const r = await runCli([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^mtarep ${c}`));
      expect(r.stdout).toMatch(/--config PATH/);
    }
    const bad = await runCli(['frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command "frobnicate"/);
    expect((await runCli(['collect', '--bogus'])).code).toBe(2);
  });

  it('a bad option is named in our words, with the command and its subcommand, for every command', async () => {
    const cases: [string[], string][] = [
      [['domains', 'list', '--jsn'], 'mtarep: domains list: unknown option --jsn (try mtarep domains --help)'],
      [['passwd', 'bob', '-x'], 'mtarep: passwd: unknown option -x (try mtarep passwd --help)'],
      [['collect', '--only'], 'mtarep: collect: option --only needs a value (try mtarep collect --help)'],
      [['collect', '--json=yes'], 'mtarep: collect: option --json takes no value (try mtarep collect --help)'],
      [['check-config', '-c', '-x'], "mtarep: check-config: option --config needs a value; for one starting with '-', write --config=-VALUE (try mtarep check-config --help)"],
    ];
    for (const [args, line] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toBe(line + '\n');
    }
    // e2e keeps its own exit code for a bad command line (Nagios' UNKNOWN).
    const e2e = await runCli(['e2e', '--frobnicate']);
    expect(e2e.code).toBe(3);
    expect(e2e.stderr).toBe('mtarep: e2e: unknown option --frobnicate (try mtarep e2e --help)\n');
  });

  it('check-config: exit 0 and a description for a valid file; exit 2, one line per problem, no stack trace', async () => {
    const dir = tmpDir();
    const good = path.join(dir, 'good.yml');
    fs.writeFileSync(good, 'mta_map:\n  mta1: {fqdn: mta1.example.com, ips: [192.0.2.10]}\nrbls: [zen.spamhaus.org, bl.spamcop.net]\nsnds_key: s3cretsndskey\nprovider_block_strings: {aol: "postmaster\\\\.aol"}\n');
    const ok = await runCli(['check-config', '--config', good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/is valid/);
    expect(ok.stdout).toMatch(/mta1 {2}fqdn=mta1\.example\.com {2}ips=192\.0\.2\.10 \(from config\)/);
    expect(ok.stdout).toMatch(/zen\.spamhaus\.org {2}block, ipv4\+ipv6, critical {2}\(14 return codes\)/);
    // Counts read as English: one code, one pattern.
    expect(ok.stdout).toMatch(/bl\.spamcop\.net .*\(1 return code\)$/m);
    expect(ok.stdout).toMatch(/provider blocks: 1 pattern \(aol\)/);
    expect(ok.stdout).toMatch(/^DNSBL: 2 IP zones, listed below$/m);
    expect(ok.stdout).toMatch(/SNDS: on \(key set\)/);
    expect(ok.stdout + ok.stderr).not.toContain('s3cretsndskey');

    const bad = path.join(dir, 'bad.yml');
    fs.writeFileSync(bad, 'rbls: 7\nbogus: true\nprovider_block_strings: {aol: "(("}\n');
    const r = await runCli(['check-config', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'bad.yml: rbls: must be a list, not the number 7',
      expect.stringMatching(/^bad\.yml: provider_block_strings\.aol: bad regular expression/),
      'bad.yml: bogus: unknown key',
    ]);

    // A YAML alias bomb is a config error naming the file (it exited 4 with no file name).
    const bomb = path.join(dir, 'bomb.yml');
    fs.writeFileSync(bomb, ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]', ''].join('\n'));
    const b = await runCli(['check-config', '--config', bomb]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/^bomb\.yml: YAML: Excessive alias count/);

    // An alias inside the value it names is a loop: a config error naming where (it overflowed the stack, exit 4).
    const loop = path.join(dir, 'loop.yml');
    fs.writeFileSync(loop, 'rbls: &x [zen.spamhaus.org, *x]\n');
    const l = await runCli(['check-config', '--config', loop]);
    expect(l.code).toBe(2);
    expect(l.stderr.trim()).toBe('loop.yml: rbls[1]: YAML: an alias refers to a value that holds it (a loop)');

    const missing = await runCli(['check-config', '--config', path.join(dir, 'nope.yml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yml: cannot read .*: file not found/);
    expect(missing.stderr).toMatch(/mtarep init/);
  });

  it('check-config refuses what the commands refuse: exit 2 naming the key, never "is valid"', async () => {
    const dir = tmpDir();
    const aFile = path.join(dir, 'plain');
    fs.writeFileSync(aFile, 'x');
    // A closed loopback port: nothing here may reach Redis or DNS.
    const base = `redis_url: redis://127.0.0.1:1/0\ndns: {servers: ["127.0.0.1:1"]}\n`;
    const cases: Array<[string, string, RegExp]> = [
      ['sources.yml', 'sources: {mailog: {interval: 5}, reputaton: {}}', /^sources\.yml: sources\.mailog: no such source .*\nsources\.yml: sources\.reputaton: no such source/],
      ['auth.yml', `http_auth_file: ${dir}`, /^auth\.yml: http_auth_file: .* is a folder, not an htpasswd file$/],
      ['datadir.yml', `data_dir: ${aFile}`, /^datadir\.yml: data_dir: .* is a file, not a folder$/],
      ['errlog.yml', `error_log: ${dir}`, /^errlog\.yml: error_log: .* is a folder: give the path of the log file$/],
      ['cidr.yml', 'rbls: [{zone: zen.spamhaus.org, codes: {"127.0.0.0/99": listed}}]', /^cidr\.yml: rbls\[0\]\.codes\["127\.0\.0\.0\/99"\]: .*prefix must be 0-32/],
      ['hostbits.yml', 'rbls: [{zone: bl.example.net, codes: {"127.0.0.5/24": listed}}]', /^hostbits\.yml: rbls\[0\]\.codes\["127\.0\.0\.5\/24"\]: key 127\.0\.0\.5\/24 has bits set past the \/24: write 127\.0\.0\.0\/24$/],
      ['zone.yml', 'rbls: ["-bad-.example.net"]', /^zone\.yml: rbls\[0\]: "-bad-\.example\.net" is not a DNS zone name: label "-bad-" starts with -$/],
    ];
    for (const [name, yaml, message] of cases) {
      const f = path.join(dir, name);
      fs.writeFileSync(f, base + yaml + '\n');
      const r = await runCli(['check-config', '--config', f]);
      expect(r.code, name).toBe(2);
      expect(r.stderr.trim(), name).toMatch(message);
      expect(r.stdout, name).not.toMatch(/is valid/);
    }
    // serve stops at the same check, naming the key (it failed with EEXIST from mkdir, exit 4).
    const serve = await runCli(['serve', '--config', path.join(dir, 'datadir.yml')]);
    expect(serve.code).toBe(2);
    expect(serve.stderr.trim()).toMatch(/^datadir\.yml: data_dir: .* is a file, not a folder$/);
    // Commands that skip the file checks still name data_dir.
    const listed = await runCli(['domains', 'list', '--config', path.join(dir, 'datadir.yml')]);
    expect(listed.stderr).toMatch(/data_dir: cannot create .*plain: a file stands where a folder must be/);
  });

  it('init writes a minimal valid config once', async () => {
    const dir = tmpDir();
    const f = path.join(dir, 'mtarep.yml');
    expect((await runCli(['init', '--config', f])).code).toBe(0);
    const check = await runCli(['check-config', '--config', f]);
    expect(check.code).toBe(0);
    // No zones yet: said so, not "0 IP zone(s), listed below" over an empty list.
    expect(check.stdout).toMatch(/^DNSBL: no IP zones configured \(rbls\)$/m);
    expect(check.stdout).toMatch(/^DNSBL zones \(0\), .*:\n {2}none: add them to rbls$/m);
    const again = await runCli(['init', '--config', f]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
  });

  it('passwd adds a bcrypt user from stdin and rejects short passwords', async () => {
    const dir = tmpDir();
    const f = path.join(dir, 'mtarep.yml');
    fs.writeFileSync(f, `http_auth_file: ${path.join(dir, 'users')}\n`);
    const r = await runCli(['passwd', 'ops', '--config', f, '--password-stdin'], { input: 'a long password\n' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/added user ops/);
    const entry = parseHtpasswd(fs.readFileSync(path.join(dir, 'users'), 'utf8'))[0];
    expect(await verifyPassword(entry, 'a long password')).toBe(true);
    expect((await runCli(['passwd', 'ops', '--config', f], { input: 'short\n' })).code).toBe(2);
    expect((await runCli(['passwd', '--config', f])).code).toBe(2);
  });

  it('collect exits 4 quickly with a clear message when the configured Redis is down', async () => {
    const dir = tmpDir();
    const f = path.join(dir, 'mtarep.yml');
    const port = await freePort();
    fs.writeFileSync(f, `redis_url: redis://:pw12345@127.0.0.1:${port}/0\n`);
    const r = await runCli(['collect', '--config', f]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0/);
    expect(r.stderr).not.toContain('pw12345');
  });

  it('start: own redis-server, a first admin password printed once, dashboard behind auth, clean stop', async () => {
    const dir = tmpDir();
    const f = path.join(dir, 'mtarep.yml');
    const port = await freePort();
    fs.writeFileSync(f, `listen: 127.0.0.1:${port}\ndata_dir: ./data\nerror_log: ./data/mtarep.log\n`);
    const child = spawnCli(['start', '--config', f]);
    let stderr = '';
    child.stdout!.resume();
    const listening = new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/dashboard listening/.test(stderr)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    await listening;
    const password = /password (\S+)/.exec(stderr)?.[1];
    expect(password).toBeTruthy();
    const url = `http://127.0.0.1:${port}/`;
    expect((await fetch(url)).status).toBe(401);
    const auth = 'Basic ' + Buffer.from(`admin:${password}`).toString('base64');
    expect((await fetch(url, { headers: { authorization: auth } })).status).toBe(200);
    expect(fs.existsSync(path.join(dir, 'data/redis/redis.sock'))).toBe(true);
    // The password is shown once on the terminal, never written to the log file.
    expect(fs.readFileSync(path.join(dir, 'data/mtarep.log'), 'utf8')).not.toContain(password!);

    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(fs.existsSync(path.join(dir, 'data/redis/redis.sock'))).toBe(false);
    expect(fs.readdirSync(path.join(dir, 'data/redis')).length).toBeGreaterThan(0);
  });
});
