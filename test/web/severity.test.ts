import { describe, expect, it } from 'vitest';
import { rowSeverity, severityRules, type SeverityLevel } from '../../lib/severity.js';
import type { IpRecord } from '../../lib/model.js';
import { blocksRecord, hostRecord, ipRecord, NOW, T, zone, type RecordOverrides } from './fixtures.js';

const rules = severityRules({ severity: { sndsTrapsWarning: 10, senderscoreWarning: 70 }, collectInterval: 900 });
const base = () => ipRecord('192.0.2.1', 'mta1', 'mta1.example.com');
const snds = (color: 'green' | 'yellow' | 'red', traps: number): IpRecord['snds'] => ({
  status: 'ok',
  at: T(5),
  value: {
    data: { color, traps, complaintRate: '< 0.1%', rcptCommands: 1, dataCommands: 1, recipients: 1, periodStart: T(100), periodEnd: T(50) },
    blocked: null,
  },
});

const cases: [string, RecordOverrides | undefined, SeverityLevel, string?][] = [
  ['all clean', {}, 'ok'],
  ['SNDS traps at the threshold', { snds: snds('green', 10) }, 'warning', 'trap hits 10'],
  ['SNDS traps below the threshold', { snds: snds('green', 9) }, 'ok'],
  ['SNDS yellow', { snds: snds('yellow', 0) }, 'warning', 'SNDS filter yellow'],
  ['SNDS red', { snds: snds('red', 0) }, 'warning', 'SNDS filter red'],
  ['SenderScore 69', { senderscore: { status: 'ok', at: T(5), value: { score: 69 } } }, 'warning', 'SenderScore 69'],
  ['SenderScore 70', { senderscore: { status: 'ok', at: T(5), value: { score: 70 } } }, 'ok'],
  ['no SenderScore is not a problem', { senderscore: { status: 'ok', at: T(5), value: { score: null } } }, 'ok'],
  ['critical zone listing', { dnsbl: [zone('zen.spamhaus.org', 'listed')] }, 'error', 'listed on zen.spamhaus.org'],
  ['non-critical zone listing', { dnsbl: [zone('b.barracudacentral.org', 'listed', { critical: false })] }, 'warning'],
  ['allow-list listing is good news', { dnsbl: [zone('list.dnswl.org', 'listed', { kind: 'allow', critical: false })] }, 'ok'],
  ['zone error cannot tell', { dnsbl: [zone('zen.spamhaus.org', 'error', { reason: 'timeout' })] }, 'unknown', 'cannot tell (timeout)'],
  [
    'a timeout keeps judging the last known critical listing',
    { dnsbl: [zone('zen.spamhaus.org', 'error', { reason: 'timeout', stale: { state: 'listed', codes: ['127.0.0.2'], labels: ['SBL'], at: T(20) } })] },
    'error',
    'last known: listed on zen.spamhaus.org',
  ],
  [
    'a timeout after a clean verdict is only cannot tell',
    { dnsbl: [zone('zen.spamhaus.org', 'error', { reason: 'timeout', stale: { state: 'not_listed', codes: [], labels: [], at: T(20) } })] },
    'unknown',
  ],
  ['unknown answer cannot tell', { dnsbl: [zone('zen.spamhaus.org', 'unknown', { reason: '127.0.0.1' })] }, 'unknown'],
  ['unhealthy zone cannot tell', { dnsbl: [zone('zen.spamhaus.org', 'not_listed', { unhealthy: 'self-test failed' })] }, 'unknown', 'self-test failed'],
  ['failed SenderScore check', { senderscore: { status: 'error', at: T(5), reason: 'timeout after 3s' } }, 'unknown', 'SenderScore: timeout after 3s'],
  [
    'failed check keeps judging the stale value',
    { senderscore: { status: 'error', at: T(5), reason: 'SERVFAIL', stale: { value: { score: 40 }, at: T(60) } } },
    'warning',
    'SenderScore 40',
  ],
  [
    'DNS mismatch',
    {
      dnsMatch: {
        status: 'ok',
        at: T(5),
        value: { rdns: { state: 'mismatch', found: ['other.example'] }, fdns: { state: 'match', found: [] }, helo: { state: 'match', found: [] } },
      },
    },
    'error',
    'rDNS mismatch',
  ],
  [
    'DNS part error',
    {
      dnsMatch: {
        status: 'ok',
        at: T(5),
        value: { rdns: { state: 'match', found: [] }, fdns: { state: 'match', found: [] }, helo: { state: 'error', found: [], reason: 'connect refused' } },
      },
    },
    'unknown',
    'HELO: connect refused',
  ],
  ['skipped check is ignored', { snds: { status: 'skipped', at: T(5), reason: 'no snds_key' } }, 'ok'],
  ['SNDS blocked', { snds: { status: 'ok', at: T(5), value: { data: null, blocked: { blocked: true, reason: 'junked' } } } }, 'error', 'blocked by Microsoft'],
  ['bad HTTP reputation', { httpReputation: { status: 'ok', at: T(5), value: { verdict: 'bad', raw: 'BAD' } } }, 'error'],
  ['stale data', { checkedAt: T(60 * 5) }, 'unknown', 'data is stale'],
];

describe('rowSeverity', () => {
  it.each(cases)('%s', (_name, patch, level, reason) => {
    const s = rowSeverity({ ip: ipRecord('192.0.2.1', 'mta1', 'mta1.example.com', patch), blocks: [], now: NOW }, rules);
    expect(s.level).toBe(level);
    if (reason) expect(s.reasons.map((r) => r.text).join('\n')).toContain(reason);
  });

  it('a provider block is an error, the worst reason wins over cannot-tell', () => {
    const s = rowSeverity(
      {
        ip: ipRecord('192.0.2.1', 'mta1', 'mta1.example.com', { dnsbl: [zone('zen.spamhaus.org', 'error')] }),
        blocks: [{ provider: 'gmail', line: 'x', at: T(5) }],
        now: NOW,
      },
      rules,
    );
    expect(s.level).toBe('error');
    expect(s.reasons.map((r) => r.level).sort()).toEqual(['error', 'unknown']);
  });

  it('no record yet, a failed resolution and a failed maillog read are cannot-tell, never clean', () => {
    expect(rowSeverity({ blocks: [], now: NOW }, rules).level).toBe('unknown');
    const host = hostRecord('mta3', 'mta3.example.com', [], { resolve: { status: 'error', reason: 'NXDOMAIN', at: T(5) } });
    const s = rowSeverity({ host, blocks: [], now: NOW }, rules);
    expect(s.level).toBe('unknown');
    expect(s.reasons[0]!.text).toContain('NXDOMAIN');
    const br = blocksRecord('mta1', [], { status: 'error', reason: 'ssh: host key mismatch' });
    expect(rowSeverity({ ip: base(), blocksRecord: br, blocks: [], now: NOW }, rules).level).toBe('unknown');
  });

  it('thresholds come from config', () => {
    const strict = severityRules({ severity: { sndsTrapsWarning: 1, senderscoreWarning: 99 }, collectInterval: 900 });
    expect(rowSeverity({ ip: base(), blocks: [], now: NOW }, strict).level).toBe('warning');
    expect(rowSeverity({ ip: { ...base(), snds: snds('green', 1) }, blocks: [], now: NOW }, { ...strict, senderscoreWarning: 0 }).level).toBe('warning');
  });
});
