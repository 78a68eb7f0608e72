/** Pure record logic: stale values, history points, which acknowledgements survive. */
import { describe, expect, it } from 'vitest';
import { checkPlugins as checks } from '../../lib/checks/index.js';
import { acksToRemove, buildIpRecord, carryStale, hasFailure, historyPoint, withStale, type RunResults } from '../../collector/records.js';
import { configFrom } from '../helpers/collector-config.js';
import type { BlocksRecord } from '../../lib/model.js';
import { ipRecord, zoneResult as zone } from '../helpers/ip-record.js';

const t1 = '2024-05-01T10:00:00.000Z';
const t2 = '2024-05-01T10:15:00.000Z';
const t3 = '2024-05-01T10:30:00.000Z';

describe('carryStale / withStale', () => {
  it('an error keeps the last good value with its time, across several failed runs', () => {
    const good = { status: 'ok' as const, at: t1, value: { score: 80 } };
    const e2 = carryStale({ status: 'error', at: t2, reason: 'timeout' }, good);
    expect(e2).toEqual({ status: 'error', at: t2, reason: 'timeout', stale: { value: { score: 80 }, at: t1 } });
    const e3 = carryStale({ status: 'error', at: t3, reason: 'SERVFAIL' }, e2);
    expect(e3.stale).toEqual({ value: { score: 80 }, at: t1 });
    // Fresh good data replaces it and carries no stale value.
    expect(carryStale({ status: 'ok', at: t3, value: { score: 70 } }, e2)).toEqual({ status: 'ok', at: t3, value: { score: 70 } });
    // Skipped is not a failure: nothing carried.
    expect(carryStale({ status: 'skipped', at: t3, reason: 'off' }, good).stale).toBeUndefined();
  });

  it('per DNSBL zone: error/unknown keep the last clear verdict', () => {
    const prev = ipRecord('192.0.2.1', t1, { dnsbl: [zone('a.test', 'listed', t1, { txt: 'why' }), zone('b.test', 'not_listed', t1)] });
    const next = ipRecord('192.0.2.1', t2, {
      dnsbl: [zone('a.test', 'error', t2, { reason: 'timeout' }), zone('b.test', 'unknown', t2, { reason: 'odd' }), zone('c.test', 'error', t2)],
      senderscore: { status: 'error', at: t2, reason: 'timeout' },
    });
    const out = withStale(next, prev, checks);
    expect(out.dnsbl.value!.zones.map((z) => z.stale)).toEqual([
      { state: 'listed', codes: ['127.0.0.2'], labels: ['SBL'], txt: 'why', at: t1 },
      { state: 'not_listed', codes: [], labels: [], at: t1 },
      undefined,
    ]);
    expect(out.senderscore.stale).toEqual({ value: { score: 90 }, at: t1 });
    expect(out.snds).toEqual(next.snds);
    expect(withStale(next, undefined, checks)).toBe(next);
  });
});

describe('historyPoint', () => {
  it('counts listings (not allow lists) and takes only fresh values', () => {
    const rec = ipRecord('192.0.2.1', t1, {
      dnsbl: [zone('a.test', 'listed', t1), zone('w.test', 'listed', t1, { kind: 'allow' }), zone('b.test', 'error', t1)],
      snds: { status: 'ok', at: t1, value: { blocked: null, data: { color: 'red', traps: 4, complaintRate: '1%', rcptCommands: 1, dataCommands: 1, recipients: 1, periodStart: 'x', periodEnd: 'y' } } },
    });
    expect(historyPoint(rec, 5)).toEqual({ t: 5, score: 90, listings: 1, traps: 4, color: 'red' });
    const failed = ipRecord('192.0.2.1', t1, {
      senderscore: { status: 'error', at: t1, reason: 'x', stale: { value: { score: 90 }, at: t1 } },
      snds: { status: 'error', at: t1, reason: 'x' },
    });
    expect(historyPoint(failed, 6)).toEqual({ t: 6, score: null, listings: 0, traps: null, color: null });
  });
});

describe('acksToRemove', () => {
  it('keeps acks of live issues and of listings a zone cannot confirm this run; drops the rest', () => {
    const recs = [
      ipRecord('192.0.2.1', t2, {
        dnsbl: [
          zone('a.test', 'listed', t2),
          zone('b.test', 'error', t2, { stale: { state: 'listed', codes: ['127.0.0.2'], labels: [], at: t1 } }),
          zone('c.test', 'not_listed', t2),
          zone('d.test', 'error', t2, { stale: { state: 'not_listed', codes: [], labels: [], at: t1 } }),
        ],
      }),
    ];
    const blocks: BlocksRecord[] = [
      { host: 'mx1', status: 'ok', at: t2, blocksAt: t2, blocks: [{ provider: 'gmail', line: 'x', at: t2 }] },
    ];
    const acks = ['rbl:a.test:192.0.2.1', 'rbl:b.test:192.0.2.1', 'rbl:c.test:192.0.2.1', 'rbl:d.test:192.0.2.1', 'rbl:a.test:192.0.2.99', 'block:gmail:mx1', 'block:yahoo:mx1'];
    expect(acksToRemove(acks, recs, blocks)).toEqual(['rbl:c.test:192.0.2.1', 'rbl:d.test:192.0.2.1', 'rbl:a.test:192.0.2.99', 'block:yahoo:mx1']);
  });
});

describe('hasFailure', () => {
  it('is true when any check or any zone failed', () => {
    expect(hasFailure(ipRecord('192.0.2.1', t1), checks)).toBe(false);
    expect(hasFailure(ipRecord('192.0.2.1', t1, { dnsbl: [zone('a.test', 'unknown', t1)] }), checks)).toBe(true);
    expect(hasFailure(ipRecord('192.0.2.1', t1, { httpReputation: { status: 'error', at: t1, reason: 'x' } }), checks)).toBe(true);
    expect(hasFailure(ipRecord('192.0.2.1', t1, { dnsMatch: { status: 'skipped', at: t1, reason: 'x' } }), checks)).toBe(false);
  });
});

describe('buildIpRecord', () => {
  it('gives the records of a run one frozen result per skipped check, and a new one in the next run', () => {
    const host = configFrom({ mta_map: ['mx.example.test'] }).hosts[0]!;
    const res: RunResults = { dnsbl: { results: new Map() }, senderscore: { skipped: 'senderscore_zone is false' } };
    const a = buildIpRecord({ ip: '192.0.2.1', family: 4, host }, res, 'r1', t1, checks);
    const b = buildIpRecord({ ip: '192.0.2.2', family: 4, host }, res, 'r1', t1, checks);
    expect(a.senderscore).toEqual({ status: 'skipped', at: t1, reason: 'senderscore_zone is false' });
    expect(b.senderscore).toBe(a.senderscore);
    expect(Object.isFrozen(a.senderscore)).toBe(true);
    // A check that returned nothing for an IP is an error, never a clean verdict.
    expect(a.dnsbl).toMatchObject({ status: 'error', at: t1 });
    const later = buildIpRecord({ ip: '192.0.2.1', family: 4, host }, res, 'r2', t2, checks);
    expect(later.senderscore).toEqual({ status: 'skipped', at: t2, reason: 'senderscore_zone is false' });
  });
});
