/**
 * Provider blocks: find lines matching the configured `provider_block_strings` in a chunk of log text
 * fast (one combined scan over the text instead of every regex on every line), and turn the newest
 * match per provider into the `ProviderBlock` records the dashboard shows, merged with the previous
 * record and limited to the window.
 */
import type { ProviderBlockRule } from '../../lib/config/normalize.js';
import type { ProviderBlock } from '../../lib/model.js';
import { fromLatin1 } from './parse.js';

/** Longest line kept in a block record (the full line stays in the maillog). */
export const maxStoredLine = 4096;

export interface BlockMatcher {
  rules: readonly ProviderBlockRule[];
  /** Providers whose pattern matches a line (usually none: one combined test rules that out). */
  match(line: string): string[];
}

/**
 * Combine the rules into as few prefilter regexes as possible: one alternation per flag set, except
 * patterns with back-references or named groups (numbering would shift), which stay on their own.
 * A line that passes a prefilter is confirmed with each provider's own pattern.
 */
export function blockMatcher(rules: readonly ProviderBlockRule[]): BlockMatcher {
  const groups = new Map<string, string[]>();
  const prefilters: RegExp[] = [];
  for (const r of rules) {
    const flags = r.pattern.flags.replace(/[gy]/g, '');
    if (/\\[1-9]|\\k<|\(\?</.test(r.pattern.source)) {
      prefilters.push(new RegExp(r.pattern.source, flags));
      continue;
    }
    const list = groups.get(flags) ?? [];
    list.push(`(?:${r.pattern.source})`);
    groups.set(flags, list);
  }
  for (const [flags, list] of groups) prefilters.push(new RegExp(list.join('|'), flags));
  const match = (line: string): string[] => {
    if (!prefilters.some((re) => re.test(line))) return [];
    return rules.filter((r) => r.pattern.test(line)).map((r) => r.provider);
  };
  return { rules, match };
}

/** Whether `line` names `ip` as a whole address (not as part of a longer one). */
export function namesIp(line: string, ip: string): boolean {
  const lower = line.toLowerCase();
  const needle = ip.toLowerCase();
  let i = lower.indexOf(needle);
  while (i >= 0) {
    const before = lower[i - 1] ?? ' ';
    const after = lower[i + needle.length] ?? ' ';
    if (!/[0-9a-f.:]/.test(before) && !/[0-9a-f.:]/.test(after)) return true;
    i = lower.indexOf(needle, i + 1);
  }
  return false;
}

/** Build the stored block for a matched line: text as UTF-8, recipient domain and the MTA IP named. */
export function toBlock(provider: string, latin1Line: string, ms: number, hostIps: readonly string[]): ProviderBlock {
  let line = fromLatin1(latin1Line);
  if (line.length > maxStoredLine) line = line.slice(0, maxStoredLine) + ' [...]';
  const b: ProviderBlock = { provider, line, at: new Date(ms).toISOString() };
  const ip = hostIps.find((x) => namesIp(latin1Line, x));
  if (ip !== undefined) b.ip = ip;
  const to = /\bto=<[^>]*@([^>@\s]+)>/.exec(line);
  if (to) b.recipientDomain = to[1]!.toLowerCase();
  return b;
}

/**
 * The blocks to store: per configured provider, the newer of the previous record's block and this
 * read's, kept only while inside the window.
 */
export function mergeBlocks(
  previous: readonly ProviderBlock[],
  fresh: readonly ProviderBlock[],
  providers: readonly string[],
  nowMs: number,
  windowSec: number,
): ProviderBlock[] {
  const best = new Map<string, ProviderBlock>();
  for (const b of [...previous, ...fresh]) {
    const cur = best.get(b.provider);
    if (!cur || Date.parse(b.at) >= Date.parse(cur.at)) best.set(b.provider, b);
  }
  const from = nowMs - windowSec * 1000;
  return providers
    .map((p) => best.get(p))
    .filter((b): b is ProviderBlock => b !== undefined && Date.parse(b.at) >= from && Date.parse(b.at) <= nowMs + 86_400_000);
}
