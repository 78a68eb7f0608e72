/**
 * DNSBL. The result is one CheckResult per IP like every check's, its value the verdict
 * of each zone (`zones`), each with its own state and its own stale last clear verdict: a zone that
 * cannot tell this run keeps judging its last listing. A listing on a critical zone is a problem, on
 * another zone a warning; allow-list "listings" are good news; an error, an unknown answer or an
 * unhealthy zone cannot tell. Status 'ok' means the zones were asked (their own states say how that
 * went), 'skipped' no IP zone is configured, 'error' the check as a whole failed.
 */
import * as z from 'zod';
import { mapLimitEach, type Done } from '../concurrency.js';
import type { Config, ZoneConfig } from '../config/normalize.js';
import { rblIssueId } from '../issues.js';
import { counted } from '../plural.js';
import type { CheckResult, DnsblResult, DnsblValue, IpRecord } from '../model.js';
import type { DnsClient, LookupOptions } from '../net/dns/client.js';
import { rawReverseLabels, reverseLabels } from '../net/dns/names.js';
import { wireLabels, wireTail } from '../net/dns/wire.js';
import { createRateLimiter } from '../net/dns/rate-limit.js';
import type { SeverityLevel, SeverityReason } from '../severity.js';
import { shortTime } from '../time-text.js';
import { bit, carryStale, failedReason, int, once } from './common.js';
import { classifyAnswer, classifyFailure, type Health, type Probe, removalLinkFor, selfTested, selfTestHealth, type Verdict } from './dnsbl-classify.js';
import type { CheckDeps, CheckPlugin, SeenIssue, SeriesContext, Target } from './types.js';

/** The stored value: built on first use (see `once`). */
const valueSchema = once(() => z.looseObject({ zones: z.array(zoneSchema()) }));

const zoneSchema = () => z.looseObject({
  zone: z.string(),
  kind: z.enum(['block', 'allow', 'reputation', 'score']),
  state: z.enum(['listed', 'not_listed', 'error', 'unknown']),
  critical: z.boolean(),
  codes: z.array(z.string()),
  labels: z.array(z.string()),
  txt: z.string().optional(),
  reason: z.string().optional(),
  unhealthy: z.string().optional(),
  removalLink: z.string().optional(),
  at: z.string(),
  stale: z
    .looseObject({ state: z.enum(['listed', 'not_listed']), codes: z.array(z.string()), labels: z.array(z.string()), txt: z.string().optional(), at: z.string() })
    .optional(),
});

/** The zones of a record's DNSBL result: this run's, else (the check failed) the last known ones. */
export function dnsblZones(rec: IpRecord | undefined): DnsblResult[] {
  const r = rec?.dnsbl;
  return r?.value?.zones ?? r?.stale?.value.zones ?? [];
}

/** A listing that counts (allow-list "listings" are good news). */
export const isListing = (d: DnsblResult) => d.state === 'listed' && d.kind !== 'allow';

/** A zone that could not tell this run. */
export const cannotTell = (d: DnsblResult) => d.state === 'error' || d.state === 'unknown' || d.unhealthy !== undefined;

/**
 * Whether `r` is a frozen result whose zones are all frozen, not listed and healthy: the result the
 * run shares between the IPs clean on every zone (9,000 and more of 10,000 at scale, see `run`).
 * Frozen, it can never change, so the walk over its zones is made once per object, and the plugin's
 * per-IP steps after the check (failed, tally, issues, history) skip theirs for it.
 */
const allCleanMemo = new WeakMap<object, boolean>();
export function sharedAllClean(r: CheckResult<DnsblValue>): boolean {
  if (!Object.isFrozen(r)) return false;
  let clean = allCleanMemo.get(r);
  if (clean === undefined) {
    const zones = r.value?.zones;
    clean =
      r.status === 'ok' &&
      zones !== undefined &&
      Object.isFrozen(r.value) &&
      Object.isFrozen(zones) &&
      zones.every((z) => Object.isFrozen(z) && z.state === 'not_listed' && z.unhealthy === undefined);
    allCleanMemo.set(r, clean);
  }
  return clean;
}

