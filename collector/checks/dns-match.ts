/**
 * DNS match: the three things receivers check before trusting an MTA, each reported on its own
 * (rDNS / fDNS / HELO mismatch), as data. rdns: a PTR of the IP names the host's FQDN. fdns: the FQDN
 * resolves to the IP. helo: the SMTP greeting on `smtp_banner_port` names the FQDN. A lookup or
 * connection failure is an 'error' part with its reason, never a mismatch and never a match.
 */
import { isIP } from 'node:net';
import { dnsMatchPlugin } from '../../lib/checks/dns-match.js';
import type { CheckResult, DnsMatchValue, MatchPart } from '../../lib/model.js';
import { DnsLookupError, type DnsClient } from '../dns/client.js';
import { createLimiter, mapLimit } from '../../lib/concurrency.js';
import { normalizeIp } from '../dns/names.js';
import { readSmtpBanner, SmtpBannerError } from '../smtp-banner.js';
import type { Check, Target } from './types.js';

/** SMTP connections open at once (each holds a socket for up to smtp_banner_timeout_ms). */
const smtpConcurrency = 32;

const hostName = (n: string) => n.toLowerCase().replace(/\.$/, '');

function failure(e: unknown, what: string): { notFound: boolean; reason: string } {
  if (e instanceof DnsLookupError) {
    return { notFound: e.kind === 'NXDOMAIN' || e.kind === 'NODATA', reason: `${what}: ${e.message}` };
  }
  return { notFound: false, reason: `${what}: ${(e as Error).message}` };
}

async function rdns(t: Target, dns: DnsClient): Promise<MatchPart> {
  try {
    const found = (await dns.reverse(t.ip)).map(hostName);
    const ok = found.includes(hostName(t.host.fqdn));
    return { state: ok ? 'match' : 'mismatch', found, ...(ok ? {} : { reason: `PTR of ${t.ip} does not name ${t.host.fqdn}` }) };
  } catch (e) {
    const f = failure(e, `PTR lookup of ${t.ip}`);
    return f.notFound ? { state: 'mismatch', found: [], reason: `${t.ip} has no PTR record` } : { state: 'error', found: [], reason: f.reason };
  }
}

async function fdns(t: Target, dns: DnsClient): Promise<MatchPart> {
  const type = t.family === 6 ? 'AAAA' : 'A';
  try {
    const found = (await (t.family === 6 ? dns.resolve6(t.host.fqdn) : dns.resolve4(t.host.fqdn))).map((a) => (isIP(a) ? normalizeIp(a) : a));
    const ok = found.includes(normalizeIp(t.ip));
    return { state: ok ? 'match' : 'mismatch', found, ...(ok ? {} : { reason: `${t.host.fqdn} ${type} does not include ${t.ip}` }) };
  } catch (e) {
    const f = failure(e, `${type} lookup of ${t.host.fqdn}`);
    return f.notFound ? { state: 'mismatch', found: [], reason: `${t.host.fqdn} has no ${type} record` } : { state: 'error', found: [], reason: f.reason };
  }
}

async function helo(t: Target, port: number, timeoutMs: number): Promise<MatchPart> {
  try {
    const g = await readSmtpBanner(t.ip, { port, timeoutMs });
    const found = g.hostname ? [hostName(g.hostname)] : [];
    const ok = found[0] === hostName(t.host.fqdn);
    return { state: ok ? 'match' : 'mismatch', found, ...(ok ? {} : { reason: `SMTP greeting names ${g.hostname ?? 'no host'}, not ${t.host.fqdn}` }) };
  } catch (e) {
    return { state: 'error', found: [], reason: e instanceof SmtpBannerError ? e.message : `SMTP greeting: ${(e as Error).message}` };
  }
}

export const dnsMatchCheck: Check<DnsMatchValue> = {
  name: 'dnsMatch',
  plugin: dnsMatchPlugin,
  skipReason(config) {
    return config.dnsMatch ? null : 'dns_match is false';
  },
  async run(targets, deps) {
    const at = deps.now().toISOString();
    const out = new Map<string, CheckResult<DnsMatchValue>>();
    if (!deps.config.dnsMatch) {
      for (const t of targets) out.set(t.ip, { status: 'skipped', at, reason: 'dns_match is false' });
      return out;
    }
    const smtp = createLimiter(smtpConcurrency);
    const { port, timeoutMs } = deps.config.smtpBanner;
    await mapLimit(targets, deps.config.dns.concurrency, async (t) => {
      const [r, f, h] = await Promise.all([rdns(t, deps.dns), fdns(t, deps.dns), smtp.run(() => helo(t, port, timeoutMs))]);
      const parts = [r, f, h];
      if (parts.every((p) => p.state === 'error')) {
        out.set(t.ip, { status: 'error', at, reason: parts.map((p) => p.reason).join('; ') });
      } else {
        out.set(t.ip, { status: 'ok', at, value: { rdns: r, fdns: f, helo: h } });
      }
    });
    return out;
  },
};
