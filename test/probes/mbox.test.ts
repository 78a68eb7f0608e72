/**
 * Receiving from a local mbox (mxtrax's way): returns appended the way an MDA does (dotlock + fcntl
 * lock), the round matching them under the same locks, removing only matched messages; a lock held by
 * the MDA makes the round wait and then report an error, never lose or double-count a probe.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../lib/config/load.js';
import { silentLogger } from '../../lib/log.js';
import { parseMbox, withMboxLock } from '../../lib/mail/mbox.js';
import { domainStore } from '../../lib/probes/domains.js';
import { runProbeRound } from '../../collector/probes/round.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { startReflector, type Reflector } from '../helpers/reflector.js';

const mailbox = 'probes@mon.test';
let r: TestRedis;
let dir: string;
let mbox: string;
let refl: Reflector;
let clock = new Date('2026-04-01T08:00:00Z');

/** Append like an MDA: dotlock + fcntl lock, a From_ line, >From quoting, a blank line after. */
async function mdaAppend(raw: string): Promise<void> {
  await withMboxLock(mbox, async () => {
    const body = raw.replace(/\r\n/g, '\n').replace(/^(>*From )/gm, '>$1');
    fs.appendFileSync(mbox, `From MAILER-DAEMON ${clock.toUTCString()}\n${body.replace(/\n*$/, '\n')}\n`);
  });
}

beforeAll(async () => {
  r = await testRedis();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-mbox-'));
  mbox = path.join(dir, 'probes');
  fs.writeFileSync(mbox, '');
  const pending: Promise<void>[] = [];
  refl = await startReflector({
    dovecot: { deliver: (_u, _f, raw) => (pending.push(mdaAppend(String(raw))), '') },
    mailbox,
    clock: () => clock,
    behaviours: { 'a.test': 'on_time', 'b.test': 'bounce', 'c.test': 'never' },
  });
  await domainStore(r.redis, r.prefix).import(['a.test', 'b.test', 'c.test'].map((d, i) => ({ line: i, customer: d, customerName: d, address: `probe@${d}`, domain: d })));
});
afterAll(async () => {
  await refl?.close();
  await r?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('probes from an mbox', () => {
  it('matches returns and bounces under the MDA locks and removes only them', async () => {
    const config = parseConfig(stringify({ redis_url: r.url, probes: { from: mailbox, smtp: { host: '127.0.0.1', port: refl.port }, mbox } }), path.join(dir, 'm.yml'));
    const deps = { config, redis: r.redis, log: silentLogger, now: () => clock, mboxLockTimeoutMs: 20_000 };
    const impatient = { ...deps, mboxLockTimeoutMs: 1500 };
    await mdaAppend('From: friend@else.test\nSubject: lunch?\n\nFrom the office: are you in?\n');
    await runProbeRound(deps);
    // The reflector appends asynchronously under the lock: wait until both returns are in.
    const deadline = Date.now() + 30_000;
    while (parseMbox(fs.readFileSync(mbox, 'utf8')).length < 3 && Date.now() < deadline) await new Promise((x) => setTimeout(x, 50));
    expect(parseMbox(fs.readFileSync(mbox, 'utf8'))).toHaveLength(3);
    // Later rounds' probes are not returned (so no MDA writes race with the locks below).
    for (const d of ['a.test', 'b.test']) refl.setBehaviour(d, 'never');

    // The MDA holds the dotlock (taken with O_EXCL once the last append let go of it): the round
    // waits, then reports the mailbox unreadable.
    while (fs.existsSync(`${mbox}.lock`) && Date.now() < deadline) await new Promise((x) => setTimeout(x, 20));
    fs.writeFileSync(`${mbox}.lock`, 'mda', { flag: 'wx' });
    clock = new Date(clock.getTime() + 100_000);
    const blocked = await runProbeRound(impatient);
    expect(blocked.receiveError).toMatch(/probes\.lock is held by another program/);
    fs.rmSync(`${mbox}.lock`);

    // An fcntl lock held by another process: the same.
    const holder = spawn('python3', ['-c', 'import fcntl,sys\nf=open(sys.argv[1],"r+")\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint("x",flush=True)\nsys.stdin.read()', mbox], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise((x) => holder.stdout!.once('data', x));
    const blocked2 = await runProbeRound(impatient);
    expect(blocked2.receiveError).toMatch(/fcntl lock .* is held by another program/);
    holder.stdin!.end();
    await new Promise((x) => holder.once('exit', x));

    const ok = await runProbeRound(deps);
    expect(ok.receiveError).toBeUndefined();
    expect(ok.matched).toBe(1);
    expect(ok.bounced).toBe(1);
    const left = parseMbox(fs.readFileSync(mbox, 'utf8'));
    // The friend's mail stays, unchanged (its ">From" quoting undone and redone).
    expect(left.map((m) => /^Subject: (.*)$/m.exec(m.raw)?.[1])).toContain('lunch?');
    expect(left.find((m) => m.raw.includes('lunch?'))!.raw).toContain('\nFrom the office: are you in?\n');
    const s = new Map(ok.summaries.map((x) => [x.domain, x]));
    expect(s.get('a.test')!.counts.on_time).toBe(1);
    expect(s.get('b.test')!.counts.bounced).toBe(1);
    // c.test never returns, but its probes are younger than max_return_s as of the last good read: pending.
    expect(s.get('c.test')!.counts).toMatchObject({ pending: 4, overdue: 0, lost: 0 });
    expect(ok.failing).toEqual(['b.test']);
  }, 60_000);
});