/** A zone's own severity: the one judgement the overview, the host page and the issues share. */
export function zoneLevel(d: DnsblResult): Exclude<SeverityLevel, 'ok'> | 'ok' {
  if (isListing(d)) return d.critical ? 'error' : 'warning';
  if (cannotTell(d)) return d.stale?.state === 'listed' && d.kind !== 'allow' ? (d.critical ? 'error' : 'warning') : 'unknown';
  return 'ok';
}

function carryZone(next: DnsblResult, prev: DnsblResult | undefined): DnsblResult {
  if (prev === undefined || next.state === 'listed' || next.state === 'not_listed') return next;
  const last: DnsblResult['stale'] =
    prev.state === 'listed' || prev.state === 'not_listed'
      ? { state: prev.state, codes: prev.codes, labels: prev.labels, at: prev.at, ...(prev.txt !== undefined ? { txt: prev.txt } : {}) }
      : prev.stale;
  return last ? { ...next, stale: last } : next;
}

/** A zone's severity reasons, read on the overview and the host page: times as the dashboard writes them. */
function zoneReasons(d: DnsblResult, out: SeverityReason[], lastKnown = false): void {
  if (isListing(d)) {
    const what = `listed on ${d.zone}${d.labels.length ? ` (${d.labels.join(', ')})` : ''}`;
    out.push({ level: d.critical ? 'error' : 'warning', text: lastKnown ? `last known: ${what} (at ${shortTime(d.at)})` : what });
  } else if (cannotTell(d)) {
    out.push({ level: 'unknown', text: `${d.zone}: cannot tell (${d.unhealthy ?? d.reason ?? d.state})` });
    // As for the other checks, a failed lookup keeps judging the last clear verdict: a timeout
    // must not turn a known critical listing into a milder colour.
    if (d.stale?.state === 'listed' && d.kind !== 'allow') {
      out.push({ level: d.critical ? 'error' : 'warning', text: `last known: listed on ${d.zone} (at ${shortTime(d.stale.at)})` });
    }
  }
}


/** Each applicable zone's verdict for the series: listed, or cannot tell (error, unknown, unhealthy, not checked). */
function zoneVerdicts(r: CheckResult<DnsblValue> | undefined, { config, v6, unhealthyZones }: SeriesContext) {
  return ipZones(config.zones).filter((z) => !v6 || z.ipv6).map((z) => {
    const d = r?.value?.zones.find((x) => x.zone === z.zone);
    return {
      zone: z.zone,
      listed: d?.state === 'listed',
      allow: d?.kind === 'allow',
      cannotTell: d === undefined || d.state === 'error' || d.state === 'unknown' || d.unhealthy !== undefined || unhealthyZones.has(z.zone),
    };
  });
}

