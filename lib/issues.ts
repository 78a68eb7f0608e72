/**
 * Issues are what a user can acknowledge: a DNSBL listing of an IP, or a provider block on a host.
 * Their ids are built here only; the collector drops acknowledgements whose issue has gone and the
 * dashboard accepts an acknowledgement only for an id this module derives from current data.
 */
import type { BlocksRecord, IpRecord } from './model.js';

export interface Issue {
  id: string;
  kind: 'rbl' | 'block';
  /** Host name (mta_map key). */
  host: string;
  /** Zone or provider. */
  name: string;
  ip?: string;
}

export function rblIssueId(zone: string, ip: string): string {
  return `rbl:${zone}:${ip}`;
}

export function blockIssueId(provider: string, host: string): string {
  return `block:${provider}:${host}`;
}

/** Every issue present in the given current data. Allow-list "listings" are good news, not issues. */
export function currentIssues(ips: readonly IpRecord[], blocks: readonly BlocksRecord[]): Issue[] {
  const out: Issue[] = [];
  for (const rec of ips) {
    // Only this run's verdicts: a DNSBL check that failed as a whole lists nothing new.
    for (const r of rec.dnsbl?.value?.zones ?? []) {
      if (r.state === 'listed' && r.kind !== 'allow') {
        out.push({ id: rblIssueId(r.zone, rec.ip), kind: 'rbl', host: rec.host, name: r.zone, ip: rec.ip });
      }
    }
  }
  for (const b of blocks) {
    for (const blk of b.blocks) {
      out.push({
        id: blockIssueId(blk.provider, b.host),
        kind: 'block',
        host: b.host,
        name: blk.provider,
        ...(blk.ip !== undefined ? { ip: blk.ip } : {}),
      });
    }
  }
  return out;
}

export interface Ack {
  user: string;
  /** As stored: YYYY-MM-DD HH:MM:SS (UTC). */
  at: string;
}

/** The original mtarep's acknowledgement value: "<user> <YYYY-MM-DD HH:MM:SS>". */
export function formatAck(user: string, when: Date): string {
  return `${user} ${when.toISOString().slice(0, 19).replace('T', ' ')}`;
}

export function parseAck(value: string): Ack {
  const m = /^(.*) (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})$/.exec(value);
  return m ? { user: m[1]!, at: m[2]! } : { user: value, at: '' };
}
