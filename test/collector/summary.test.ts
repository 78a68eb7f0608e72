/** The run summary's counts and grouped error lines (pure). */
import { describe, expect, it } from 'vitest';
import { maxErrorLines, statusOf, tally } from '../../collector/summary.js';
import type { HostRecord } from '../../lib/model.js';
import { ipRecord, zoneResult } from '../helpers/ip-record.js';

const at = '2024-05-01T10:00:00.000Z';
const host = (name: string, status: HostRecord['resolve']['status'], reason?: string): HostRecord => ({
  name,
  fqdn: `${name}.example.test`,
  ips: [],
  resolve: { status, at, ...(reason ? { reason } : {}) },
  checkedAt: at,
  runId: 'r',
});

describe('tally', () => {
  it('counts per check, groups one reason over many IPs into one line, names unhealthy zones', () => {
    const recs = Array.from({ length: 50 }, (_, i) =>
      ipRecord(`192.0.2.${i}`, at, {
        dnsbl: [zoneResult('a.test', 'not_listed', at), zoneResult('dead.test', 'error', at, { reason: 'not queried', unhealthy: 'self-test timeout' })],
        snds: { status: 'error', at, reason: 'SNDS data.aspx: timeout after 20 s' },
      }),
    );
    recs[0]!.senderscore = { status: 'error', at, reason: 'SERVFAIL' };
    const t = tally(recs, [host('mx1', 'ok'), host('ghost', 'error', 'NXDOMAIN')], { hosts: 2, ok: 1, error: 1, skipped: 0, errors: ['mx1: ssh: timeout'] }, ['httpReputation']);
    expect(t.checks).toEqual({
      hosts: { ok: 1, error: 1, skipped: 0 },
      dnsbl: { ok: 50, error: 50, skipped: 0 },
      senderscore: { ok: 49, error: 1, skipped: 0 },
      snds: { ok: 0, error: 50, skipped: 0 },
      dnsMatch: { ok: 0, error: 0, skipped: 50 },
      httpReputation: { ok: 0, error: 0, skipped: 50 },
      maillog: { ok: 1, error: 1, skipped: 0 },
    });
    expect(t.unhealthyZones).toEqual(['dead.test: self-test timeout']);
    expect(t.errors).toEqual([
      'host ghost: NXDOMAIN',
      'dnsbl dead.test: zone unhealthy: self-test timeout',
      'snds: SNDS data.aspx: timeout after 20 s (50 IPs, e.g. 192.0.2.0)',
      'senderscore 192.0.2.0: SERVFAIL',
      'maillog mx1: ssh: timeout',
    ]);
    expect(statusOf(t)).toBe('partial');
  });

  it('caps the error lines and says how many more there were', () => {
    const recs = Array.from({ length: 30 }, (_, i) => ipRecord(`192.0.2.${i}`, at, { snds: { status: 'error', at, reason: `reason ${i}` } }));
    const t = tally(recs, [], null);
    expect(t.errors).toHaveLength(maxErrorLines);
    expect(t.errors.at(-1)).toBe(`... and ${30 - maxErrorLines + 1} more`);
  });

  it('a host that resolved although one address family failed counts as an error, with its line', () => {
    const t = tally([], [host('mx1', 'ok', 'partial: AAAA: timeout after 300 ms per try')], null);
    expect(t.checks.hosts).toEqual({ ok: 0, error: 1, skipped: 0 });
    expect(t.errors).toEqual(['host mx1: partial: AAAA: timeout after 300 ms per try']);
    expect(statusOf(t)).toBe('partial');
  });

  it('all good is ok', () => {
    const t = tally([ipRecord('192.0.2.1', at, { dnsbl: [zoneResult('a.test', 'listed', at)] })], [host('mx1', 'config')], null);
    expect(t.errors).toEqual([]);
    expect(statusOf(t)).toBe('ok');
  });
});