export const dnsblPlugin: CheckPlugin<DnsblValue> = {
  name: 'dnsbl',
  label: 'DNSBL',
  get value() {
    return valueSchema();
  },
  carry(next, prev) {
    if (next.status !== 'ok' || !next.value) return carryStale(next, prev);
    const before = prev?.value?.zones ?? prev?.stale?.value.zones;
    if (!before) return next;
    const byZone = new Map(before.map((z) => [z.zone, z]));
    return { ...next, value: { zones: next.value.zones.map((z) => carryZone(z, byZone.get(z.zone))) } };
  },
  failed: (r) => !sharedAllClean(r) && (r.status === 'error' || (r.value?.zones.some((z) => z.state === 'error' || z.state === 'unknown') ?? false)),
  judge(r) {
    const out: SeverityReason[] = [];
    if (r.status === 'ok') for (const d of r.value?.zones ?? []) zoneReasons(d, out);
    else if (r.status === 'error') {
      out.push(...failedReason('DNSBL', r));
      for (const d of r.stale?.value.zones ?? []) if (isListing(d)) zoneReasons(d, out, true);
    }
    return out;
  },
  tally(r, sink) {
    if (r.status !== 'ok') {
      sink.bump(r.status);
      if (r.status === 'error') sink.error('dnsbl', r.reason ?? 'error');
      return;
    }
    // Counted per IP x zone lookup.
    if (sharedAllClean(r)) return sink.bump('ok', r.value!.zones.length);
    for (const z of r.value?.zones ?? []) {
      if (z.state === 'listed' || z.state === 'not_listed') sink.bump('ok');
      else {
        sink.bump('error');
        if (z.unhealthy) sink.unhealthy(z.zone, z.unhealthy);
        else sink.error(`dnsbl ${z.zone}`, z.reason ?? z.state);
      }
    }
  },
  issues(r, { ip, host }) {
    const open: SeenIssue[] = [];
    const undetermined: string[] = [];
    if (r.status === 'error') {
      // The check failed as a whole: every zone it knew about keeps its verdict.
      for (const z of r.stale?.value.zones ?? []) undetermined.push(rblIssueId(z.zone, ip));
      return { open, undetermined };
    }
    if (sharedAllClean(r)) return { open, undetermined };
    for (const z of r.value?.zones ?? []) {
      // The common case (not listed, nothing wrong) costs one comparison: 10,000 IPs x 20 zones pass here.
      if (z.state === 'not_listed' && z.unhealthy === undefined) continue;
      if (z.unhealthy !== undefined) {
        open.push({ id: `zone:${z.zone}`, kind: 'zone_unhealthy', severity: 'warning', zone: z.zone, state: 'unhealthy', detail: z.unhealthy });
      }
      if (z.kind === 'allow') continue;
      const id = rblIssueId(z.zone, ip);
      if (z.state === 'listed') {
        const labels = z.labels.filter((l) => !z.codes.includes(l));
        const what = [...z.codes, ...(labels.length ? [labels.join(', ')] : [])].join(' ');
        open.push({
          id,
          kind: 'listing',
          severity: z.critical ? 'problem' : 'warning',
          host,
          ip,
          zone: z.zone,
          state: `listed: ${what}`,
          ...(z.txt !== undefined ? { detail: z.txt } : {}),
          ...(z.removalLink !== undefined ? { links: { removal: z.removalLink } } : {}),
        });
      } else if (z.state !== 'not_listed') undetermined.push(id);
    }
    return { open, undetermined };
  },
  history: (r) => ({ listings: r.status === 'ok' && !sharedAllClean(r) ? (r.value?.zones.filter(isListing).length ?? 0) : 0 }),
  // The listings column is drawn from the open issues (acknowledgement badges): see web/viewmodel/overview.ts.
  columns: () => [],
  detail(r) {
    if (r?.status === 'error') return [{ name: 'DNSBL', text: `error: ${r.reason ?? ''}`, state: 'unknown', at: r.at }];
    if (r?.status === 'skipped') return [{ name: 'DNSBL', text: `skipped: ${r.reason ?? ''}`, state: 'none', at: r.at }];
    return [];
  },
  api(r) {
    if (r === undefined) return { listings: 'no data' };
    const zones = r.status === 'error' ? (r.stale?.value.zones ?? []) : (r.value?.zones ?? []);
    const listed = zones.filter(isListing).map((d) => d.zone);
    const unsure = r.status === 'error' || zones.some(cannotTell);
    return { listings: listed.length > 0 ? listed.join(', ') : unsure ? 'unknown' : 'unlisted' };
  },
  series: {
    help: {
      mtarep_dnsbl_listed: ['1 when the IP is listed on the DNSBL zone', ['host', 'ip', 'zone']],
      mtarep_dnsbl_error: ['1 when the zone could not tell for this IP (error, unknown answer, unhealthy zone, not checked yet)', ['host', 'ip', 'zone']],
    },
    samples(r, ctx) {
      return zoneVerdicts(r, ctx).flatMap(({ zone, listed, cannotTell }) => [
        { name: 'mtarep_dnsbl_listed', labels: { zone }, value: bit(listed) },
        { name: 'mtarep_dnsbl_error', labels: { zone }, value: bit(cannotTell) },
      ]);
    },
    influx(r, ctx) {
      const zones = zoneVerdicts(r, ctx);
      return {
        fields: { listings: int(zones.filter((z) => z.listed && !z.allow).length), dnsbl_errors: int(zones.filter((z) => z.cannotTell).length) },
        points: zones.map(({ zone, listed, cannotTell }) => ({ measurement: 'mtarep_dnsbl', tags: { zone }, fields: { listed: int(bit(listed)), error: int(bit(cannotTell)) } })),
      };
    },
  },
  skipReason(config) {
    return ipZones(config.zones).length > 0 ? null : 'no DNSBL zones that list IPs are configured (rbls)';
  },
  async run(targets, deps) {
    const zones = ipZones(deps.config.zones);
    // Each zone may use a fair share of the global bound (twice, so zones that finish early leave
    // room); a zone that turns slow mid-run then holds at most that share of the slots.
    const perZone = Math.max(4, Math.ceil((2 * deps.config.dns.concurrency) / Math.max(1, zones.length)));
    // Reverse labels once per IP, not once per IP and zone; on the wire too (most queries are built
    // from them and each zone's tail, wire.ts joinQuery).
    const labels = targets.map((t) => reverseLabels(t.ip));
    const wire = labels.map(wireLabelsOrNull);
    const byZone = await Promise.all(zones.map((z) => checkZone(z, targets, { text: labels, wire }, deps, perZone)));
    const at = deps.now().toISOString();
    const out = new Map<string, CheckResult<DnsblValue>>();
    // Most IPs are clean on every zone: they share one frozen result per address family, whose JSON
    // the record store then writes once (lib/store/codec.ts).
    const allClean = new Map<4 | 6, CheckResult<DnsblValue>>();
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      const list: DnsblResult[] = [];
      // Only the zones' shared clean results are frozen.
      let clean = true;
      for (const zr of byZone) {
        const r = zr[i];
        if (r === undefined) continue;
        list.push(r);
        if (clean && !Object.isFrozen(r)) clean = false;
      }
      let shared = clean ? allClean.get(t.family) : undefined;
      if (clean && shared === undefined) {
        shared = Object.freeze({ status: 'ok' as const, at, value: Object.freeze({ zones: Object.freeze(list) as DnsblResult[] }) });
        allClean.set(t.family, shared);
      } else if (shared !== undefined && !sameItems(shared.value!.zones, list)) shared = undefined;
      out.set(t.ip, shared ?? { status: 'ok', at, value: { zones: list } });
    }
    return out;
  },
  describe: (config) => {
    const n = config.zones.filter((z) => !z.domainOnly).length;
    if (n > 0) return `DNSBL: ${counted(n, 'IP zone')}, listed below`;
    return config.zones.length === 0 ? 'DNSBL: no IP zones configured (rbls)' : 'DNSBL: no IP zones configured (rbls): the zones below are domain lists, not queried';
  },
};

