/**
 * Links shown in issue modals: removal forms and runbooks from config, DNSBL lookup links from the
 * collector. Every URL passes an http/https allow-list before it becomes an href; a link that expects
 * the IP (ends with `=` or holds `{ip}`) gets it filled in, URL-encoded.
 */

/** The URL as a string when it is absolute http(s), else null (javascript:, data:, relative...). */
export function safeUrl(url: string | undefined): string | null {
  if (url === undefined) return null;
  try {
    const u = new URL(url.trim());
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : null;
  } catch {
    return null;
  }
}

/** Fill the IP into a link that expects it; other links are returned unchanged. */
export function fillIp(url: string, ip: string | undefined): string {
  if (ip === undefined) return url;
  const v = encodeURIComponent(ip);
  if (url.includes('{ip}')) return url.split('{ip}').join(v);
  if (url.endsWith('=')) return url + v;
  return url;
}

/**
 * A config map entry for a provider or zone: exact name first, then a configured name contained in
 * the zone (`spamhaus` for `zen.spamhaus.org`), longest first so the most specific wins.
 */
export function lookupByName(map: Readonly<Record<string, string>>, name: string): string | undefined {
  const n = name.toLowerCase();
  const entries = Object.entries(map);
  const exact = entries.find(([k]) => k.toLowerCase() === n);
  if (exact) return exact[1];
  // A key that is whole labels of the name ("spamhaus" for zen.spamhaus.org, "spamhaus.org"), never a
  // substring: "att" must not pick up a zone that merely contains those letters.
  const labels = `.${n}.`;
  const contained = entries
    .filter(([k]) => labels.includes(`.${k.toLowerCase()}.`))
    .sort((a, b) => b[0].length - a[0].length)[0];
  return contained?.[1];
}

/** The safe, IP-filled link for an issue from a map, or null. */
export function configLink(map: Readonly<Record<string, string>>, name: string, ip: string | undefined): string | null {
  const url = lookupByName(map, name);
  return url === undefined ? null : safeUrl(fillIp(url, ip));
}
