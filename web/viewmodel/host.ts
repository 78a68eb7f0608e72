/**
 * The host page's view model: per IP its severity, each check plugin's detail lines, the DNSBL zones
 * with their own judgement, and the history chart. Pure.
 */
import { zoneRows } from '../../lib/checks/dnsbl.js';
import { resultOf, type AnyPlugin } from '../../lib/checks/index.js';
import type { Config, HostConfig } from '../../lib/config/normalize.js';
import type { HistoryPoint } from '../../lib/model.js';
import { severityRules } from '../../lib/severity.js';
import type { HostPageModel } from '../../views/host.js';
import { hostIps, type Snapshot } from '../data.js';
import { historyModel } from './graphs.js';
import { maillogNotReadReason } from './maillog-off.js';
import { rowSeverityOf } from './severity.js';

export function buildHostPage(
  config: Config,
  snap: Snapshot,
  host: HostConfig,
  history: ReadonlyMap<string, HistoryPoint[]>,
  now: Date,
  plugins: readonly AnyPlugin[],
): HostPageModel {
  const rules = severityRules(config);
  const record = snap.hosts.get(host.name);
  return {
    host,
    record,
    blocks: snap.blocks.get(host.name),
    maillogNotRead: maillogNotReadReason(config, host),
    historyDays: config.retention.historyDays,
    ips: hostIps(config, host.name, record).map((ip) => {
      const rec = snap.ips.get(ip);
      return {
        ip,
        severity: rowSeverityOf(snap, host.name, ip, now, rules, plugins),
        history: historyModel(ip, history.get(ip) ?? []),
        details: plugins.flatMap((p) => p.detail(resultOf(rec, p))),
        zones: zoneRows(rec?.dnsbl),
      };
    }),
  };
}
