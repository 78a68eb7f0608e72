/**
 * A round stopped mid-way (after sending, before judging; and one probe written but never answered by
 * SMTP, as a kill during submission leaves it), then re-run: every probe is counted exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../lib/config/load.js';
import { silentLogger } from '../../lib/log.js';
import { domainStore } from '../../lib/probes/domains.js';
import { probeStore } from '../../lib/probes/store.js';
import { runProbeRound } from '../../collector/probes/round.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { testRedis, type TestRedis } from '../helpers/redis.js';
import { startReflector, type Reflector } from '../helpers/reflector.js';

const mailbox = 'probes@mon.test';
let dc: Dovecot;
let r: TestRedis;
let refl: Reflector;
const T0 = Date.parse('2026-06-01T09:00:00Z');
let clock = new Date(T0);

beforeAll(async () => {
  dc = await startDovecot({ users: [{ user: mailbox, password: 'pw-crash' }] });
  r = await testRedis();
  refl = await startReflector({ dovecot: dc, mailbox, clock: () => clock, behaviours: { 'a.test': 'on_time', 'b.test': 'on_time', 'c.test': 'never' } });
  await domainStore(r.redis, r.prefix).import(['a.test', 'b.test', 'c.test'].map((d, i) => ({ line: i, customer: d, customerName: d, address: `probe@${d}`, domain: d })));
});
afterAll(async () => {
  await refl?.close();
  await r?.close();
  await dc?.stop();
});

describe('a round killed mid-way', () => {
  it('re-run counts every probe once', async () => {
    const config = parseConfig(
      stringify({ redis_url: r.url, probes: { from: mailbox, smtp: { host: '127.0.0.1', port: refl.port }, imap: { host: '127.0.0.1', port: dc.port, tls: 'none', user: mailbox, password: 'pw-crash' } } }),
      '/tmp/m.yml',
    );
    const ps = probeStore(r.redis, r.prefix);
    const deps = { config, redis: r.redis, log: silentLogger, now: () => clock };
    // Killed right after the sends were recorded: nothing judged, no stats, no state.
    await expect(
      runProbeRound({
        ...deps,
        onSentBatch: () => {
          throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    expect(await ps.summaries()).toEqual(new Map());
    // And a probe written before submission whose SMTP answer never came (killed inside the send).
    await ps.save([{ token: 'mtp-' + 'k'.repeat(40), domain: 'c.test', address: 'probe@c.test', sentAt: T0 }]);

    clock = new Date(T0 + 400_000);
    const again = await runProbeRound(deps);
    expect(again.matched).toBe(2);
    const s = new Map(again.summaries.map((x) => [x.domain, x]));
    expect(s.get('a.test')!.counts).toMatchObject({ on_time: 1, pending: 1 });
    expect(s.get('c.test')!.counts).toMatchObject({ overdue: 1, send_failed: 1, pending: 1 });
    // Once more at the same moment: every probe still counted once.
    const third = await runProbeRound(deps);
    const s3 = new Map(third.summaries.map((x) => [x.domain, x]));
    expect(s3.get('a.test')!.counts).toMatchObject({ on_time: 2, pending: 1 }); // round 2's probe came back meanwhile
    for (const d of ['a.test', 'b.test', 'c.test']) {
      const recs = await ps.forDomain(d, 0, T0 + 1e9);
      const counts = Object.values(s3.get(d)!.counts).reduce((x, y) => x + y, 0);
      expect(counts).toBe(recs.length);
      const [stat] = await ps.stats(d);
      expect(stat!.total).toBe(recs.length);
    }
    expect((await ps.stats('a.test'))[0]).toMatchObject({ on_time: 2, total: 3 });
  }, 60_000);
});
