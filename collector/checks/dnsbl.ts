/**
 * DNSBL check: every IP against every configured IP zone (IPv6 only to zones that serve it), zones
 * concurrently, each zone self-tested once per run, rate-limited and bounded in flight on its own so a
 * slow or dead zone never holds the others. Four states per answer (dnsbl-classify.ts); a timeout,
 * SERVFAIL or odd answer is never 'not_listed'. The zone's query name may hold a Spamhaus DQS key:
 * it is used for queries only; results and logs name the zone by `zone`.
 */
import type { ZoneConfig } from '../../lib/config/normalize.js';
import { dnsblPlugin } from '../../lib/checks/dnsbl.js';
import type { CheckResult, DnsblResult, DnsblValue } from '../../lib/model.js';
import { DnsLookupError, type DnsClient, type LookupOptions } from '../dns/client.js';
import { mapLimit } from '../../lib/concurrency.js';
import { rawReverseLabels, reverseLabels } from '../dns/names.js';
import { createRateLimiter } from '../dns/rate-limit.js';
import {
  classifyAnswer,
  classifyFailure,
  removalLinkFor,
  selfTestHealth,
  selfTested,
  type Health,
  type Probe,
  type Verdict,
} from './dnsbl-classify.js';
import type { Check, CheckDeps, Target } from './types.js';

/** Zones that take IP queries (domain lists such as DBL are never sent an IP). */
export function ipZones(zones: readonly ZoneConfig[]): ZoneConfig[] {
  return zones.filter((z) => !z.domainOnly);
}

/** TXT reasons come from the zone operator: keep them, but bounded. */
const maxTxt = 1024;

interface ZoneRun {
  probe(name: string): Promise<Probe>;
  txt(name: string): Promise<string | undefined>;
}

function zoneRun(zone: ZoneConfig, dns: DnsClient): ZoneRun {
  const opts: LookupOptions = {
    ...(zone.servers ? { servers: zone.servers } : {}),
    ...(zone.timeoutMs !== undefined ? { timeoutMs: zone.timeoutMs } : {}),
  };
  const rate = zone.rateLimit === undefined ? null : createRateLimiter(zone.rateLimit);
  return {
    async probe(name) {
      if (rate) await rate.acquire(); // no extra await per query when the zone has no limit
      try {
        return { answers: await dns.resolve4(name, opts) };
      } catch (e) {
        const err = e instanceof DnsLookupError ? e : new DnsLookupError('OTHER', 'lookup failed', { cause: e });
        return { kind: err.kind, message: err.message };
      }
    },
    async txt(name) {
      if (rate) await rate.acquire();
      try {
        const t = (await dns.resolveTxt(name, opts)).join(' ').trim();
        return t ? t.slice(0, maxTxt) : undefined;
      } catch {
        return undefined; // the listing stands without its reason text
      }
    },
  };
}

async function selfTest(zone: ZoneConfig, run: ZoneRun, family: 4 | 6): Promise<Health> {
  if (!selfTested(zone)) return { healthy: true };
  // Raw labels: the IPv6 test points are IPv4-mapped and must be queried as nibbles, not as IPv4.
  const name = (ip: string) => `${rawReverseLabels(ip)}.${zone.queryZone}`;
  const [pos, neg] =
    family === 4
      ? await Promise.all([run.probe(name('127.0.0.2')), run.probe(name('127.0.0.1'))])
      : await Promise.all([run.probe(name('::ffff:127.0.0.2')), run.probe(name('::ffff:127.0.0.1'))]);
  return selfTestHealth(pos, neg, zone, family);
}

function result(zone: ZoneConfig, at: string, v: Verdict, extra: Partial<DnsblResult> = {}): DnsblResult {
  return {
    zone: zone.zone,
    kind: zone.kind,
    state: v.state,
    critical: zone.critical,
    codes: v.codes,
    labels: v.labels,
    ...(v.reason !== undefined ? { reason: v.reason } : {}),
    ...extra,
    at,
  };
}

/** Results of one zone, indexed like `targets` (undefined where the zone does not apply). */
async function checkZone(
  zone: ZoneConfig,
  targets: readonly Target[],
  labels: readonly string[],
  deps: CheckDeps,
  perZone: number,
): Promise<(DnsblResult | undefined)[]> {
  const run = zoneRun(zone, deps.dns);
  const at = deps.now().toISOString();
  const wants6 = zone.ipv6 && targets.some((t) => t.family === 6);
  const wants4 = targets.some((t) => t.family === 4);
  const untested: Health = { healthy: true };
  const [h4, h6] = await Promise.all([
    wants4 ? selfTest(zone, run, 4) : untested,
    wants6 ? selfTest(zone, run, 6) : untested,
  ]);
  for (const h of [h4, h6]) if (!h.healthy) deps.log.warn('DNSBL zone unhealthy: its answers are not counted', { zone: zone.zone, reason: h.reason });

  return mapLimit(targets, perZone, async (t, i) => {
    if (t.family === 6 && !zone.ipv6) return undefined;
    const health = t.family === 6 ? h6 : h4;
    if (health.unreachable) {
      // The zone did not answer its own test points: querying it for every IP would only time out.
      return result(zone, at, { state: 'error', codes: [], labels: [], reason: `not queried: ${health.reason}` }, { unhealthy: health.reason! });
    }
    const name = `${labels[i]}.${zone.queryZone}`;
    const probe = await run.probe(name);
    const v = 'answers' in probe ? classifyAnswer(probe.answers, zone.codes) : classifyFailure(probe.kind, probe.message);
    if (!health.healthy) {
      if (v.state === 'error') return result(zone, at, v, { unhealthy: health.reason! });
      // Neither a listing nor clean: the zone failed its self-test; keep the raw answer.
      return result(zone, at, { state: 'unknown', codes: v.codes, labels: [], reason: `zone unhealthy: ${health.reason}` }, { unhealthy: health.reason! });
    }
    if (v.state !== 'listed') return result(zone, at, v);
    const txt = await run.txt(name);
    const link = removalLinkFor(zone.removalLink, t.ip);
    return result(zone, at, v, { ...(txt !== undefined ? { txt } : {}), ...(link !== undefined ? { removalLink: link } : {}) });
  });
}

export const dnsblCheck: Check<DnsblValue> = {
  name: 'dnsbl',
  plugin: dnsblPlugin,
  skipReason(config) {
    return ipZones(config.zones).length > 0 ? null : 'no DNSBL zones that list IPs are configured (rbls)';
  },
  async run(targets, deps) {
    const zones = ipZones(deps.config.zones);
    // Each zone may use a fair share of the global bound (twice, so zones that finish early leave
    // room); a zone that turns slow mid-run then holds at most that share of the slots.
    const perZone = Math.max(4, Math.ceil((2 * deps.config.dns.concurrency) / Math.max(1, zones.length)));
    // Reverse labels once per IP, not once per IP and zone.
    const labels = targets.map((t) => reverseLabels(t.ip));
    const byZone = await Promise.all(zones.map((z) => checkZone(z, targets, labels, deps, perZone)));
    const at = deps.now().toISOString();
    const out = new Map<string, CheckResult<DnsblValue>>();
    targets.forEach((t, i) => {
      const list: DnsblResult[] = [];
      for (const zr of byZone) {
        const r = zr[i];
        if (r) list.push(r);
      }
      out.set(t.ip, { status: 'ok', at, value: { zones: list } });
    });
    return out;
  },
};
