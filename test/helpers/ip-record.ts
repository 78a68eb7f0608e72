/** Hand-made `IpRecord`s for tests of the record logic and the store. */
import type { DnsblResult, IpRecord } from '../../lib/model.js';

/** Overrides of a record; `dnsbl` may be given as the zones alone (the check ran and asked them). */
export type RecordOverrides = Omit<Partial<IpRecord>, 'dnsbl'> & { dnsbl?: DnsblResult[] | IpRecord['dnsbl'] };

/** A DNSBL result that asked these zones. */
export function dnsblOf(zones: DnsblResult[], at: string): IpRecord['dnsbl'] {
  return { status: 'ok', at, value: { zones } };
}

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

export function ipRecord(ip: string, at: string, over: RecordOverrides = {}): IpRecord {
  const { dnsbl, ...rest } = over;
  return {
    ip,
    family: ip.includes(':') ? 6 : 4,
    host: 'mx1',
    fqdn: 'mx1.example.com',
    checkedAt: at,
    runId: `run-${at}`,
    dnsbl: Array.isArray(dnsbl) ? dnsblOf(dnsbl, at) : (dnsbl ?? dnsblOf([], at)),
    senderscore: { status: 'ok', at, value: { score: 90 } },
    snds: { status: 'ok', at, value: { data: null, blocked: null } },
    dnsMatch: { status: 'skipped', at, reason: 'off' },
    ...rest,
  };
}
