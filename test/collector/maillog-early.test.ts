/**
 * Early SSH connections (collector/maillog/early.ts) against a real SSH server and a real Redis: the
 * run takes the connection started early (one connection per host, not two), what it does not take
 * is closed, and a failure still reaches the host's read with its reason.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectEarly } from '../../collector/maillog/early.js';
import { collectMaillogs } from '../../collector/maillog/index.js';
import { sshConnect, type SshTarget } from '../../collector/ssh/client.js';
import { keys as makeKeys } from '../../lib/keys.js';
import { silentLogger } from '../../lib/log.js';
import { configFrom } from '../helpers/collector-config.js';
import { deliveryLine } from '../helpers/maillog-log.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { startSshServer, type TestSshServer } from '../helpers/ssh-server.js';
import { generateKey } from '../helpers/ssh-keys.js';

let srv: TestSshServer;
let t: TestRedis;
let tmp: string;
const k = makeKeys('mtarep:');
const NOW = new Date('2026-11-03T12:00:00Z');

beforeAll(async () => {
  srv = await startSshServer();
  t = await testRedis();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-early-'));
  fs.writeFileSync(path.join(tmp, 'id'), srv.clientKey.private, { mode: 0o600 });
  fs.writeFileSync(path.join(tmp, 'known_hosts'), srv.knownHostsLine() + '\n');
  fs.writeFileSync(path.join(srv.dir, 'maillog'), deliveryLine(new Date('2026-11-03T11:00:00Z'), 'A1B2C3D4E5', 'u@gmail.com', 'sent') + '\n');
});
afterAll(async () => {
  await srv?.close();
  await t?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(async () => {
  await t.redis.flushdb();
});

function config(over: Record<string, unknown> = {}) {
  return configFrom({
    mta_map: { mta1: { fqdn: 'mta1.example.com', ssh_host: srv.host, ssh_port: srv.port, maillog_path: path.join(srv.dir, 'maillog'), timezone: 'UTC', ips: ['192.0.2.10'] } },
    ssh_key: path.join(tmp, 'id'),
    ssh_user: 'mtarep',
    ssh_known_hosts: path.join(tmp, 'known_hosts'),
    ssh_timeout_ms: 30_000,
    ...over,
  });
}

/** The real connector, counting its calls. */
function counting() {
  const calls: SshTarget[] = [];
  return { calls, connect: (tg: SshTarget) => (calls.push(tg), sshConnect(tg)) };
}

describe('early SSH connections', () => {
  it('the read takes the connection started early: one connection for the host, and the counts are right', async () => {
    const cfg = config();
    const c = counting();
    const before = srv.accepted;
    const early = connectEarly(cfg, c.connect);
    expect(early.started).toBe(1);
    try {
      const r = await collectMaillogs({ config: cfg, redis: t.redis, log: silentLogger, now: () => NOW, hosts: cfg.hosts, hostIps: new Map(), connect: early.connect });
      expect(r).toMatchObject({ ok: 1, error: 0, errors: [] });
    } finally {
      early.close();
    }
    expect(c.calls).toHaveLength(1);
    expect(srv.accepted - before).toBe(1);
    expect(await t.redis.hget(k.counter('mta1', '20261103', 'sent'), 'gmail.com')).toBe('1');
    await expect.poll(() => srv.open, { timeout: 30_000, interval: 20 }).toBe(0);
  });

  it('a connection the run does not take (the lock was held, say) is closed', async () => {
    const before = srv.accepted;
    const early = connectEarly(config());
    expect(early.started).toBe(1);
    // Wait until the server has it, then give it up as `mtarep collect` does when it stops early.
    await expect.poll(() => srv.accepted - before, { timeout: 30_000, interval: 20 }).toBe(1);
    early.close();
    await expect.poll(() => srv.open, { timeout: 30_000, interval: 20 }).toBe(0);
  });

  it('a target that was not connected early gets a connection of its own', async () => {
    const cfg = config();
    const c = counting();
    const early = connectEarly(cfg, c.connect);
    try {
      const other = { ...c.calls[0]!, username: 'someone-else' };
      const s = await early.connect(other);
      s.close();
      expect(c.calls).toHaveLength(2);
      expect(c.calls[1]!.username).toBe('someone-else');
    } finally {
      early.close();
    }
  });

  it('a host key that does not match fails the read of that host with the reason, as without early connections', async () => {
    const kh = path.join(tmp, 'known_hosts_other');
    fs.writeFileSync(kh, srv.knownHostsLine({ key: generateKey().public }) + '\n');
    const cfg = config({ ssh_known_hosts: kh });
    const early = connectEarly(cfg);
    try {
      const r = await collectMaillogs({ config: cfg, redis: t.redis, log: silentLogger, now: () => NOW, hosts: cfg.hosts, hostIps: new Map(), connect: early.connect });
      expect(r.error).toBe(1);
      expect(r.errors[0]).toMatch(/^mta1: .*host key/i);
    } finally {
      early.close();
    }
    // Nothing was counted, no read position saved.
    expect(await t.redis.exists(k.maillogPosition('mta1'))).toBe(0);
  });

  it('nothing starts without hosts to read or without a readable key', () => {
    expect(connectEarly(config({ ssh_key: path.join(tmp, 'missing') })).started).toBe(0);
    const noSsh = configFrom({
      mta_map: { mta1: { fqdn: 'mta1.example.com', ssh: false, ips: ['192.0.2.10'] } },
      ssh_key: path.join(tmp, 'id'),
    });
    expect(connectEarly(noSsh).started).toBe(0);
  });
});
