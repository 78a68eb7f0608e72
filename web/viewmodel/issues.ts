/**
 * Issue view models: what an issue modal shows for a DNSBL listing or a provider block. Pure.
 * Which issues exist comes from lib/issues.ts (`currentIssues`), the same function that decides
 * whether an acknowledgement is accepted.
 */
import type { Config } from '../../lib/config/normalize.js';
import { currentIssues, type Ack, type Issue } from '../../lib/issues.js';
import type { BlocksRecord, IpRecord } from '../../lib/model.js';
import { configLink, safeUrl, fillIp } from '../links.js';
import { dnsblZones } from '../../lib/checks/dnsbl.js';
import type { IssueView } from '../../views/issue.js';

export type { IssueView };


function removalFor(config: Config, zone: string, ip: string | undefined, fromCollector: string | undefined): string | null {
  const collected = safeUrl(fromCollector);
  if (collected) return collected;
  const zc = config.zones.find((z) => z.zone === zone);
  if (zc?.removalLink) return safeUrl(fillIp(zc.removalLink, ip));
  return configLink(config.removalLinks, zone, ip);
}

/** One view per current issue, in the order of `currentIssues`. */
export function buildIssueViews(
  config: Config,
  ips: readonly IpRecord[],
  blocks: readonly BlocksRecord[],
  acks: ReadonlyMap<string, Ack>,
): IssueView[] {
  const fqdnOf = new Map(config.hosts.map((h) => [h.name, h.fqdn]));
  const byIp = new Map(ips.map((r) => [r.ip, r]));
  const blocksByHost = new Map(blocks.map((b) => [b.host, b]));
  return currentIssues(ips, blocks).map((issue, i) => {
    const base = {
      id: issue.id,
      domId: `issue-${i}`,
      kind: issue.kind,
      name: issue.name,
      host: issue.host,
      fqdn: fqdnOf.get(issue.host) ?? issue.host,
      ...(issue.ip !== undefined ? { ip: issue.ip } : {}),
      assistanceLink: configLink(config.assistanceLinks, issue.name, issue.ip),
      ...(acks.has(issue.id) ? { ack: acks.get(issue.id)! } : {}),
    };
    if (issue.kind === 'rbl') {
      const r = dnsblZones(byIp.get(issue.ip!)).find((d) => d.zone === issue.name);
      const advice = config.zones.find((z) => z.zone === issue.name)?.advice;
      return {
        ...base,
        codes: r?.codes ?? [],
        labels: r?.labels ?? [],
        ...(r?.txt !== undefined ? { txt: r.txt } : {}),
        removalLink: removalFor(config, issue.name, issue.ip, r?.removalLink),
        ...(advice !== undefined ? { advice } : {}),
      };
    }
    const blk = blocksByHost.get(issue.host)?.blocks.find((b) => b.provider === issue.name);
    return {
      ...base,
      codes: [],
      labels: [],
      ...(blk ? { line: blk.line, lineAt: blk.at } : {}),
      ...(blk?.recipientDomain !== undefined ? { recipientDomain: blk.recipientDomain } : {}),
      removalLink: configLink(config.removalLinks, issue.name, issue.ip),
    };
  });
}
