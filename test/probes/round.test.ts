/**
 * A probe round end to end with real parts: probes go to a real SMTP server (the reflector), which
 * returns them into a real Dovecot mailbox on time, late, into Junk, as a DSN bounce, or never, or
 * refuses them; the round finds them over IMAP. A controllable clock makes probes late and lost
 * without waiting. States, counts, failing, stats, the report mail and exactly-once are checked
 * against what the test made happen.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { simpleParser } from 'mailparser';
import { parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/normalize.js';
import { silentLogger } from '../../lib/log.js';
import { domainStore } from '../../lib/probes/domains.js';
import { probeState, type Limits } from '../../lib/probes/judge.js';
import { probeStore } from '../../lib/probes/store.js';
import { runProbeRound } from '../../collector/probes/round.js';
import { limitsOf } from '../../lib/probes/judge.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { startReflector, type Behaviour, type Reflector } from '../helpers/reflector.js';

const mailbox = 'probes@mon.test';
const password = 'imap-round-pw';
let dc: Dovecot;
let r: TestRedis;
let refl: Reflector;
let clock = new Date('2026-03-10T10:00:00Z');
const T0 = clock.getTime();
const at = (s: number) => new Date(T0 + s * 1000);

const behaviours: Record<string, Behaviour> = {
  'ontime.test': 'on_time',
  'late.test': 'late',
  'junk.test': 'junk',
  'bounce.test': 'bounce',
  'never.test': 'never',
  'refuse.test': 'refuse',
  'maint.test': 'on_time',
};

function config(extra: Record<string, unknown> = {}): Config {
  return parseConfig(
    stringify({
      redis_url: r.url,
      probes: {
        from: mailbox,
        smtp: { host: '127.0.0.1', port: refl.port, tls: 'none', pool: 2 },
        imap: { host: '127.0.0.1', port: dc.port, tls: 'none', user: mailbox, password },
        alert_to: ['ops@mon.test'],
        ...extra,
      },
    }),
    '/tmp/mtarep.yml',
  );
}

beforeAll(async () => {
  dc = await startDovecot({ users: [{ user: mailbox, password }] });
  r = await testRedis();
  refl = await startReflector({ dovecot: dc, mailbox, clock: () => clock, behaviours });
});
afterAll(async () => {
  await refl?.close();
  await r?.close();
  await dc?.stop();
});
beforeEach(async () => {
  await r.redis.flushdb();
  const store = domainStore(r.redis, r.prefix);
  await store.import(Object.keys(behaviours).map((d, i) => ({ line: i + 1, customerName: d, customer: d.split('.')[0]!, address: `probe@${d}`, domain: d })));
  await store.setMaintenance('maint.test', true, 'test');
});

describe('probe round', () => {
  it('classifies every probe, judges domains, reports changes once, counts each probe once', async () => {
    const cfg = config();
    const deps = { config: cfg, redis: r.redis, log: silentLogger, now: () => clock };
    dc.deliver(mailbox, 'INBOX', 'From: someone@else.test\r\nTo: probes@mon.test\r\nSubject: hello, not a probe\r\n\r\nhi\r\n');

    clock = at(0);
    const r1 = await runProbeRound(deps);
    expect(r1.sent).toBe(5);
    expect(r1.sendFailed).toBe(1);
    expect(refl.received.filter((m) => m.to.endsWith('maint.test'))).toHaveLength(0);
    // Only the refused domain is judged yet (the others are pending), and it fails: report 1.
    expect(r1.failing).toEqual(['refuse.test']);
    expect(r1.alert).toBe('sent');
    expect(r1.issues.map((i) => [i.id, i.kind, i.source])).toEqual([['probe:refuse.test', 'probe_failing', 'probes']]);

    clock = at(400);
    const r2 = await runProbeRound(deps);
    expect(r2.receiveError).toBeUndefined();
    expect(r2.matched).toBe(3);
    expect(r2.bounced).toBe(1);
    const sum = new Map(r2.summaries.map((s) => [s.domain, s]));
    const c = (d: string) => sum.get(d)!.counts;
    expect(c('ontime.test')).toMatchObject({ on_time: 1, pending: 1, late: 0 });
    expect(c('late.test')).toMatchObject({ late: 1, pending: 1 });
    expect(c('junk.test')).toMatchObject({ spam: 1, pending: 1 });
    expect(c('bounce.test')).toMatchObject({ bounced: 1, pending: 1 });
    expect(c('never.test')).toMatchObject({ overdue: 1, pending: 1 });
    expect(c('refuse.test')).toMatchObject({ send_failed: 2 });
    expect(sum.get('ontime.test')!.last).toMatchObject({ state: 'pending' });
    expect(r2.failing).toEqual(['bounce.test', 'junk.test', 'late.test', 'never.test', 'refuse.test']);
    expect(sum.get('maint.test')!.failing).toBe(false);
    expect(r2.alert).toBe('sent');

    // Stored details: RTT from the Received: header, the DSN's status and text, the SMTP answer.
    const ps = probeStore(r.redis, r.prefix);
    const day = await ps.forDomain('bounce.test', 0, Date.now() + 1e12);
    const bounced = day.find((p) => p.bounce)!;
    expect(bounced.bounce).toMatchObject({ status: '5.1.1', diagnostic: expect.stringContaining('User unknown in virtual mailbox table') });
    const ot = (await ps.forDomain('ontime.test', 0, Date.now() + 1e12)).find((p) => p.returnedAt)!;
    expect((ot.returnedAt! - ot.sentAt) / 1000).toBe(12);
    expect(ot.smtp).toMatch(/^250 /);
    const refused = (await ps.forDomain('refuse.test', 0, Date.now() + 1e12))[0]!;
    expect(refused.sendError).toMatchObject({ stage: 'send', response: expect.stringContaining('550 5.1.1') });

    // Matched probes were deleted: left are the stranger's mail and the returns of round 2's probes.
    expect(dc.count(mailbox, 'INBOX')).toBe(4);
    expect(dc.count(mailbox, 'Junk')).toBe(1);

    // The same round again at the same time: nothing new, nothing counted twice, no second mail.
    const before = await ps.stats('ontime.test');
    const mailsBefore = refl.received.filter((m) => m.to === 'ops@mon.test').length;
    const r3 = await runProbeRound(deps);
    expect(r3.alert).toBe('unchanged');
    expect(refl.received.filter((m) => m.to === 'ops@mon.test').length).toBe(mailsBefore);
    const after = await ps.stats('ontime.test');
    expect(after[0]).toMatchObject({ date: '2026-03-10', on_time: 2, total: 3, min_s: 12, max_s: 12, avg_s: 12, all_done: false });
    expect(before[0]!.on_time).toBe(1);

    // A day later: the never-returned probes are lost, the day's stats settled and done; they have left
    // the window, so only the refused domain still fails: a recovery report goes out.
    clock = at(86_400 + 500);
    const r4 = await runProbeRound(deps);
    const s4 = new Map(r4.summaries.map((s) => [s.domain, s]));
    expect(s4.get('never.test')!.counts).toMatchObject({ lost: 0, pending: 1, overdue: 0 });
    expect(r4.failing).toEqual(['refuse.test']);
    expect(r4.alert).toBe('sent');
    const nd = await ps.stats('never.test');
    expect(nd.find((d) => d.date === '2026-03-10')).toMatchObject({ failed: 3, total: 3, on_time: 0, all_done: true });
    expect(nd.find((d) => d.date === '2026-03-11')).toMatchObject({ total: 1, all_done: false });

    // The report mails: failing first, HTML and text.
    const mails = refl.received.filter((m) => m.to === 'ops@mon.test');
    expect(mails.length).toBe(3);
    const recovery = await simpleParser(mails[2]!.raw);
    expect(recovery.text).toContain('Recovered since the last report: bounce.test, junk.test, late.test, never.test');
    expect(recovery.html).toContain('Recovered since the last report');
    expect(mails[1]!.raw).toMatch(/Subject: \[mtarep\] 5 probe domains failing/);
    expect(mails[1]!.raw).toContain('text/html');
    expect((await simpleParser(mails[1]!.raw)).text).toMatch(/^Failing probe domains \(5\):\n  bounce\.test /);
  });

  it('an unreadable mailbox is an error of the round and turns no probe lost', async () => {
    const good = { config: config(), redis: r.redis, log: silentLogger, now: () => clock };
    refl.setBehaviour('ontime.test', 'never');
    try {
      clock = at(0);
      await runProbeRound(good);
      const bad = { ...good, config: config({ imap: { host: '127.0.0.1', port: dc.port, tls: 'none', user: mailbox, password: 'wrong-pw-123' } }) };
      clock = at(200_000);
      const res = await runProbeRound(bad);
      expect(res.receiveError).toMatch(/^imap-auth: login refused/);
      expect(res.receiveError).not.toContain('wrong-pw-123');
      expect(res.status).toBe('partial');
      const s = new Map(res.summaries.map((x) => [x.domain, x]));
      // Last good read was at 0: the first probes are pending as of then, never lost.
      expect(s.get('ontime.test')!.counts.lost).toBe(0);
      expect(s.get('never.test')!.counts.lost).toBe(0);
    } finally {
      refl.setBehaviour('ontime.test', 'on_time');
    }
  });

  it('judges states at the edges of the limits', () => {
    const l: Limits = limitsOf(config().probes!);
    const p = { token: 't', domain: 'd', address: 'a@d', sentAt: 0, submittedAt: 1 };
    expect(probeState({ ...p, returnedAt: 300_000 }, 1e9, 1e9, l)).toBe('on_time');
    expect(probeState({ ...p, returnedAt: 300_001 }, 1e9, 1e9, l)).toBe('late');
    expect(probeState({ ...p, returnedAt: 86_400_001 }, 1e9, 1e9, l)).toBe('lost');
    expect(probeState({ ...p, returnedAt: 10, junk: true }, 1e9, 1e9, l)).toBe('spam');
    expect(probeState(p, 300_000, 300_000, l)).toBe('pending');
    expect(probeState(p, 300_001, 300_001, l)).toBe('overdue');
    expect(probeState(p, 86_400_001, 86_400_001, l)).toBe('lost');
    expect(probeState(p, 86_400_001, 100, l)).toBe('pending');
    expect(probeState({ ...p, submittedAt: undefined }, 300_001, 300_001, l)).toBe('send_failed');
  });
});
