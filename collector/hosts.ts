/**
 * Turns `mta_map` hosts into the IPs the checks look at: the IPs given in config, else every A and
 * AAAA address of the FQDN. A host whose name does not resolve is kept, as a record with the error,
 * never dropped. The same IP under two hosts is checked once (the first host owns the target).
 */
import type { HostConfig } from '../lib/config/normalize.js';
import type { HostRecord } from '../lib/model.js';
import type { Target } from '../lib/checks/types.js';
import { DnsLookupError, type DnsClient } from '../lib/net/dns/client.js';
import { ipFamily, normalizeIp } from '../lib/net/dns/names.js';

type Lookup = { ips: string[] } | { error: DnsLookupError };

async function lookup(fn: () => Promise<string[]>): Promise<Lookup> {
  try {
    return { ips: await fn() };
  } catch (e) {
    return { error: e instanceof DnsLookupError ? e : new DnsLookupError('OTHER', (e as Error).message, { cause: e }) };
  }
}

/** Starts the reason of a host that resolved, although the lookup of one address family failed. */
export const partialPrefix = 'partial: ';

const noRecord = (l: Lookup) => 'error' in l && (l.error.kind === 'NXDOMAIN' || l.error.kind === 'NODATA');

/** What one host resolved to. `failed`: the families whose lookup failed (not "no such record"). */
interface Resolved {
  ips: string[];
  status: 'ok' | 'error';
  reason?: string;
  failed: (4 | 6)[];
}

/** Resolve one host's FQDN to A + AAAA; decide its status. */
async function resolveOne(host: HostConfig, dns: DnsClient): Promise<Resolved> {
  const [a, aaaa] = await Promise.all([lookup(() => dns.resolve4(host.fqdn)), lookup(() => dns.resolve6(host.fqdn))]);
  const ips = [...('ips' in a ? a.ips : []), ...('ips' in aaaa ? aaaa.ips : [])];
  const failedA = 'error' in a && !noRecord(a);
  const failedAaaa = 'error' in aaaa && !noRecord(aaaa);
  const failed: (4 | 6)[] = [...(failedA ? [4 as const] : []), ...(failedAaaa ? [6 as const] : [])];
  const why = [...(failedA ? [`A: ${a.error.message}`] : []), ...(failedAaaa ? [`AAAA: ${aaaa.error.message}`] : [])];
  if (ips.length === 0) {
    const reason = why.length ? why.join('; ') : `${host.fqdn} has no A or AAAA record (${'error' in a ? a.error.kind : 'NODATA'})`;
    return { ips, status: 'error', reason, failed };
  }
  // Addresses found, but one family could not be looked up: usable, with the reason kept.
  return { ips, status: 'ok', failed, ...(why.length ? { reason: `${partialPrefix}${why.join('; ')}` } : {}) };
}

/**
 * One HostRecord per host (in config order) and one Target per distinct IP. `runId` is stamped on
 * the records (the run may also set it itself). `failed` names, per host, the address families whose
 * lookup failed (timeout, SERVFAIL...): the host may have addresses of that family that this run
 * cannot see.
 */
export async function resolveHosts(
  hosts: HostConfig[],
  dns: DnsClient,
  now: () => Date,
  runId = '',
): Promise<{ records: HostRecord[]; targets: Target[]; failed: Map<string, (4 | 6)[]> }> {
  const resolved = await Promise.all(
    hosts.map(async (host) => {
      if (host.ips && host.ips.length > 0) return { host, ips: host.ips, status: 'config' as const, failed: [] };
      return { host, ...(await resolveOne(host, dns)) };
    }),
  );
  const failed = new Map<string, (4 | 6)[]>();
  for (const r of resolved) if (r.failed.length) failed.set(r.host.name, r.failed);
  const at = now().toISOString();
  const records: HostRecord[] = [];
  const targets: Target[] = [];
  const seen = new Set<string>();
  for (const r of resolved) {
    const ips = [...new Set(r.ips.map(normalizeIp))];
    records.push({
      name: r.host.name,
      fqdn: r.host.fqdn,
      ips,
      resolve: { status: r.status, at, ...('reason' in r && r.reason !== undefined ? { reason: r.reason } : {}) },
      checkedAt: at,
      runId,
    });
    for (const ip of ips) {
      if (seen.has(ip)) continue;
      seen.add(ip);
      targets.push({ ip, family: ipFamily(ip), host: r.host });
    }
  }
  return { records, targets, failed };
}
