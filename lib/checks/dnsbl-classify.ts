/**
 * Pure DNSBL verdict logic (../shared/notes/dnsbl.md): an A answer becomes one of four states
 * through the zone's own code table, a lookup error becomes 'error' (never 'not_listed'), and the
 * RFC 5782 self-test answers decide whether a zone can be trusted this run.
 */
import { isIP } from '../net/ip.js';
import type { CodeRule, CodeState, ZoneConfig } from '../config/normalize.js';
import { ipv4ToInt } from '../net/ip.js';
import type { DnsblState } from '../model.js';
import type { DnsErrorKind } from '../net/dns/errors.js';

export interface Verdict {
  state: DnsblState;
  /** Every A record, as answered. */
  codes: string[];
  /** Meaning of each listing code. */
  labels: string[];
  reason?: string;
}

/** The first rule (most specific first) whose network holds `code`. */
export function ruleFor(code: string, rules: readonly CodeRule[]): CodeRule | undefined {
  const n = ipv4ToInt(code);
  return rules.find((r) => {
    const mask = r.bits === 0 ? 0 : (0xffffffff << (32 - r.bits)) >>> 0;
    return ((n & mask) >>> 0) === r.net;
  });
}

const rank: Record<CodeState, number> = { error: 3, unknown: 2, listed: 1, not_listed: 0 };

/**
 * Verdict for the A records of one query. Every record counts: the most cautious state wins
 * (error > unknown > listed > not_listed), so one odd record is never hidden behind a listing.
 * An answer outside 127/8 (a resolver rewriting NXDOMAIN) or a code the table does not know is unknown.
 */
export function classifyAnswer(answers: readonly string[], rules: readonly CodeRule[]): Verdict {
  if (answers.length === 0) return { state: 'not_listed', codes: [], labels: [] };
  let state: CodeState = 'not_listed';
  const labels: string[] = [];
  const why: string[] = [];
  for (const a of answers) {
    let s: CodeState;
    let label: string | undefined;
    if (isIP(a) !== 4 || !a.startsWith('127.')) {
      s = 'unknown';
      why.push(`answer ${a} is outside 127.0.0.0/8 (a resolver rewriting NXDOMAIN?)`);
    } else {
      const rule = ruleFor(a, rules);
      if (!rule) {
        s = 'unknown';
        why.push(`return code ${a} is not in this zone's code table`);
      } else {
        s = rule.state;
        label = rule.label;
        if (s === 'listed') labels.push(label ?? a);
        else if (s === 'error' || s === 'unknown') why.push(label ? `${a}: ${label}` : `return code ${a} means ${s}`);
      }
    }
    if (rank[s] > rank[state]) state = s;
  }
  return {
    state,
    codes: [...answers],
    labels: state === 'listed' ? labels : [],
    ...(why.length && state !== 'listed' && state !== 'not_listed' ? { reason: why.join('; ') } : {}),
  };
}

/** The verdict of most DNSBL answers (NXDOMAIN), one frozen object: 200,000 per run at scale. */
const notListed: Verdict = Object.freeze({ state: 'not_listed' as const, codes: Object.freeze([]) as unknown as string[], labels: Object.freeze([]) as unknown as string[] });

/** Verdict for a lookup that failed: no record = not listed (the shared frozen verdict); anything else = error with its kind. */
export function classifyFailure(kind: DnsErrorKind, message: string): Verdict {
  if (kind === 'NXDOMAIN' || kind === 'NODATA') return notListed;
  return { state: 'error', codes: [], labels: [], reason: message };
}

/** Outcome of one self-test query: the answers, or the lookup failure. */
export type Probe = { answers: string[] } | { kind: DnsErrorKind; message: string };

export interface Health {
  healthy: boolean;
  /** Why the zone is unhealthy. */
  reason?: string;
  /** True when the zone did not answer at all (timeout, SERVFAIL...): its IPs are not queried. */
  unreachable?: boolean;
}

/**
 * RFC 5782 section 5: the positive test point must be listed, the negative one must not. A zone
 * failing either is unhealthy: it lists nothing (a resolver answering NXDOMAIN to all), everything (a
 * dead list turned wildcard), answers error codes (a public resolver, a wrong DQS key), or not at all.
 */
export function selfTestHealth(
  positive: Probe,
  negative: Probe,
  zone: Pick<ZoneConfig, 'codes' | 'kind'>,
  family: 4 | 6,
): Health {
  const fam = family === 6 ? 'IPv6 ' : '';
  const testIp = family === 6 ? '::ffff:127.0.0.2' : '127.0.0.2';
  const negIp = family === 6 ? '::ffff:127.0.0.1' : '127.0.0.1';
  if ('kind' in positive && positive.kind !== 'NXDOMAIN' && positive.kind !== 'NODATA') {
    return { healthy: false, unreachable: true, reason: `${fam}self-test ${testIp} failed: ${positive.message}` };
  }
  if ('kind' in positive) return { healthy: false, reason: `${fam}self-test ${testIp} is not listed: the zone lists nothing (wrong zone or a rewriting resolver)` };
  const pos = classifyAnswer(positive.answers, zone.codes);
  if (pos.state === 'error' || pos.state === 'unknown') {
    return { healthy: false, reason: `${fam}self-test ${testIp} answered ${positive.answers.join(', ')}: ${pos.reason ?? pos.state}` };
  }
  // A reputation scale may place the test point anywhere on its scale; a block or allow list must list it.
  if (pos.state === 'not_listed' && zone.kind !== 'reputation') {
    return { healthy: false, reason: `${fam}self-test ${testIp} answered ${positive.answers.join(', ')}, which this zone's table does not call a listing` };
  }
  if ('kind' in negative) {
    if (negative.kind === 'NXDOMAIN' || negative.kind === 'NODATA') return { healthy: true };
    return { healthy: false, unreachable: true, reason: `${fam}self-test ${negIp} failed: ${negative.message}` };
  }
  // An answer the table calls not listed is fine: a reputation scale rates every address (neutral, good).
  const neg = classifyAnswer(negative.answers, zone.codes);
  if (neg.state === 'not_listed') return { healthy: true };
  if (neg.state === 'error' || neg.state === 'unknown') {
    return { healthy: false, reason: `${fam}self-test ${negIp} answered ${negative.answers.join(', ')}: ${neg.reason ?? neg.state}` };
  }
  return {
    healthy: false,
    reason: `${fam}self-test ${negIp} is listed (${negative.answers.join(', ')}): the zone lists everything`,
  };
}

/** Whether the zone is self-tested at all: off by config, and exempt for score zones (they answer 127.0.0.1 too). */
export function selfTested(zone: Pick<ZoneConfig, 'selfTest' | 'kind'>): boolean {
  return zone.selfTest && zone.kind !== 'score';
}

/** A removal link with the IP filled in: `{ip}` replaced, or appended to a link ending with `=`. */
export function removalLinkFor(link: string | undefined, ip: string): string | undefined {
  if (link === undefined) return undefined;
  if (link.includes('{ip}')) return link.split('{ip}').join(encodeURIComponent(ip));
  if (link.endsWith('=')) return link + encodeURIComponent(ip);
  return link;
}
