/**
 * JSON API view models. Each host keeps the original mtarep's flat string keys (`hostname,
 * senderscore, sndscolor, sndstraps, brightmail, provblocks, listings` with "unlisted", "no blocks",
 * "no score", "no data") for its first IP, so existing scripts keep working, plus `ips[]` with the
 * same keys per IP and the structured check results (state, reasons, codes, times) as stored.
 * A failed check reads "error" and "unknown" where the original would have said something clean.
 */
import type { Config, HostConfig } from '../../lib/config/normalize.js';
import { dnsblPlugin, dnsblZones } from '../../lib/checks/dnsbl.js';
import { checkPlugins, resultOf, type AnyPlugin } from '../../lib/checks/index.js';
import type { BlocksRecord, CheckResult, DnsblResult, DnsblValue, IpRecord } from '../../lib/model.js';
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

/** The original's keys, in the original's order; a check added later adds its own after them. */
const originalOrder = ['hostname', 'senderscore', 'sndscolor', 'sndstraps', 'brightmail', 'provblocks', 'listings'] as const;

/** The original's strings for one IP (or for a host without IPs when `rec` is undefined): each plugin gives its keys. */
export function originalKeys(
  fqdn: string,
  rec: IpRecord | undefined,
  blocks: BlocksRecord | undefined,
  ip: string | null,
  plugins: readonly AnyPlugin[] = checkPlugins,
): OriginalKeys & Record<string, string> {
  const relevant = blocksFor(blocks, ip);
  let provblocks = 'no data';
  if (relevant.length > 0) provblocks = relevant.map((b) => b.provider).join(', ');
  else if (blocks?.status === 'ok') provblocks = 'no blocks';
  else if (blocks?.status === 'error') provblocks = 'error';
  const fields: Record<string, string> = { hostname: fqdn, provblocks };
  for (const p of plugins) Object.assign(fields, p.api(rec === undefined ? undefined : resultOf(rec, p)));
  const out: Record<string, string> = {};
  for (const key of originalOrder) out[key] = fields[key] ?? 'no data';
  for (const [key, v] of Object.entries(fields)) if (!(key in out)) out[key] = v;
  return out as OriginalKeys & Record<string, string>;
}

export interface ApiIp extends OriginalKeys {
  ip: string;
  family: 4 | 6 | null;
  checkedAt: string | null;
  severity: Severity;
  /** Each check's stored result by check name (DNSBL: its zones under `value.zones`). */
  checks: Record<string, CheckResult<unknown>> | null;
}

export interface ApiHost extends OriginalKeys {
  host: string;
  severity: Severity['level'];
  resolve: { status: string; reason?: string; at: string } | null;
  ips: ApiIp[];
  blocks: BlocksRecord | null;
  acks: Record<string, { user: string; at: string }>;
}

function checksOf(rec: IpRecord, plugins: readonly AnyPlugin[]): Record<string, CheckResult<unknown>> {
  const out: Record<string, CheckResult<unknown>> = {};
  for (const p of plugins) {
    const r = resultOf(rec, p);
    if (r === undefined) continue;
    // The pages' link filter (web/links.ts): a stored removal link that is not http(s) is left out.
    out[p.name] = p === dnsblPlugin ? apiDnsblResult(r as CheckResult<DnsblValue>) : r;
  }
  return out;
}

export function apiHost(config: Config, snap: Snapshot, h: HostConfig, now: Date, plugins: readonly AnyPlugin[] = checkPlugins): ApiHost {
  const rules = severityRules(config);
  const hostRec = snap.hosts.get(h.name);
  const blocks = snap.blocks.get(h.name);
  const ips = hostIps(config, h.name, hostRec).map((ip): ApiIp => {
    const rec = snap.ips.get(ip);
    const severity = rowSeverityOf(snap, h.name, ip, now, rules, plugins);
    return {
      ip,
      family: rec?.family ?? null,
      checkedAt: rec?.checkedAt ?? null,
      ...originalKeys(h.fqdn, rec, blocks, ip, plugins),
      severity,
      checks: rec ? checksOf(rec, plugins) : null,
    };
  });
  const first = ips.find((i) => i.family === 4) ?? ips[0];
  const top = first ? originalKeys(h.fqdn, snap.ips.get(first.ip), blocks, first.ip, plugins) : originalKeys(h.fqdn, undefined, blocks, null, plugins);
  // As the overview: a host without an address is one row, judged with all its blocks.
  const hostSeverity = ips.length === 0 ? rowSeverityOf(snap, h.name, null, now, rules, plugins).level : ips.reduce<Severity['level']>((a, i) => worse(a, i.severity.level), 'ok');
  const acks: ApiHost['acks'] = {};
  // The ids this host's issues can have, built as lib/issues.ts builds them (a suffix match would
  // hand one host another's acknowledgements: `2001:db8::1` ends with `:db8::1`).
  const ids = [
    ...ips.flatMap((i) => dnsblZones(snap.ips.get(i.ip)).map((d) => rblIssueId(d.zone, i.ip))),
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

function apiDnsblResult(r: CheckResult<DnsblValue>): CheckResult<DnsblValue> {
  const zones = (v: DnsblValue): DnsblValue => ({ ...v, zones: v.zones.map(apiDnsbl) });
  return {
    ...r,
    ...(r.value !== undefined ? { value: zones(r.value) } : {}),
    ...(r.stale !== undefined ? { stale: { ...r.stale, value: zones(r.stale.value) } } : {}),
  };
}

/** The configured host an API path names: by public FQDN or by mta_map name, case-insensitive. */
export function findHost(config: Config, name: string): HostConfig | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  return config.hosts.find((h) => h.fqdn.toLowerCase() === n) ?? config.hosts.find((h) => h.name.toLowerCase() === n);
}
