/**
 * `mtarep domains ...` as a user runs it: the real CLI against the test Redis. Import counts (imported,
 * already present, conflicting and invalid with line numbers and reasons) add up to the data lines;
 * re-import imports nothing and never changes a stored domain; add / remove / maintenance / list.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { domainStore } from '../lib/probes/domains.js';
import { runCli } from './helpers/cli.js';
import { testRedis, type TestRedis } from './helpers/redis.js';

let r: TestRedis;
let dir: string;
let cfg: string;

beforeAll(async () => {
  r = await testRedis();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-domains-'));
  cfg = path.join(dir, 'mtarep.yml');
  // An MTA, so that the config has something to monitor (an empty one warns on stderr).
  fs.writeFileSync(cfg, stringify({ redis_url: r.url, data_dir: './data', mta_map: ['mx1.example.com'] }));
});
afterAll(async () => {
  await r.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const csv = [
  'Customer.friendlyname,Customer.codename,MailDomain.testuser,MailDomain.domainname',
  'Acme Corp,acme,probe,acme.example',
  '"Beta, Inc.",beta,echo@beta.example,beta.example',
  '',
  'Gamma,gamma,bad user,gamma.example',
  'Delta,delta,probe',
  'Acme Corp,acme,other,acme.example',
  'Eps,eps,probe@else.example,eps.example',
  'Zeta,zeta,probe,zeta..example',
  'Eta,"eta,probe,eta.example',
].join('\n');

describe('mtarep domains', () => {
  it('imports a CSV with exact counts and every invalid line named; a re-import imports nothing', async () => {
    const file = path.join(dir, 'domains.csv');
    fs.writeFileSync(file, csv);
    const a = await runCli(['domains', 'import', file, '--config', cfg]);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(1);
    expect(a.stdout).toContain('8 data lines (after the header row)');
    expect(a.stdout).toMatch(/imported:\s+2\n/);
    expect(a.stdout).toMatch(/already present:\s+0\n/);
    // Line 7 gives acme.example again with another test user: not applied, named with the field.
    expect(a.stdout).toMatch(/conflicting:\s+1 /);
    expect(a.stdout).toContain('line 7: acme.example differs from line 2: MailDomain.testuser "other@acme.example" (line 2: "probe@acme.example")');
    expect(a.stdout).toMatch(/invalid:\s+5\n/);
    expect(a.stdout).toContain('line 5: malformed address "bad user@gamma.example"');
    expect(a.stdout).toContain('line 6: wrong column count: 3 instead of 4');
    expect(a.stdout).toContain('line 8: address probe@else.example is not at domain eps.example');
    expect(a.stdout).toContain('line 9: malformed domain "zeta..example"');
    expect(a.stdout).toMatch(/line 10: not valid CSV/);
    expect(a.stdout).toContain('check: 2 + 0 + 1 + 5 = 8 data lines');
    const store = domainStore(r.redis, r.prefix);
    expect((await store.list()).map((d) => [d.domain, d.address, d.customer, d.customerName])).toEqual([
      ['acme.example', 'probe@acme.example', 'acme', 'Acme Corp'],
      ['beta.example', 'echo@beta.example', 'beta', 'Beta, Inc.'],
    ]);
    const b = await runCli(['domains', 'import', file, '--config', cfg]);
    expect(b.stdout).toMatch(/imported:\s+0\n/);
    expect(b.stdout).toMatch(/already present:\s+2\n/);
    expect(b.stdout).toContain('line 7: acme.example differs from line 2: MailDomain.testuser "other@acme.example" (line 2: "probe@acme.example")');
    expect(b.stdout).toContain('check: 0 + 2 + 1 + 5 = 8 data lines');
  }, 60_000);

  it('a file without the header row counts every line; an unreadable file is a usage error', async () => {
    const file = path.join(dir, 'nohead.csv');
    fs.writeFileSync(file, 'Kappa,kappa,probe,kappa.example\r\nLambda,lambda,probe,lambda.example\r\n');
    const a = await runCli(['domains', 'import', file, '--config', cfg]);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain('check: 2 + 0 + 0 + 0 = 2 data lines');
    const b = await runCli(['domains', 'import', path.join(dir, 'missing.csv'), '--config', cfg]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('file not found');
  }, 60_000);

  it('a line for a stored domain with other fields is a conflict naming its line and fields, never applied; repeats in a file are named', async () => {
    const first = path.join(dir, 'first.csv');
    fs.writeFileSync(first, 'Omega,omega,probe,omega.example\n');
    expect((await runCli(['domains', 'import', first, '--config', cfg])).code).toBe(0);
    const before = await domainStore(r.redis, r.prefix).get('omega.example');

    const file = path.join(dir, 'conflicts.csv');
    fs.writeFileSync(file, ['Omega Renamed,omega2,newprobe,omega.example', 'Omega,omega,probe,omega.example', 'A,a,p,dup.example', 'B,b,q,dup.example', 'A,a,p,dup.example'].join('\n'));
    const res = await runCli(['domains', 'import', file, '--config', cfg]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/imported:\s+1\n/);
    expect(res.stdout).toMatch(/already present:\s+2\n/);
    expect(res.stdout).toContain('line 5: dup.example repeats line 3');
    expect(res.stdout).toMatch(/conflicting:\s+2 \(not imported/);
    expect(res.stdout).toContain(
      'line 1: omega.example differs from the stored entry: Customer.friendlyname "Omega Renamed" (stored: "Omega"), Customer.codename "omega2" (stored: "omega"), MailDomain.testuser "newprobe@omega.example" (stored: "probe@omega.example")',
    );
    expect(res.stdout).toContain('line 4: dup.example differs from line 3: Customer.friendlyname "B" (line 3: "A"), Customer.codename "b" (line 3: "a"), MailDomain.testuser "q@dup.example" (line 3: "p@dup.example")');
    expect(res.stdout).toContain('check: 1 + 2 + 2 + 0 = 5 data lines');
    expect(res.stdout).toContain('mtarep domains remove <domain>');
    const store = domainStore(r.redis, r.prefix);
    expect(await store.get('omega.example')).toEqual(before);
    expect(await store.get('dup.example')).toMatchObject({ customer: 'a', customerName: 'A', address: 'p@dup.example' });

    // A file equal to what is stored is all "already present", exit 0.
    const same = await runCli(['domains', 'import', first, '--config', cfg]);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('check: 0 + 1 + 0 + 0 = 1 data lines');
  }, 60_000);

  it('add, maintenance, list and remove', async () => {
    const add = await runCli(['domains', 'add', 'probe@mu.example', '--customer', 'mu', '--name', 'Mu GmbH', '--config', cfg]);
    expect(add.code).toBe(0);
    expect(add.stdout).toContain('added mu.example (probe@mu.example, customer mu)');
    expect((await runCli(['domains', 'add', 'probe@mu.example', '--customer', 'mu', '--config', cfg])).stderr).toContain('already present');
    // add takes the test address; a bare word or domain is told what was expected (not "malformed domain").
    for (const arg of ['notanaddress', 'mu.example']) {
      const bare = await runCli(['domains', 'add', arg, '--customer', 'x', '--config', cfg]);
      expect(bare.code, arg).toBe(2);
      expect(bare.stderr, arg).toBe(`mtarep: add needs the test address testuser@domain, not "${arg}" (see mtarep domains --help)\n`);
    }
    const badDomain = await runCli(['domains', 'add', 'probe@mu..example', '--customer', 'x', '--config', cfg]);
    expect(badDomain.code).toBe(2);
    expect(badDomain.stderr).toBe('mtarep: cannot add probe@mu..example: malformed domain "mu..example"\n');
    const m = await runCli(['domains', 'maintenance', 'mu.example', 'on', '--config', cfg]);
    expect(m.stdout).toContain('mu.example: maintenance on');
    const rec = await domainStore(r.redis, r.prefix).get('mu.example');
    expect(rec?.maintenance).toBe(true);
    expect(rec?.maintenanceBy).toMatch(/\(cli\)$/);
    await expect(domainStore(r.redis, r.prefix).setMaintenance('nope.example', true, 'x')).rejects.toThrow('unknown domain nope.example');
    const list = await runCli(['domains', 'list', '--json', '--config', cfg]);
    const doms = (JSON.parse(list.stdout) as { domains: { domain: string; maintenance: boolean }[] }).domains;
    expect(doms.find((d) => d.domain === 'mu.example')?.maintenance).toBe(true);
    const text = await runCli(['domains', 'list', '--config', cfg]);
    expect(text.stdout).toMatch(/^CUSTOMER\s+DOMAIN\s+TEST ADDRESS\s+MAINTENANCE\s+NAME$/m);
    expect(text.stdout).toMatch(/in maintenance/);
    expect((await runCli(['domains', 'remove', 'mu.example', '--config', cfg])).stdout).toContain('removed mu.example');
    expect(await domainStore(r.redis, r.prefix).remove('mu.example')).toBe(false);
  }, 120_000);
});
