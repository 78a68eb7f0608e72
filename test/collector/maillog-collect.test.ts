/**
 * collectMaillogs end to end: a real SSH server on loopback serving generated postfix logs, a real
 * Redis, exact counters compared with what the test wrote.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { collectMaillogs, type MaillogDeps } from '../../collector/maillog/index.js';
import { keys as makeKeys } from '../../lib/keys.js';
import { silentLogger } from '../../lib/log.js';
import type { BlocksRecord } from '../../lib/model.js';
import type { Redis } from '../../lib/redis.js';
import { configFrom } from '../helpers/collector-config.js';
import { LogBuilder, dayOf } from '../helpers/maillog-log.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { startSshServer, type TestSshServer } from '../helpers/ssh-server.js';

const HOTMAIL = 'mail\\.live\\.com\\/mail\\/troubleshooting\\.aspx#errors';
const blockReply = 'host mx[52.101.10.3] said: 550 5.7.1 Unfortunately, messages from [192.0.2.10] weren\'t sent. http://mail.live.com/mail/troubleshooting.aspx#errors. (in reply to MAIL FROM command)';

let srv: TestSshServer;
let t: TestRedis;
let tmp: string;
let log: string;
const k = makeKeys('mtarep:');
const NOW = new Date('2026-11-03T12:00:00Z');
const at = (hh: number, mm = 0, ss = 0) => new Date(Date.UTC(2026, 10, 3, hh, mm, ss));

beforeAll(async () => {
  srv = await startSshServer();
  t = await testRedis();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-maillog-'));
  fs.writeFileSync(path.join(tmp, 'id'), srv.clientKey.private, { mode: 0o600 });
  fs.writeFileSync(path.join(tmp, 'known_hosts'), srv.knownHostsLine({ hashed: true }) + '\n');
});
afterAll(async () => {
  await srv?.close();
  await t?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(async () => {
  await t.redis.flushdb();
  log = path.join(srv.dir, `maillog-${Math.random().toString(36).slice(2)}`);
});

function config(extraHosts: Record<string, unknown> = {}, over: Record<string, unknown> = {}) {
  return configFrom({
    mta_map: {
      mta1: { fqdn: 'mta1.example.com', ssh_host: srv.host, ssh_port: srv.port, maillog_path: log, timezone: 'UTC', ips: ['192.0.2.10'] },
      ...extraHosts,
    },
    ssh_key: path.join(tmp, 'id'),
    ssh_user: 'mtarep',
    ssh_known_hosts: path.join(tmp, 'known_hosts'),
    ssh_timeout_ms: 30_000,
    provider_block_strings: { hotmail: HOTMAIL },
    ...over,
  });
}

/** Set per suite run below: 8 MiB (small reads scanned inline) or 0 (every read in the scanner thread). */
let workerThresholdBytes = 8 << 20;

function deps(now = NOW, extra: Partial<MaillogDeps> = {}, cfg = config()): MaillogDeps {
  return { config: cfg, redis: t.redis, log: silentLogger, now: () => now, hosts: cfg.hosts, hostIps: new Map([['mta1', ['192.0.2.10']]]), workerThresholdBytes, ...extra };
}

/** Every counter hash of an id, as `<day>:<type>` -> domain -> count. */
async function counters(redis: Redis, id = 'mta1'): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${id}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of found) {
      const h = await redis.hgetall(key);
      out.set(key.slice(id.length + 1), new Map(Object.entries(h).map(([d, n]) => [d, Number(n)])));
    }
  } while (cursor !== '0');
  return out;
}

const sorted = (m: Map<string, Map<string, number>>) => [...m].map(([k2, v]) => [k2, [...v].sort()] as const).sort();

async function blocks(host = 'mta1'): Promise<BlocksRecord> {
  return JSON.parse((await t.redis.get(k.blocks(host)))!) as BlocksRecord;
}