/** The zones table of the host page: one row per zone, coloured by the zone's own judgement. */
export function zoneRows(r: CheckResult<DnsblValue> | undefined): { level: ReturnType<typeof zoneLevel>; zone: DnsblResult }[] {
  const zones = r?.status === 'error' ? (r.stale?.value.zones ?? []) : (r?.value?.zones ?? []);
  return zones.map((zone) => ({ level: zoneLevel(zone), zone }));
}

/* Run half (the network part).
 * DNSBL check: every IP against every configured IP zone (IPv6 only to zones that serve it), zones
 * concurrently, each zone self-tested once per run, rate-limited and bounded in flight on its own so a
 * slow or dead zone never holds the others. Four states per answer (dnsbl-classify.ts); a timeout,
 * SERVFAIL or odd answer is never 'not_listed'. The zone's query name may hold a Spamhaus DQS key:
 * it is used for queries only; results and logs name the zone by `zone`.
 */
/** Zones that take IP queries (domain lists such as DBL are never sent an IP). */
export function ipZones(zones: readonly ZoneConfig[]): ZoneConfig[] {
  return zones.filter((z) => !z.domainOnly);
}

/** TXT reasons come from the zone operator: keep them, but bounded. */
const maxTxt = 1024;

interface ZoneRun {
  probe(name: string): Promise<Probe>;
  /** The same to a callback (no promise per query); null for a rate-limited zone. */
  probeCb: ((name: string, done: (p: Probe) => void) => void) | null;
  /** probeCb of <labels>.<zone> from their wire parts (DnsClient.probe4PartsCb); null for a rate-limited zone. */
  probePartsCb: ((labels: Uint8Array, tail: Uint8Array, done: (p: Probe) => void) => void) | null;
  txt(name: string): Promise<string | undefined>;
}

