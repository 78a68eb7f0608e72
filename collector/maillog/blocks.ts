/**
 * Provider blocks: find lines matching the configured `provider_block_strings` in a chunk of log text
 * fast (one combined scan over the text instead of every regex on every line), and turn the newest
 * match per provider into the `ProviderBlock` records the dashboard shows, merged with the previous
 * record and limited to the window.
 */
import type { ProviderBlockRule } from '../../lib/config/normalize.js';
import type { ProviderBlock } from '../../lib/model.js';
import { boundedRegExp } from '../../lib/regex-safety.js';
import { fromLatin1 } from './parse.js';

/** Longest line kept in a block record (the full line stays in the maillog). */
export const maxStoredLine = 4096;
/** Patterns are tested on at most this much of a line: a remote server writes the text, and a
 * pattern's time grows with it (SMTP replies are far shorter; only a crafted line is cut). */
export const maxTestedLine = 4096;
/** A line whose test takes longer than this is reported, with the pattern at fault. */
export const slowLineMs = 50;

/** A pattern that was slow on some lines: named in the run's notes so the user can fix it. */
export interface SlowPattern {
  provider: string;
  source: string;
  /** Slowest single line, ms. */
  ms: number;
  lines: number;
}

export interface BlockMatcher {
  rules: readonly ProviderBlockRule[];
  /** Providers whose pattern matches a line (usually none: one combined test rules that out). */
  match(line: string): string[];
  /** Patterns that took longer than `slowLineMs` on a line so far. */
  slow(): SlowPattern[];
}

/**
 * Combine the rules into as few prefilter regexes as possible: one alternation per flag set, except
 * patterns with back-references or named groups (numbering would shift), which stay on their own.
 * A line that passes a prefilter is confirmed with each provider's own pattern.
 */
export function blockMatcher(input: readonly ProviderBlockRule[], opts: { slowLineMs?: number } = {}): BlockMatcher {
  const slowAfter = opts.slowLineMs ?? slowLineMs;
  // Every pattern is compiled here, bounded (lib/regex-safety.ts): config load refused the shapes
  // that backtrack catastrophically, and V8 falls back to its linear-time engine for anything else
  // that backtracks too much.
  const rules = input.map((r) => ({ provider: r.provider, pattern: boundedRegExp(r.pattern.source, r.pattern.flags.replace(/[gy]/g, '')) }));
  const groups = new Map<string, string[]>();
  const prefilters: RegExp[] = [];
  for (const r of rules) {
    const flags = r.pattern.flags;
    if (/\\[1-9]|\\k<|\(\?</.test(r.pattern.source)) {
      prefilters.push(r.pattern);
      continue;
    }
    const list = groups.get(flags) ?? [];
    list.push(`(?:${r.pattern.source})`);
    groups.set(flags, list);
  }
  for (const [flags, list] of groups) prefilters.push(boundedRegExp(list.join('|'), flags));
  const slow = new Map<string, SlowPattern>();
  // The slowest pattern on a slow line is the one at fault (timed again one by one: rare).
  const blame = (text: string) => {
    let worst: { provider: string; source: string; ms: number } | null = null;
    for (const r of rules) {
      const t = performance.now();
      r.pattern.test(text);
      const ms = performance.now() - t;
      if (!worst || ms > worst.ms) worst = { provider: r.provider, source: r.pattern.source, ms };
    }
    if (!worst) return;
    const cur = slow.get(worst.provider);
    if (cur) {
      cur.lines++;
      cur.ms = Math.max(cur.ms, worst.ms);
    } else {
      slow.set(worst.provider, { ...worst, lines: 1 });
    }
  };
  const match = (line: string): string[] => {
    const text = line.length > maxTestedLine ? line.slice(0, maxTestedLine) : line;
    const t = performance.now();
    const hit = prefilters.some((re) => re.test(text));
    if (performance.now() - t >= slowAfter) blame(text);
    if (!hit) return [];
    return rules.filter((r) => r.pattern.test(text)).map((r) => r.provider);
  };
  return { rules, match, slow: () => [...slow.values()] };
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
