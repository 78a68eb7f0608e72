/**
 * Per-zone defaults: kind, IPv6 support, whether a listing is critical, and the return-code table.
 * One global "any 127.x is a listing" scheme is the classic DNSBL-monitor bug (Spamhaus error codes
 * shown as listings); each zone gets its own table here, and mtarep.yml can override any entry.
 * Facts: ../shared/notes/dnsbl.md.
 */
import type { CodeMeaning } from './schema.js';

export type ZoneKind = 'block' | 'allow' | 'reputation' | 'score';

export interface ZoneDefaults {
  kind: ZoneKind;
  ipv6: boolean;
  /** Return code or CIDR -> meaning. Merged under the user's `codes`. */
  codes: Record<string, CodeMeaning>;
  /** Only for zones that list domains, never IPs (a query would be wrong). */
  domainOnly?: boolean;
  /** Text shown in the issue modal. */
  advice?: string;
  removalLink?: string;
}

const spamhausErrors: Record<string, CodeMeaning> = {
  '127.255.255.252': { state: 'error', label: 'typo in the zone name, or DQS key used under the wrong domain' },
  '127.255.255.254': { state: 'error', label: 'query came through a public or open resolver' },
  '127.255.255.255': { state: 'error', label: 'too many queries (rate limited)' },
};

const spamhausZen: Record<string, CodeMeaning> = {
  '127.0.0.2': 'SBL',
  '127.0.0.3': 'CSS',
  '127.0.0.4': 'XBL',
  '127.0.0.5': 'XBL',
  '127.0.0.6': 'XBL',
  '127.0.0.7': 'XBL',
  '127.0.0.9': 'DROP',
  '127.0.0.10': 'PBL (ISP maintained)',
  '127.0.0.11': 'PBL (Spamhaus maintained)',
  '127.0.0.20': 'AuthBL',
  '127.0.0.30': 'BCL',
  ...spamhausErrors,
};

const simple: Record<string, CodeMeaning> = { '127.0.0.2': 'listed' };

/** Tables keyed by zone name. Lookups match the zone exactly, then by suffix (for DQS and mirrors). */
const known: Record<string, Partial<ZoneDefaults>> = {
  'zen.spamhaus.org': {
    kind: 'block',
    ipv6: true,
    codes: spamhausZen,
    advice: 'Spamhaus: look the IP up on the Spamhaus site; each listing code (SBL, CSS, XBL, PBL) has its own removal path.',
  },
  'sbl.spamhaus.org': { kind: 'block', ipv6: true, codes: spamhausZen },
  'xbl.spamhaus.org': { kind: 'block', ipv6: true, codes: spamhausZen },
  'pbl.spamhaus.org': { kind: 'block', ipv6: true, codes: spamhausZen },
  'sbl-xbl.spamhaus.org': { kind: 'block', ipv6: true, codes: spamhausZen },
  'dbl.spamhaus.org': { kind: 'block', domainOnly: true, codes: spamhausErrors },
  'bl.spamcop.net': {
    kind: 'block',
    codes: simple,
    advice: 'SpamCop listings expire by themselves 12-24 hours after the last report; fix the cause and wait.',
  },
  'b.barracudacentral.org': { kind: 'block', codes: simple },
  'bl.score.senderscore.com': { kind: 'block', codes: simple },
  'bl.mailspike.net': {
    kind: 'block',
    codes: {
      '127.0.0.2': 'listed',
      '127.0.0.10': 'worst reputation',
      '127.0.0.11': 'very bad reputation',
      '127.0.0.12': 'bad reputation',
    },
  },
  'rep.mailspike.net': {
    kind: 'reputation',
    codes: {
      '127.0.0.10': { state: 'listed', label: 'bad reputation (H5)' },
      '127.0.0.11': { state: 'listed', label: 'bad reputation (H4)' },
      '127.0.0.12': { state: 'listed', label: 'bad reputation (H3)' },
      '127.0.0.13': { state: 'not_listed', label: 'neutral (H2)' },
      '127.0.0.14': { state: 'not_listed', label: 'neutral (H1)' },
      '127.0.0.15': { state: 'not_listed', label: 'neutral (L1)' },
      '127.0.0.16': { state: 'not_listed', label: 'neutral (L2)' },
      '127.0.0.17': { state: 'not_listed', label: 'good (L3)' },
      '127.0.0.18': { state: 'not_listed', label: 'good (L4)' },
      '127.0.0.19': { state: 'not_listed', label: 'good (L5)' },
      '127.0.0.20': { state: 'not_listed', label: 'excellent' },
    },
  },
  'list.dnswl.org': {
    kind: 'allow',
    ipv6: true,
    codes: { '127.0.0.0/16': 'allow-listed', '127.0.0.255': { state: 'error', label: 'blocked from querying dnswl' } },
  },
  'multi.surbl.org': { kind: 'block', domainOnly: true, codes: { '127.0.0.1': { state: 'error', label: 'blocked from querying SURBL' } } },
  'multi.uribl.com': { kind: 'block', domainOnly: true, codes: { '127.0.0.1': { state: 'error', label: 'blocked from querying URIBL' } } },
  'psbl.surriel.com': { kind: 'block', codes: simple },
  'cbl.abuseat.org': { kind: 'block', codes: simple },
  'dnsbl-1.uceprotect.net': { kind: 'block', codes: simple },
  'dnsbl-2.uceprotect.net': { kind: 'block', codes: simple },
  'dnsbl-3.uceprotect.net': { kind: 'block', codes: simple },
  'db.wpbl.info': { kind: 'block', codes: simple },
  'cidr.bl.mcafee.com': { kind: 'block', codes: { '127.0.0.0/24': 'listed', '127.0.0.1': { state: 'unknown', label: 'test/unused code' } } },
  'score.senderscore.com': {
    kind: 'score',
    codes: {
      '127.0.4.0/24': { state: 'listed', label: 'score' },
      '127.255.255.255': { state: 'error', label: 'querying IP not registered with Validity' },
    },
  },
};

/** The zones with a table of their own (a test loads each, its table written out as `codes:`). */
export const knownZones: readonly string[] = Object.keys(known);

/**
 * Generic table for a zone mtarep does not know: RFC 5782 listings are 127.0.0.2 and up in 127.0.0.0/24;
 * 127.0.0.1 is the "blocked from querying" answer of several lists; anything else in 127/8 is unknown.
 */
const generic: Record<string, CodeMeaning> = {
  '127.0.0.0/24': 'listed',
  '127.0.0.1': { state: 'unknown', label: '127.0.0.1 is not a listing code (some lists answer it to blocked queriers)' },
};

export function zoneDefaults(zone: string): ZoneDefaults {
  const z = zone.toLowerCase();
  const entry =
    known[z] ??
    Object.entries(known).find(([name]) => z.endsWith('.' + name))?.[1] ??
    (z.endsWith('.dq.spamhaus.net') ? known['zen.spamhaus.org'] : undefined);
  return {
    kind: entry?.kind ?? 'block',
    ipv6: entry?.ipv6 ?? false,
    codes: entry?.codes ?? generic,
    ...(entry?.domainOnly ? { domainOnly: true } : {}),
    ...(entry?.advice ? { advice: entry.advice } : {}),
  };
}