function zoneRun(zone: ZoneConfig, dns: DnsClient): ZoneRun {
  const opts: LookupOptions = {
    ...(zone.servers ? { servers: zone.servers } : {}),
    ...(zone.timeoutMs !== undefined ? { timeoutMs: zone.timeoutMs } : {}),
  };
  const rate = zone.rateLimit === undefined ? null : createRateLimiter(zone.rateLimit);
  return {
    // No extra await per query when the zone has no limit.
    probe: rate
      ? async (name) => {
          await rate.acquire();
          return dns.probe4(name, opts);
        }
      : (name) => dns.probe4(name, opts),
    probeCb: rate ? null : (name, done) => dns.probe4Cb(name, opts, done),
    probePartsCb: rate ? null : (labels, tail, done) => dns.probe4PartsCb(labels, tail, opts, done),
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

function result(zone: ZoneConfig, at: string, v: Verdict, extra?: Partial<DnsblResult>): DnsblResult {
  // The common case (200,000 per run at scale) as a plain literal, the same keys in the same order.
  if (extra === undefined && v.reason === undefined) {
    return { zone: zone.zone, kind: zone.kind, state: v.state, critical: zone.critical, codes: v.codes, labels: v.labels, at };
  }
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

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Something that cannot go on the wire gives null: its queries are then asked by name (which fails them with the reason). */
function wireLabelsOrNull(labels: string): Uint8Array | null {
  try {
    return wireLabels(labels);
  } catch {
    return null;
  }
}
function wireTailOrNull(zone: string): Uint8Array | null {
  try {
    return wireTail(zone, 'A');
  } catch {
    return null;
  }
}

/** Results of one zone, indexed like `targets` (undefined where the zone does not apply). */
async function checkZone(
  zone: ZoneConfig,
  targets: readonly Target[],
  labels: { text: readonly string[]; wire: readonly (Uint8Array | null)[] },
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

  // Most answers are "not listed": one frozen result per zone serves them all (200,000 at scale).
  const clean = Object.freeze(result(zone, at, { state: 'not_listed', codes: Object.freeze([]) as unknown as string[], labels: Object.freeze([]) as unknown as string[] })) as DnsblResult;
  const nameOf = (i: number) => `${labels.text[i]}.${zone.queryZone}`;
  const tail = run.probePartsCb === null ? null : wireTailOrNull(zone.queryZone);
  const settle = (t: Target, i: number, probe: Probe, health: Health, done: Done<DnsblResult | undefined>): void => {
    const v = 'answers' in probe ? classifyAnswer(probe.answers, zone.codes) : classifyFailure(probe.kind, probe.message);
    if (!health.healthy) {
      if (v.state === 'error') return done(null, result(zone, at, v, { unhealthy: health.reason! }));
      // Neither a listing nor clean: the zone failed its self-test; keep the raw answer.
      return done(null, result(zone, at, { state: 'unknown', codes: v.codes, labels: [], reason: `zone unhealthy: ${health.reason}` }, { unhealthy: health.reason! }));
    }
    if (v.state !== 'listed') return done(null, v.state === 'not_listed' && v.codes.length === 0 && v.reason === undefined ? clean : result(zone, at, v));
    run.txt(nameOf(i)).then((txt) => {
      const link = removalLinkFor(zone.removalLink, t.ip);
      done(null, result(zone, at, v, { ...(txt !== undefined ? { txt } : {}), ...(link !== undefined ? { removalLink: link } : {}) }));
    }).catch(done);
  };

  return mapLimitEach<Target, DnsblResult | undefined>(targets, perZone, (t, i, done) => {
    if (t.family === 6 && !zone.ipv6) return done(null, undefined);
    const health = t.family === 6 ? h6 : h4;
    if (health.unreachable) {
      // The zone did not answer its own test points: querying it for every IP would only time out.
      return done(null, result(zone, at, { state: 'error', codes: [], labels: [], reason: `not queried: ${health.reason}` }, { unhealthy: health.reason! }));
    }
    // Called from the DNS client's reply handler: nothing may be thrown back into it.
    const answered = (probe: Probe) => {
      try {
        settle(t, i, probe, health, done);
      } catch (e) {
        done(e);
      }
    };
    const wire = labels.wire[i];
    if (tail !== null && wire !== null && wire !== undefined) return run.probePartsCb!(wire, tail, answered);
    if (run.probeCb === null) {
      run.probe(nameOf(i)).then((probe) => settle(t, i, probe, health, done)).catch(done);
      return;
    }
    run.probeCb(nameOf(i), answered);
  });
}
