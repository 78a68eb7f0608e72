/** Hand-made `IpRecord`s for tests of the record logic and the store. */
import type { DnsblResult, IpRecord } from '../../lib/model.js';

export function zoneResult(z: string, state: DnsblResult['state'], at: string, extra: Partial<DnsblResult> = {}): DnsblResult {
  return {
    zone: z,
    kind: 'block',
    state,
    critical: false,
    codes: state === 'listed' ? ['127.0.0.2'] : [],
    labels: state === 'listed' ? ['SBL'] : [],
    at,
    ...extra,
  };
}

export function ipRecord(ip: string, at: string, over: Partial<IpRecord> = {}): IpRecord {
  return {
    ip,
    family: ip.includes(':') ? 6 : 4,
    host: 'mx1',
    fqdn: 'mx1.example.com',
    checkedAt: at,
    runId: `run-${at}`,
    dnsbl: [],
    senderscore: { status: 'ok', at, value: { score: 90 } },
    snds: { status: 'ok', at, value: { data: null, blocked: null } },
    dnsMatch: { status: 'skipped', at, reason: 'off' },
    ...over,
  };
}
