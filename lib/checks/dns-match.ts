/** DNS match: an rDNS, fDNS or HELO mismatch is a problem; a part that failed cannot tell. */
import { isIP } from '../net/ip.js';
import * as z from 'zod';
import { createLimiter, mapLimit } from '../concurrency.js';
import type { CheckResult, DnsMatchValue, MatchPart } from '../model.js';
import type { DnsClient } from '../net/dns/client.js';
import { DnsLookupError } from '../net/dns/errors.js';
import { normalizeIp } from '../net/dns/names.js';
import type { SeverityReason } from '../severity.js';
import { bit, checkCell, detailRow, failedReason, int, once, valueOf } from './common.js';
import { settingsOf, type CheckPlugin, type ConfigSlice, type SeenIssue, type Target } from './types.js';
import type { Config } from '../config/normalize.js';
import { durationMs, port } from '../config/fields.js';

/** The stored value: built on first use (see `once`). */
const valueSchema = once(() => {
  const part = z.looseObject({ state: z.enum(['match', 'mismatch', 'error']), found: z.array(z.string()), reason: z.string().optional() });
  return z.looseObject({ rdns: part, fdns: part, helo: part });
});
const labels = [
  ['rdns', 'rDNS'],
  ['fdns', 'fDNS'],
  ['helo', 'HELO'],
] as const;

export interface DnsMatchSettings {
  /** Off with `dns_match: false`. */
  enabled: boolean;
  /** Where and how long the SMTP greeting (HELO part) is read. */
  smtpBanner: { port: number; timeoutMs: number };
}

const configSlice: ConfigSlice<DnsMatchSettings> = {
  keys: {
    dns_match: z.boolean().default(true),
    smtp_banner_port: port.default(25),
    smtp_banner_timeout_ms: durationMs(120_000).default(5000),
  },
  normalize: (raw) => ({
    enabled: raw['dns_match'] as boolean,
    smtpBanner: { port: raw['smtp_banner_port'] as number, timeoutMs: raw['smtp_banner_timeout_ms'] as number },
  }),
};

export const dnsMatchSettings = (config: Config): DnsMatchSettings => settingsOf<DnsMatchSettings>(config, 'dnsMatch');

