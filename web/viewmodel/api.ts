/**
 * JSON API view models. Each host keeps the original mtarep's flat string keys (`hostname,
 * senderscore, sndscolor, sndstraps, brightmail, provblocks, listings` with "unlisted", "no blocks",
 * "no score", "no data") for its first IP, so existing scripts keep working, plus `ips[]` with the
 * same keys per IP and the structured check results (state, reasons, codes, times) as stored.
 * A failed check reads "error" and "unknown" where the original would have said something clean.
 */
import type { Config, HostConfig } from '../../lib/config/normalize.js';
import type { BlocksRecord, CheckResult, DnsblResult, IpRecord } from '../../lib/model.js';
import { safeUrl } from '../links.js';
import { blockIssueId, rblIssueId } from '../../lib/issues.js';
import { severityRules, worse, type Severity } from '../../lib/severity.js';
import { hostIps, type Snapshot } from '../data.js';
import { blocksFor, rowSeverityOf } from './severity.js';

export interface OriginalKeys {
  hostname: string;
  senderscore: string;
  sndscolor: string;
  sndstraps: string;
  brightmail: string;
  provblocks: string;
  listings: string;
}

function fromCheck<T>(r: CheckResult<T> | undefined, show: (v: T) => string): string {
  if (r === undefined || r.status === 'skipped') return 'no data';
  if (r.status === 'error' || r.value === undefined) return 'error';
  return show(r.value);
}

/** The original's strings for one IP (or for a host without IPs when `rec` is undefined). */
export function originalKeys(fqdn: string, rec: IpRecord | undefined, blocks: BlocksRecord | undefined, ip: string | null): OriginalKeys {
  const relevant = blocksFor(blocks, ip);
  let listings = 'no data';
  if (rec) {
    const listed = rec.dnsbl.filter((d) => d.state === 'listed' && d.kind !== 'allow').map((d) => d.zone);
    const unsure = rec.dnsbl.some((d) => d.state === 'error' || d.state === 'unknown' || d.unhealthy !== undefined);
    listings = listed.length > 0 ? listed.join(', ') : unsure ? 'unknown' : 'unlisted';
  }
  let provblocks = 'no data';
  if (relevant.length > 0) provblocks = relevant.map((b) => b.provider).join(', ');
  else if (blocks?.status === 'ok') provblocks = 'no blocks';
  else if (blocks?.status === 'error') provblocks = 'error';
  return {
    hostname: fqdn,
    senderscore: fromCheck(rec?.senderscore, (v) => (v.score === null ? 'no score' : String(v.score))),
    sndscolor: fromCheck(rec?.snds, (v) => (v.blocked?.blocked ? 'blocked' : (v.data?.color ?? 'no data'))),
    sndstraps: fromCheck(rec?.snds, (v) => (v.data ? String(v.data.traps) : 'no data')),
    brightmail: fromCheck(rec?.httpReputation, (v) => v.verdict),
    provblocks,
    listings,
  };
}

export interface ApiIp extends OriginalKeys {
  ip: string;
  family: 4 | 6 | null;
  checkedAt: string | null;
  severity: Severity;
  checks: Pick<IpRecord, 'dnsbl' | 'senderscore' | 'snds' | 'dnsMatch' | 'httpReputation'> | null;
}

export interface ApiHost extends OriginalKeys {
  host: string;
  severity: Severity['level'];
  resolve: { status: string; reason?: string; at: string } | null;
  ips: ApiIp[];
  blocks: BlocksRecord | null;
  acks: Record<string, { user: string; at: string }>;
}

export function apiHost(config: Config, snap: Snapshot, h: HostConfig, now: Date): ApiHost {
  const rules = severityRules(config);
  const hostRec = snap.hosts.get(h.name);
  const blocks = snap.blocks.get(h.name);
  const ips = hostIps(config, h.name, hostRec).map((ip): ApiIp => {
    const rec = snap.ips.get(ip);
    const severity = rowSeverityOf(snap, h.name, ip, now, rules);
    return {
      ip,
      family: rec?.family ?? null,
      checkedAt: rec?.checkedAt ?? null,
      ...originalKeys(h.fqdn, rec, blocks, ip),
      severity,
      checks: rec
        ? {
            // The pages' link filter (web/links.ts): a stored link that is not http(s) is left out.
            dnsbl: rec.dnsbl.map(apiDnsbl),
            senderscore: rec.senderscore,
            snds: rec.snds,
            dnsMatch: rec.dnsMatch,
            ...(rec.httpReputation ? { httpReputation: rec.httpReputation } : {}),
          }
        : null,
    };
  });
  const first = ips.find((i) => i.family === 4) ?? ips[0];
  const top = first ? originalKeys(h.fqdn, snap.ips.get(first.ip), blocks, first.ip) : originalKeys(h.fqdn, undefined, blocks, null);
  // As the overview: a host without an address is one row, judged with all its blocks.
  const hostSeverity = ips.length === 0 ? rowSeverityOf(snap, h.name, null, now, rules).level : ips.reduce<Severity['level']>((a, i) => worse(a, i.severity.level), 'ok');
  const acks: ApiHost['acks'] = {};
  // The ids this host's issues can have, built as lib/issues.ts builds them (a suffix match would
  // hand one host another's acknowledgements: `2001:db8::1` ends with `:db8::1`).
  const ids = [
    ...ips.flatMap((i) => (snap.ips.get(i.ip)?.dnsbl ?? []).map((d) => rblIssueId(d.zone, i.ip))),
    ...(blocks?.blocks ?? []).map((b) => blockIssueId(b.provider, h.name)),
  ];
  for (const id of ids) {
    const a = snap.acks.get(id);
    if (a) acks[id] = a;
  }
  return {
    ...top,
    host: h.name,
    severity: hostSeverity,
    resolve: hostRec?.resolve ?? null,
    ips,
    blocks: blocks ?? null,
    acks,
  };
}

/** A DNSBL result as the API gives it: as stored, but a removal link only when it passes the allow-list. */
function apiDnsbl(d: DnsblResult): DnsblResult {
  if (d.removalLink === undefined) return d;
  const { removalLink, ...rest } = d;
  const safe = safeUrl(removalLink);
  return safe === null ? rest : { ...rest, removalLink: safe };
}

/** The configured host an API path names: by public FQDN or by mta_map name, case-insensitive. */
export function findHost(config: Config, name: string): HostConfig | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  return config.hosts.find((h) => h.fqdn.toLowerCase() === n) ?? config.hosts.find((h) => h.name.toLowerCase() === n);
}
