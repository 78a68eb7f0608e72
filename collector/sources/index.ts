/**
 * Every source, in the order a run reports them. Adding a source: one module exporting a `Source`
 * (sources/types.ts) plus one entry here and one in lib/source-names.ts (the one list of names, same
 * order); its interval is `sources.<name>.interval` (default `collect_interval`), its lock and
 * summary come with it.
 */
import { espSource } from './esp.js';
import { maillogSource } from './maillog.js';
import { probesSource } from './probes.js';
import { reputationSource } from './reputation.js';
import type { Config } from '../../lib/config/normalize.js';
import type { Source } from './types.js';

export const sources: readonly Source[] = [reputationSource, maillogSource, probesSource, espSource];

export const sourceNames = (): string[] => sources.map((s) => s.name);

/** The sources named (all when `only` is empty or absent). Throws naming an unknown one. */
export function selectSources(only?: readonly string[], list: readonly Source[] = sources): Source[] {
  if (!only || only.length === 0) return [...list];
  const unknown = only.filter((n) => !list.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown source ${unknown.map((n) => `'${n}'`).join(', ')}: the sources are ${list.map((s) => s.name).join(', ')}`);
  return list.filter((s) => only.includes(s.name));
}

/** IPs per shard job of the reputation source when workers share a run (`sources.reputation.shard_size`). */
export const defaultShardSize = 500;

/** A source's interval in seconds: `sources.<name>.interval`, else `probes.interval` for probes, else `collect_interval`. */
export function intervalOf(config: Config, name: string): number {
  return config.sources[name]?.interval ?? (name === 'probes' ? config.probes?.interval : undefined) ?? config.collectInterval;
}
