/**
 * View models of the probes (Delivery page, per-domain page, /api/probes*): the domains with the
 * figures the last round stored, maintenance as it is now, recent probes judged at request time with
 * the same pure functions the round uses. Shapes of the API are the (issue 9).
 */
import type { Config } from '../../lib/config/normalize.js';
import type { ProbeDomain } from '../../lib/probes/domains.js';
import { domainStore } from '../../lib/probes/domains.js';
import { emptyCounts, limitsOf, probeState, rttS, stateReason, type Limits } from '../../lib/probes/judge.js';
import type { DayStat, DomainSummary, ProbeRecord, ProbeRoundState, ProbeState, StateCounts } from '../../lib/probes/model.js';
import { probeStore } from '../../lib/probes/store.js';
import type { Redis } from '../../lib/redis.js';

export interface ApiDomain {
  domain: string;
  address: string;
  customer: string;
  customer_name: string;
  maintenance: boolean;
  maintenance_by: string | null;
  maintenance_at: string | null;
  failing: boolean;
  reasons: string[];
  counts: StateCounts;
  on_time_pct: number | null;
  avg_rtt_s: number | null;
  last: { state: ProbeState; sent_at: string; returned_at: string | null; rtt_s: number | null } | null;
  /** The newest probe in the window that came back (on time or late). */
  last_back: { state: 'on_time' | 'late'; sent_at: string; rtt_s: number } | null;
  judged_at: string | null;
}

export interface ApiProbe {
  token: string;
  state: ProbeState;
  sent_at: string;
  returned_at: string | null;
  rtt_s: number | null;
  folder: string | null;
  reason: string | null;
  smtp: string | null;
  /** With probes.via: esp, the ESP provider that sent the probe (null when it left through probes.smtp). */
  provider: string | null;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const round = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(v * 1000) / 1000);

export function limitsOfConfig(config: Config): Limits | undefined {
  const p = config.probes;
  if (!p) return undefined;
  return limitsOf(p);
}

export function apiDomain(d: ProbeDomain, s: DomainSummary | undefined): ApiDomain {
  return {
    domain: d.domain,
    address: d.address,
    customer: d.customer,
    customer_name: d.customerName,
    maintenance: d.maintenance,
    maintenance_by: d.maintenanceBy ?? null,
    maintenance_at: d.maintenanceAt ?? null,
    failing: !d.maintenance && (s?.failing ?? false),
    reasons: d.maintenance ? [] : (s?.reasons ?? []),
    counts: s?.counts ?? emptyCounts(),
    on_time_pct: round(s?.onTimePct),
    avg_rtt_s: round(s?.avgRttS),
    last: s?.last
      ? { state: s.last.state, sent_at: iso(s.last.sentAt)!, returned_at: iso(s.last.returnedAt), rtt_s: round(s.last.rttS) }
      : null,
    last_back: s?.lastBack ? { state: s.lastBack.state, sent_at: iso(s.lastBack.sentAt)!, rtt_s: round(s.lastBack.rttS)! } : null,
    judged_at: iso(s?.judgedAt),
  };
}

/** Failing first, then by customer and domain. */
export function sortDomains(list: ApiDomain[]): ApiDomain[] {
  return [...list].sort((a, b) => Number(b.failing) - Number(a.failing) || a.customer.localeCompare(b.customer) || a.domain.localeCompare(b.domain));
}

export async function loadDomains(redis: Redis, config: Config): Promise<ApiDomain[]> {
  const prefix = config.redis.prefix;
  const [domains, summaries] = await Promise.all([domainStore(redis, prefix).list(), probeStore(redis, prefix).summaries()]);
  return sortDomains(domains.map((d) => apiDomain(d, summaries.get(d.domain))));
}

/** Every domain's figures and the round's state (GET /metrics). */
export async function loadProbeFigures(redis: Redis, config: Config): Promise<{ domains: ApiDomain[]; state: ProbeRoundState }> {
  const [domains, state] = await Promise.all([loadDomains(redis, config), probeStore(redis, config.redis.prefix).state()]);
  return { domains, state };
}

export function apiProbe(p: ProbeRecord, now: number, lastGoodRead: number | undefined, l: Limits): ApiProbe {
  const state = probeState(p, now, lastGoodRead, l);
  return {
    token: p.token,
    state,
    sent_at: iso(p.sentAt)!,
    returned_at: iso(p.returnedAt),
    rtt_s: round(rttS(p)),
    folder: p.folder ?? null,
    reason: stateReason(p, state) ?? null,
    smtp: p.smtp ?? null,
    provider: p.provider ?? null,
  };
}

/** One domain with its recent probes (newest first, at most `limit`), or undefined when unknown. */
export async function loadDomain(
  redis: Redis,
  config: Config,
  name: string,
  now: Date,
  limit = 200,
): Promise<(ApiDomain & { probes: ApiProbe[] }) | undefined> {
  const prefix = config.redis.prefix;
  const d = await domainStore(redis, prefix).get(name);
  if (!d) return undefined;
  const ps = probeStore(redis, prefix);
  const [summaries, state] = await Promise.all([ps.summaries(), ps.state()]);
  const l = limitsOfConfig(config);
  const t = now.getTime();
  const probes = l ? (await ps.forDomain(d.domain, t - Math.max(l.window, l.maxSecUntilFail) * 1000, t)).reverse().slice(0, limit) : [];
  return { ...apiDomain(d, summaries.get(d.domain)), probes: l ? probes.map((p) => apiProbe(p, t, state.lastGoodReadAt, l)) : [] };
}

export function isDate(s: string | undefined): s is string {
  return s !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s + 'T00:00:00Z'));
}

export async function loadStats(redis: Redis, config: Config, domain: string, from?: string, to?: string): Promise<DayStat[]> {
  return probeStore(redis, config.redis.prefix).stats(domain.toLowerCase(), from, to);
}

/**
 * The overview's figure: how many probe domains the last round found failing (less those switched to
 * maintenance since), of how many. Two small round trips whatever the number of domains: the round's
 * state (its failing list) with HLEN, then HMGET of the failing ones. Undefined when probes are off.
 */
export async function loadFailingCount(redis: Redis, config: Config): Promise<{ failing: number; domains: number } | undefined> {
  if (!config.probes) return undefined;
  const prefix = config.redis.prefix;
  const ds = domainStore(redis, prefix);
  const [state, domains] = await Promise.all([probeStore(redis, prefix).state(), ds.count()]);
  const listed = state.lastRound?.failing ?? [];
  const now = await ds.getMany(listed);
  return { failing: [...now.values()].filter((d) => !d.maintenance).length, domains };
}
