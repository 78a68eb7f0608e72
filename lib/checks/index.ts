/**
 * Every per-IP check, in display order: a plain array (style note 2). The collector's run, records and
 * summary, the severity, the open issues, the overview, the host page, the API, /metrics and the
 * Influx output iterate over it. A new check: one file here (its CheckPlugin) + one line in this list.
 */
import type { CheckResult, IpRecord } from '../model.js';
import { ipRecordFields } from '../model.js';
import { dnsblPlugin } from './dnsbl.js';
import { dnsMatchPlugin } from './dns-match.js';
import { httpReputationPlugin } from './http-reputation.js';
import { senderscorePlugin } from './senderscore.js';
import { sndsPlugin } from './snds.js';
import type { AnyPlugin, CheckPlugin } from './types.js';

export type { AnyPlugin, CheckPlugin } from './types.js';

export const checkPlugins: readonly AnyPlugin[] = [dnsblPlugin, senderscorePlugin, sndsPlugin, dnsMatchPlugin, httpReputationPlugin];

/** A plugin's result in a record (undefined: not stored, e.g. a check added since the record was written). */
export function resultOf<V>(rec: IpRecord | undefined, plugin: CheckPlugin<V>): CheckResult<V> | undefined {
  return rec?.[plugin.name] as CheckResult<V> | undefined;
}

/** Throws when two plugins share a name or a plugin's name is a record field: a programming error. */
export function assertPluginList(list: readonly AnyPlugin[]): void {
  const seen = new Set<string>(ipRecordFields);
  for (const p of list) {
    if (seen.has(p.name)) throw new Error(`check plugin name ${p.name} is taken`);
    seen.add(p.name);
  }
}
assertPluginList(checkPlugins);
