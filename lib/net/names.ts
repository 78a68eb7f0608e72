/**
 * Host names and e-mail addresses as mtarep accepts them: in the config, in a CSV import, on the
 * `mtarep e2e` command line. No dependencies, so a command that reads no config loads no schema.
 */

/** An RFC 1123 host name: dot-separated labels of letters, digits and inner dashes; a final dot allowed. */
export function isHostName(name: string): boolean {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  return n.length > 0 && n.length <= 253 && n.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
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