export const dnsMatchPlugin: CheckPlugin<DnsMatchValue> = {
  name: 'dnsMatch',
  label: 'DNS match',
  config: configSlice,
  get value() {
    return valueSchema();
  },
  judge(r) {
    const out: SeverityReason[] = [];
    const v = valueOf(r);
    if (v) {
      for (const [k, label] of labels) {
        const m = v[k];
        if (m.state === 'mismatch') out.push({ level: 'error', text: `${label} mismatch${m.found.length ? ` (found ${m.found.join(', ')})` : ''}` });
        else if (m.state === 'error') out.push({ level: 'unknown', text: `${label}: ${m.reason ?? 'error'}` });
      }
    }
    return [...out, ...failedReason('DNS match', r)];
  },
  issues(r, { ip, host }) {
    if (r.status === 'error') return { open: [], undetermined: [`dns:${ip}:`] };
    const open: SeenIssue[] = [];
    const undetermined: string[] = [];
    const v = r.status === 'ok' ? r.value : undefined;
    if (v) {
      for (const [k] of labels) {
        const m = v[k];
        const id = `dns:${ip}:${k}`;
        if (m.state === 'error') undetermined.push(id);
        else if (m.state === 'mismatch') {
          open.push({ id, kind: 'dns_mismatch', severity: 'problem', host, ip, state: `${k} mismatch`, detail: m.found.length ? `found ${m.found.join(', ')}` : 'nothing found' });
        }
      }
    }
    return { open, undetermined };
  },
  columns: () => [
    {
      key: 'dns',
      header: 'DNS match',
      order: 10,
      cell: (r) =>
        checkCell(r, (v) => {
          const parts = labels.map(([k, label]) => ({ label, m: v[k] }));
          const bad = parts.some((p) => p.m.state === 'mismatch');
          const err = parts.some((p) => p.m.state === 'error');
          // Only a row with something to explain carries the (long) tooltip: 2,000 clean rows stay small.
          const title =
            !bad && !err
              ? undefined
              : parts.map((p) => `${p.label}: ${p.m.state}${p.m.found.length ? ` (${p.m.found.join(', ')})` : ''}${p.m.reason ? ` - ${p.m.reason}` : ''}`).join('\n');
          return {
            text: bad ? 'mismatch' : err ? 'incomplete' : 'match',
            state: bad ? 'bad' : err ? 'unknown' : 'good',
            ...(title ? { title } : {}),
            marks: parts.map((p) => ({ label: p.label, state: p.m.state })),
          };
        }),
      sort: (_r, cell) => (cell.state === 'bad' ? 2 : cell.state === 'unknown' ? 1 : 0),
    },
  ],
  detail: (r) => [
    detailRow('DNS match', r, (v) =>
      labels.map(([k]) => `${k}: ${v[k].state}${v[k].found.length ? ` (${v[k].found.join(', ')})` : ''}${v[k].reason ? ` ${v[k].reason}` : ''}`).join('; '),
    ),
  ],
  // The original API had no DNS match key: the structured result is under `checks`.
  api: () => ({}),
  series: {
    help: {
      mtarep_dns_match: ['1 when the DNS part matches (rdns: PTR names the FQDN, fdns: FQDN resolves to the IP, helo: banner names the FQDN); NaN on error', ['host', 'ip', 'part']],
      mtarep_dns_match_error: ['1 when the DNS part could not be checked (or has not been yet)', ['host', 'ip', 'part']],
    },
    samples(r, { config }) {
      if (!dnsMatchSettings(config).enabled || r?.status === 'skipped') return [];
      return labels.flatMap(([part]) => {
        const p = r?.status === 'ok' ? r.value?.[part] : undefined;
        const broken = p === undefined || p.state === 'error';
        return [
          { name: 'mtarep_dns_match', labels: { part }, value: broken ? NaN : bit(p.state === 'match') },
          { name: 'mtarep_dns_match_error', labels: { part }, value: bit(broken) },
        ];
      });
    },
    influx(r, { config }) {
      if (!dnsMatchSettings(config).enabled || r?.status === 'skipped') return { fields: {} };
      const fields: Record<string, { int: number }> = {};
      for (const [part] of labels) {
        const p = r?.status === 'ok' ? r.value?.[part] : undefined;
        if (p && p.state !== 'error') fields[`${part}_match`] = int(bit(p.state === 'match'));
        fields[`${part}_error`] = int(bit(p === undefined || p.state === 'error'));
      }
      return { fields };
    },
  },
  skipReason(config) {
    return dnsMatchSettings(config).enabled ? null : 'dns_match is false';
  },
  async run(targets, deps) {
    const at = deps.now().toISOString();
    const out = new Map<string, CheckResult<DnsMatchValue>>();
    if (!dnsMatchSettings(deps.config).enabled) {
      for (const t of targets) out.set(t.ip, { status: 'skipped', at, reason: 'dns_match is false' });
      return out;
    }
    const smtp = createLimiter(smtpConcurrency);
    const { port, timeoutMs } = dnsMatchSettings(deps.config).smtpBanner;
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
  describe: (config) => `DNS match: ${dnsMatchSettings(config).enabled ? `PTR, forward DNS, SMTP greeting on port ${dnsMatchSettings(config).smtpBanner.port}` : 'off'}`,
};

/* Run half (the network part).
 * DNS match: the three things receivers check before trusting an MTA, each reported on its own
 * (rDNS / fDNS / HELO mismatch), as data. rdns: a PTR of the IP names the host's FQDN. fdns: the FQDN
 * resolves to the IP. helo: the SMTP greeting on `smtp_banner_port` names the FQDN. A lookup or
 * connection failure is an 'error' part with its reason, never a mismatch and never a match.
 */
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
  // Imported here: node:net is the check's run only (the plugin list is loaded by check-config too).
  const { readSmtpBanner, SmtpBannerError } = await import('../net/smtp-banner.js');
  try {
    const g = await readSmtpBanner(t.ip, { port, timeoutMs });
    const found = g.hostname ? [hostName(g.hostname)] : [];
    const ok = found[0] === hostName(t.host.fqdn);
    return { state: ok ? 'match' : 'mismatch', found, ...(ok ? {} : { reason: `SMTP greeting names ${g.hostname ?? 'no host'}, not ${t.host.fqdn}` }) };
  } catch (e) {
    return { state: 'error', found: [], reason: e instanceof SmtpBannerError ? e.message : `SMTP greeting: ${(e as Error).message}` };
  }
}
