/**
 * Host names, DNSBL zone names and e-mail addresses as mtarep accepts them: in the config, in a CSV import, on the
 * `mtarep e2e` command line. No dependencies, so a command that reads no config loads no schema.
 */

/** An RFC 1123 host name: dot-separated labels of letters, digits and inner dashes; a final dot allowed. */
export function isHostName(name: string): boolean {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  return n.length > 0 && n.length <= 253 && n.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

/**
 * What is wrong with a DNSBL zone name (lower-cased, final dot dropped), as a clause to follow a
 * colon, or null. Looser than a host
 * name in one way: `_` is legal in DNS names and some zones use it. Labels are 1-63 letters, digits,
 * `-` and `_`, not starting or ending with `-`; at least two labels; at most 253 characters.
 */
export function zoneNameProblem(zone: string): string | null {
  if (zone.length > 253) return `it is ${zone.length} characters long: a zone name is at most 253`;
  const labels = zone.split('.');
  for (const l of labels) {
    if (l === '') return 'it has an empty label (a dot at the start or two dots in a row)';
    if (l.length > 63) return `label "${l}" is ${l.length} characters long: a label is at most 63`;
    if (!/^[A-Za-z0-9_-]+$/.test(l)) return `label "${l}" may only hold letters, digits, - and _`;
    if (l.startsWith('-')) return `label "${l}" starts with -`;
    if (l.endsWith('-')) return `label "${l}" ends with -`;
  }
  if (labels.length < 2) return 'it needs at least two labels (such as bl.example.net)';
  return null;
}

const local = "[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+";
const label = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const dotted = new RegExp(`^${local}@${label}(?:\\.${label})+$`);
const anyDomain = new RegExp(`^${local}@${label}(?:\\.${label})*$`);

/**
 * A plain check for user@domain.tld as mxtrax's import validated: no spaces, one @, a dotted domain.
 * `singleLabel` also takes a domain of one label (user@localhost, a test server's mailbox).
 */
export function isAddress(s: string, opts: { singleLabel?: boolean } = {}): boolean {
  return s.length <= 254 && (opts.singleLabel === true ? anyDomain : dotted).test(s);
}