function traffic(b: LogBuilder, from: Date, n: number): void {
  const domains = ['gmail.com', 'hotmail.com', 'yahoo.com', 'Example.ORG'];
  const statuses = ['sent', 'sent', 'sent', 'deferred', 'bounced'] as const;
  for (let i = 0; i < n; i++) {
    const d = new Date(from.getTime() + i * 1000);
    b.message(d, `u${i}@${domains[i % domains.length]}`, statuses[i % statuses.length]!);
  }
}

describe.each([
  ['inline scan', 8 << 20],
  ['scanner thread', 0],
])('collectMaillogs (%s)', (_name, threshold) => {
  beforeEach(() => {
    workerThresholdBytes = threshold;
  });

  it('counts exactly, then reads only new complete lines; a partial line waits for its end', async () => {
    const b = new LogBuilder();
    traffic(b, at(10), 40);
    b.delivery(at(11, 30), 'B10CK0001', 'x@hotmail.com', 'bounced', { reply: blockReply });
    fs.writeFileSync(log, b.text());
    const r1 = await collectMaillogs(deps());
    expect(r1).toEqual({ hosts: 1, ok: 1, error: 0, skipped: 0, errors: [] });
    expect(sorted(await counters(t.redis))).toEqual(sorted(b.expected));
    expect(await t.redis.smembers(k.counterIds)).toEqual(['mta1']);
    const ttl = await t.redis.ttl(`mta1:20261103:sent`);
    expect(ttl).toBeGreaterThan(399 * 86_400);
    const rec = await blocks();
    expect(rec).toMatchObject({ host: 'mta1', status: 'ok', lines: { read: b.lines.length, unparsed: 0 } });
    expect(rec.blocks).toEqual([
      { provider: 'hotmail', line: b.lines.at(-1), at: '2026-11-03T11:30:00.000Z', ip: '192.0.2.10', recipientDomain: 'hotmail.com' },
    ]);
    const pos = await t.redis.hgetall(k.maillogPosition('mta1'));
    expect(pos).toMatchObject({ path: log, inode: String(fs.statSync(log).ino), offset: String(fs.statSync(log).size) });

    // Nothing new: nothing counted again, and one exec (the probe) did it.
    const n0 = srv.commands.length;
    await collectMaillogs(deps());
    expect(srv.commands.length - n0).toBe(1);
    expect(sorted(await counters(t.redis))).toEqual(sorted(b.expected));

    // New lines and one still being written.
    const before = b.lines.length;
    traffic(b, at(11, 40), 9);
    const complete = b.lines.slice(before).map((l) => l + '\n').join('');
    const last = b.lines.pop()!;
    b.delivery(at(11, 50), 'PART00001', 'half@gmail.com', 'sent');
    const partial = b.lines.at(-1)!;
    fs.appendFileSync(log, complete.slice(0, -(last.length + 1)) + last + '\n' + partial.slice(0, 40));
    await collectMaillogs(deps());
    expect((await counters(t.redis)).get('20261103:sent')!.get('gmail.com')).toBe(
      b.expected.get('20261103:sent')!.get('gmail.com')! - 1,
    );
    fs.appendFileSync(log, partial.slice(40) + '\n');
    await collectMaillogs(deps());
    expect(sorted(await counters(t.redis))).toEqual(sorted(b.expected));
    expect(Number(await t.redis.get(k.dataVersion))).toBe(4);
  });

  it('a hostile maillog_path reaches the MTA as one quoted argument', async () => {
    log = path.join(srv.dir, `it's $(touch pwned) \`touch pwned2\` ; touch pwned3 & "x" * maillog`);
    const b = new LogBuilder();
    traffic(b, at(10), 12);
    fs.writeFileSync(log, b.text());
    const r = await collectMaillogs(deps());
    expect(r.errors).toEqual([]);
    expect(sorted(await counters(t.redis))).toEqual(sorted(b.expected));
    for (const f of ['pwned', 'pwned2', 'pwned3']) expect(fs.existsSync(path.join(srv.dir, f))).toBe(false);
    // Config load refuses this path (test/config.test.ts); the reader refuses it too, should one get through.
    const bad = configFrom({ mta_map: { mta1: { ssh_host: srv.host, ssh_port: srv.port } }, ssh_key: path.join(tmp, 'id'), ssh_known_hosts: path.join(tmp, 'known_hosts') });
    bad.hosts[0]!.maillogPath = '/var/log/mail\nlog';
    const before = srv.commands.length;
    const r2 = await collectMaillogs(deps(NOW, {}, bad));
    expect(r2.errors[0]).toMatch(/maillog_path may not contain a newline/);
    expect(srv.commands.length).toBe(before);
  });

  it('a missing key file or known_hosts file is each host\'s error, never a silent accept', async () => {
    fs.writeFileSync(log, '');
    const noKey = config({}, { ssh_key: path.join(tmp, 'nope') });
    const r1 = await collectMaillogs(deps(NOW, {}, noKey));
    expect(r1.errors).toEqual([`mta1: cannot read ssh_key ${path.join(tmp, 'nope')}: ENOENT`]);
    const noKnown = config({}, { ssh_known_hosts: path.join(tmp, 'nope_known') });
    const r2 = await collectMaillogs(deps(NOW, {}, noKnown));
    expect(r2.errors[0]).toMatch(/^mta1: .*not in known_hosts/);
    expect(await blocks()).toMatchObject({ status: 'error' });
    expect(await t.redis.exists(k.maillogPosition('mta1'))).toBe(0);
  });

  it('rotation: finishes the rotated file from the saved offset, then the new one from 0', async () => {
    const b = new LogBuilder();
    traffic(b, at(9), 20);
    fs.writeFileSync(log, b.text());
    await collectMaillogs(deps());
    const tail = new LogBuilder();
    traffic(tail, at(10), 7);
    fs.appendFileSync(log, tail.text() + 'Nov  3 10:59:59 mta1 postfix/smtp[1]: ENDNOLF01: to=<z@yahoo.com>, relay=x, status=sent (no newline at the end)');
    fs.renameSync(log, `${log}.1`);
    const fresh = new LogBuilder();
    traffic(fresh, at(11), 11);
    fs.writeFileSync(log, fresh.text());
    const n0 = srv.commands.length;
    await collectMaillogs(deps());
    // The probe sees the new inode and lists; then the rotated file and the new one are read.
    expect(srv.commands.slice(n0).map((c) => (c.includes('for f in') ? 'probe' : 'read'))).toEqual(['probe', 'read', 'read']);
    const got = await counters(t.redis);
    const want = new Map<string, Map<string, number>>();
    for (const x of [b, tail, fresh]) {
      for (const [key, m] of x.expected) {
        const w = want.get(key) ?? new Map<string, number>();
        for (const [d, n] of m) w.set(d, (w.get(d) ?? 0) + n);
        want.set(key, w);
      }
    }
    want.get('20261103:sent')!.set('yahoo.com', (want.get('20261103:sent')!.get('yahoo.com') ?? 0) + 1);
    expect(sorted(got)).toEqual(sorted(want));
    expect(await t.redis.hget(k.maillogPosition('mta1'), 'inode')).toBe(String(fs.statSync(log).ino));
  });

  it('copytruncate: a file that shrank is read from the start', async () => {
    const b = new LogBuilder();
    traffic(b, at(9), 30);
    fs.writeFileSync(log, b.text());
    await collectMaillogs(deps());
    const first = await counters(t.redis);
    fs.truncateSync(log, 0);
    const n = new LogBuilder();
    traffic(n, at(11), 5);
    fs.appendFileSync(log, n.text());
    await collectMaillogs(deps());
    const got = await counters(t.redis);
    for (const [key, m] of n.expected) for (const [d, c] of m) expect(got.get(key)!.get(d)).toBe((first.get(key)?.get(d) ?? 0) + c);
  });

  it('first run: a bounded tail, and only today\'s lines count', async () => {
    const old = new LogBuilder();
    traffic(old, new Date('2026-11-01T10:00:00Z'), 200); // history beyond the tail
    const yday = new LogBuilder();
    traffic(yday, new Date('2026-11-02T23:59:00Z'), 20);
    const today = new LogBuilder();
    traffic(today, at(0, 0, 30), 25);
    fs.writeFileSync(log, old.text() + yday.text() + today.text());
    const cfg = config({}, { maillog_initial_tail_bytes: Buffer.byteLength(yday.text() + today.text()) + 50 });
    const r = await collectMaillogs(deps(NOW, {}, cfg));
    expect(r.ok).toBe(1);
    expect(sorted(await counters(t.redis))).toEqual(sorted(today.expected));
    const rec = await blocks();
    expect(rec.lines!.read).toBe(yday.lines.length + today.lines.length);
    // Later runs count every new line, whatever its day (a late line of yesterday counts into yesterday).
    const late = new LogBuilder();
    late.delivery(new Date('2026-11-02T23:59:59Z'), 'LATE00001', 'l@gmail.com', 'sent');
    fs.appendFileSync(log, late.text());
    await collectMaillogs(deps(NOW, {}, cfg));
    expect((await counters(t.redis)).get('20261102:sent')).toEqual(new Map([['gmail.com', 1]]));
  });

  it('expired lines count the recipients deferred earlier, across runs', async () => {
    const b = new LogBuilder();
    b.delivery(at(8), 'EXP000001', 'a@gmail.com', 'deferred');
    b.delivery(at(8), 'EXP000001', 'b@yahoo.com', 'deferred');
    b.delivery(at(8), 'EXP000001', 'c@yahoo.com', 'deferred');
    b.delivery(at(9), 'EXP000001', 'c@yahoo.com', 'sent');
    b.delivery(at(9), 'EXP000002', 'd@gmail.com', 'deferred');
    fs.writeFileSync(log, b.text());
    await collectMaillogs(deps());
    expect(Object.keys(await t.redis.hgetall(k.maillogQueue('mta1'))).sort()).toEqual(['EXP000001', 'EXP000002']);
    const more = b.lines.length;
    b.delivery(at(10), 'EXP000001', 'a@gmail.com', 'deferred');
    b.expired(at(11), 'EXP000001');
    b.expired(at(11), 'UNKNOWN01');
    fs.appendFileSync(log, b.lines.slice(more).map((l) => l + '\n').join(''));
    await collectMaillogs(deps());
    const got = await counters(t.redis);
    expect(got.get('20261103:expired')).toEqual(new Map([['gmail.com', 1], ['yahoo.com', 1]]));
    expect(sorted(got)).toEqual(sorted(b.expected));
    expect(Object.keys(await t.redis.hgetall(k.maillogQueue('mta1')))).toEqual(['EXP000002']);
  });

  it('RFC 3339 logs and a host time zone pick the day by the host\'s calendar', async () => {
    const b = new LogBuilder({ style: 'rfc3339' });
    b.delivery(new Date('2026-11-03T03:00:00Z'), 'TZ0000001', 'a@gmail.com', 'sent'); // Nov 2nd in New York
    b.delivery(new Date('2026-11-03T06:00:00Z'), 'TZ0000002', 'b@gmail.com', 'sent'); // Nov 3rd
    fs.writeFileSync(log, b.text());
    const cfg = config({}, {});
    cfg.hosts[0]!.timezone = 'America/New_York';
    // Position exists already (not a first run), so both count.
    await t.redis.hset(k.maillogPosition('mta1'), { inode: String(fs.statSync(log).ino), offset: '0', path: log });
    await collectMaillogs(deps(NOW, {}, cfg));
    const got = await counters(t.redis);
    expect(got.get('20261102:sent')).toEqual(new Map([['gmail.com', 1]]));
    expect(got.get('20261103:sent')).toEqual(new Map([['gmail.com', 1]]));
    expect(dayOf(NOW)).toBe('20261103');
  });

  it('a block ages out of the window; a failed read keeps the last good blocks with their time', async () => {
    const b = new LogBuilder();
    b.delivery(at(11), 'B10CK0002', 'x@hotmail.com', 'bounced', { reply: blockReply });
    fs.writeFileSync(log, b.text());
    await collectMaillogs(deps());
    expect((await blocks()).blocks).toHaveLength(1);
    // An hour later the log is gone: error, block kept, blocksAt the good read's time.
    fs.renameSync(log, log + '.moved');
    const r = await collectMaillogs(deps(at(12, 30)));
    expect(r.error).toBe(1);
    expect(r.errors[0]).toMatch(/^mta1: reading .*maillog-.*: No such file/);
    const rec = await blocks();
    expect(rec).toMatchObject({ status: 'error', blocksAt: NOW.toISOString(), at: at(12, 30).toISOString() });
    expect(rec.blocks).toHaveLength(1);
    fs.renameSync(log + '.moved', log);
    // Past the 2-hour window: the block goes away.
    await collectMaillogs(deps(at(13, 1)));
    expect(await blocks()).toMatchObject({ status: 'ok', blocks: [] });
  });

  it('one bad host (changed key, unknown key, closed port) never stops the others', async () => {
    const other = await startSshServer();
    const closed = await (await import('../helpers/net.js')).freePort();
    try {
      // A known_hosts entry for `other` with the wrong key; `nokey` points at `other` too, on its
      // own name, which known_hosts does not hold.
      fs.appendFileSync(path.join(tmp, 'known_hosts'), other.knownHostsLine({ key: srv.hostKey.public }) + '\n');
      const b = new LogBuilder();
      traffic(b, at(11), 10);
      fs.writeFileSync(log, b.text());
      const cfg = config({
        wrongkey: { ssh_host: other.host, ssh_port: other.port, maillog_path: log },
        nokey: { ssh_host: 'localhost', ssh_port: other.port, maillog_path: log },
        down: { ssh_host: '127.0.0.1', ssh_port: closed, maillog_path: log },
      });
      const r = await collectMaillogs(deps(NOW, {}, cfg));
      expect(r).toMatchObject({ hosts: 4, ok: 1, error: 3 });
      expect(r.errors.join('\n')).toMatch(/wrongkey: .*HOST KEY CHANGED/);
      expect(r.errors.join('\n')).toMatch(/nokey: .*not in known_hosts/);
      expect(r.errors.join('\n')).toMatch(/down: .*ECONNREFUSED/);
      expect(other.commands).toEqual([]);
      for (const h of ['wrongkey', 'nokey', 'down']) {
        expect(await blocks(h)).toMatchObject({ status: 'error', blocks: [] });
        expect(await t.redis.exists(k.maillogPosition(h))).toBe(0);
      }
      expect(await counters(t.redis, 'wrongkey')).toEqual(new Map());
      expect(sorted(await counters(t.redis))).toEqual(sorted(b.expected));
    } finally {
      await other.close();
      fs.writeFileSync(path.join(tmp, 'known_hosts'), srv.knownHostsLine({ hashed: true }) + '\n');
    }
  });

  it('exactly once: a failed commit counts nothing, an overlapping run cannot double-count', async () => {
    const b = new LogBuilder();
    traffic(b, at(10), 30);
    fs.writeFileSync(log, b.text());
    const r1 = await collectMaillogs(deps(NOW, { beforeCommit: async () => { throw new Error('crash before commit'); } }));
    expect(r1.errors).toEqual(['mta1: crash before commit']);
    expect(await counters(t.redis)).toEqual(new Map());
    expect(await t.redis.exists(k.maillogPosition('mta1'))).toBe(0);
    // Run A reads, and before it commits run B reads and commits the same lines.
    let inner: Promise<unknown> | null = null;
    const rA = await collectMaillogs(
      deps(NOW, {
        beforeCommit: async () => {
          inner ??= collectMaillogs(deps());
          await inner;
        },
      }),
    );
    expect(rA.errors[0]).toMatch(/read position changed/);
    expect(sorted(await counters(t.redis))).toEqual(sorted(b.expected));
  });
});
