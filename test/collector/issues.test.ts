/** Each source's open issues from its stored results (collector/issues.ts, pure). */
import { describe, expect, it } from 'vitest';
import { maillogIssues, reputationIssues } from '../../collector/issues.js';
import type { SndsData } from '../../lib/model.js';
import { configFrom } from '../helpers/collector-config.js';
import { ipRecord, zoneResult } from '../helpers/ip-record.js';

const at = '2024-05-01T10:00:00.000Z';
const config = configFrom({ rbls: ['bl.test'], mta_map: ['mx1.example.com'], http_reputation: { url: 'http://127.0.0.1/{ip}', json_path: 'v', verdicts: { bad: ['x'] } } });
const snds = (color: SndsData['color'], traps: number): SndsData => ({ color, traps, complaintRate: '< 0.1%', rcptCommands: 1, dataCommands: 1, recipients: 1, periodStart: at, periodEnd: at });

describe('reputationIssues', () => {
  it('judges as the dashboard does: critical listings and mismatches are problems, the rest warnings; allow lists are no issue', () => {
    const rec = ipRecord('192.0.2.1', at, {
      dnsbl: [
        zoneResult('zen.test', 'listed', at, { critical: true, txt: 'why', removalLink: 'https://x/192.0.2.1' }),
        zoneResult('soft.test', 'listed', at),
        zoneResult('white.test', 'listed', at, { kind: 'allow' }),
        zoneResult('dead.test', 'error', at, { unhealthy: 'self-test: timeout' }),
      ],
      senderscore: { status: 'ok', at, value: { score: 42 } },
      snds: { status: 'ok', at, value: { data: snds('red', 12), blocked: { blocked: true, reason: 'junked' } } },
      dnsMatch: { status: 'ok', at, value: { rdns: { state: 'mismatch', found: ['other.test'] }, fdns: { state: 'match', found: [] }, helo: { state: 'error', found: [], reason: 'timeout' } } },
      httpReputation: { status: 'ok', at, value: { verdict: 'bad', raw: 'x' } },
    });
    const s = reputationIssues([rec], config, 'r1', at);
    expect(s.open.map((i) => [i.id, i.kind, i.severity, i.state])).toEqual([
      ['rbl:zen.test:192.0.2.1', 'listing', 'problem', 'listed: 127.0.0.2 SBL'],
      ['rbl:soft.test:192.0.2.1', 'listing', 'warning', 'listed: 127.0.0.2 SBL'],
      ['score:192.0.2.1', 'score', 'warning', 'score 42'],
      ['snds:192.0.2.1:filter', 'snds', 'warning', 'red'],
      ['snds:192.0.2.1:traps', 'snds_traps', 'warning', 'traps 12'],
      ['snds:192.0.2.1:blocked', 'snds', 'problem', 'blocked'],
      ['dns:192.0.2.1:rdns', 'dns_mismatch', 'problem', 'rdns mismatch'],
      ['http:192.0.2.1', 'http_reputation', 'problem', 'bad'],
      ['zone:dead.test', 'zone_unhealthy', 'warning', 'unhealthy'],
    ]);
    expect(s.open[0]).toMatchObject({ source: 'reputation', host: 'mx1', ip: '192.0.2.1', zone: 'zen.test', detail: 'why', links: { removal: 'https://x/192.0.2.1' }, firstSeen: at, lastSeen: at });
    expect(s.undetermined).toEqual(['rbl:dead.test:192.0.2.1', 'dns:192.0.2.1:helo']);
  });

  it('a failed check marks its ids undetermined instead of reporting them gone', () => {
    const rec = ipRecord('192.0.2.1', at, {
      dnsbl: [zoneResult('bl.test', 'unknown', at)],
      senderscore: { status: 'error', at, reason: 'timeout' },
      snds: { status: 'error', at, reason: 'HTML page' },
      dnsMatch: { status: 'error', at, reason: 'x' },
      httpReputation: { status: 'error', at, reason: 'x' },
    });
    const s = reputationIssues([rec], config, 'r1', at);
    expect(s.open).toEqual([]);
    expect(s.undetermined).toEqual(['rbl:bl.test:192.0.2.1', 'score:192.0.2.1', 'snds:192.0.2.1:', 'dns:192.0.2.1:', 'http:192.0.2.1']);
  });
});

describe('maillogIssues', () => {
  it('a block per provider and host; an unreadable log is its own issue beside the kept blocks', () => {
    const s = maillogIssues(
      [{ host: 'mx1', status: 'error', reason: 'ssh: timeout', at, blocksAt: at, blocks: [{ provider: 'gmail', line: '550 no', at, ip: '192.0.2.1', recipientDomain: 'gmail.com' }] }],
      'r1',
      at,
    );
    expect(s.open.map((i) => [i.id, i.kind, i.severity, i.state, i.detail])).toEqual([
      ['block:gmail:mx1', 'block', 'problem', 'blocked', '550 no'],
      ['maillog:mx1', 'maillog_unreadable', 'warning', 'unreadable', 'ssh: timeout'],
    ]);
    expect(s.open[0]).toMatchObject({ source: 'maillog', host: 'mx1', ip: '192.0.2.1', domain: 'gmail.com', provider: 'gmail' });
  });
});
