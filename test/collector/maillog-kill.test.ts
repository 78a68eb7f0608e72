/**
 * A collector process killed (SIGKILL) after reading but before committing, then a re-run: the
 * counters come out exact, neither doubled nor missing.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { collectMaillogs } from '../../collector/maillog/index.js';
import { keys as makeKeys } from '../../lib/keys.js';
import { silentLogger } from '../../lib/log.js';
import { configFrom } from '../helpers/collector-config.js';
import { LogBuilder } from '../helpers/maillog-log.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { startSshServer, type TestSshServer } from '../helpers/ssh-server.js';

let srv: TestSshServer;
let t: TestRedis;
let tmp: string;
const root = path.resolve(import.meta.dirname, '../..');

beforeAll(async () => {
  srv = await startSshServer();
  t = await testRedis();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-kill-'));
  fs.writeFileSync(path.join(tmp, 'id'), srv.clientKey.private, { mode: 0o600 });
  fs.writeFileSync(path.join(tmp, 'known_hosts'), srv.knownHostsLine() + '\n');
});
afterAll(async () => {
  await srv?.close();
  await t?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const child = `
import { collectMaillogs } from ${JSON.stringify(path.join(root, 'collector/maillog/index.ts'))};
import { connectRedis } from ${JSON.stringify(path.join(root, 'lib/redis.ts'))};
import { silentLogger } from ${JSON.stringify(path.join(root, 'lib/log.ts'))};
import { configFrom } from ${JSON.stringify(path.join(root, 'test/helpers/collector-config.ts'))};
const [url, raw, now] = process.argv.slice(2);
const config = configFrom(JSON.parse(raw));
const redis = await connectRedis({ url });
await collectMaillogs({
  config, redis, log: silentLogger, now: () => new Date(now), hosts: config.hosts, hostIps: new Map(),
  beforeCommit: async () => { process.stdout.write('READ\\n'); await new Promise(() => {}); },
});
`;

it('SIGKILL between read and commit, then a re-run: exact counts', async () => {
  const log = path.join(srv.dir, 'maillog');
  const b = new LogBuilder();
  const start = Date.UTC(2026, 10, 3, 9);
  for (let i = 0; i < 500; i++) b.message(new Date(start + i * 1000), `u${i}@d${i % 7}.example`, (['sent', 'deferred', 'bounced', 'sent'] as const)[i % 4]!);
  fs.writeFileSync(log, b.text());
  const raw = {
    mta_map: { mta1: { ssh_host: srv.host, ssh_port: srv.port, maillog_path: log, timezone: 'UTC' } },
    ssh_key: path.join(tmp, 'id'),
    ssh_user: 'mtarep',
    ssh_known_hosts: path.join(tmp, 'known_hosts'),
  };
  const now = '2026-11-03T12:00:00Z';
  const script = path.join(tmp, 'child.mjs');
  fs.writeFileSync(script, child);
  const proc = spawn(process.execPath, ['--import', 'tsx', script, t.url, JSON.stringify(raw), now], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('READ')) resolve();
    });
    proc.on('exit', (code) => reject(new Error(`child exited (${code}) before reading: ${err}`)));
  });
  proc.kill('SIGKILL');
  await new Promise((r) => proc.once('exit', r));

  const k = makeKeys('mtarep:');
  expect(await t.redis.exists(k.maillogPosition('mta1'), k.blocks('mta1'), 'mta1:20261103:sent')).toBe(0);

  const config = configFrom(raw);
  const r = await collectMaillogs({ config, redis: t.redis, log: silentLogger, now: () => new Date(now), hosts: config.hosts, hostIps: new Map() });
  expect(r.ok).toBe(1);
  for (const [key, want] of b.expected) {
    const got = await t.redis.hgetall(`mta1:${key}`);
    expect(new Map(Object.entries(got).map(([d, n]) => [d, Number(n)]))).toEqual(want);
  }
  // And once more: nothing new, nothing added.
  await collectMaillogs({ config, redis: t.redis, log: silentLogger, now: () => new Date(now), hosts: config.hosts, hostIps: new Map() });
  for (const [key, want] of b.expected) {
    expect(Number(await t.redis.hget(`mta1:${key}`, [...want.keys()][0]!))).toBe([...want.values()][0]);
  }
});
