/**
 * GET /metrics: what mtarep knows, as Prometheus series (prom-client). A fresh Registry is built per
 * scrape from the stored records, so a series exists for every configured target from the start: an
 * IP the collector never checked reads `_error 1`, a run that never happened reads timestamp 0, so an
 * alert on them fires instead of the series being absent. Names follow the exporter conventions
 * (`mtarep_` prefix, base units, 0/1 for states, state sets with a label per state); the README lists
 * every one. Pure: config and records in, registry out.
 */
import { Gauge, Registry } from 'prom-client';
import type { Config } from '../../lib/config/normalize.js';
import type { CheckResult, IpRecord, SndsColor } from '../../lib/model.js';
import { hostIps, type Snapshot } from '../data.js';

const seconds = (iso: string | undefined | null) => (iso ? Date.parse(iso) / 1000 : 0);
const bit = (b: boolean) => (b ? 1 : 0);

type Labels = Record<string, string>;

/** Registry with typed helpers: one gauge per name, created on first use. */
class Builder {
  readonly registry = new Registry();
  private readonly gauges = new Map<string, Gauge>();
  constructor(private readonly help: Record<string, [string, string[]]>) {}

  set(name: string, labels: Labels, value: number): void {
    let g = this.gauges.get(name);
    if (!g) {
      const [help, labelNames] = this.help[name] ?? [name, Object.keys(labels)];
      g = new Gauge({ name, help, labelNames, registers: [this.registry] });
      this.gauges.set(name, g);
    }
    g.set(labels, value);
  }

  /** Create every described gauge so that its HELP/TYPE is there even without a series. */
  declareAll(): void {
    for (const [name, [help, labelNames]] of Object.entries(this.help)) {
      if (!this.gauges.has(name)) this.gauges.set(name, new Gauge({ name, help, labelNames, registers: [this.registry] }));
    }
  }
}

/** Every metric: help text and label names. The README's metrics table follows this list. */
export const metricHelp: Record<string, [string, string[]]> = {
  mtarep_build_info: ['mtarep version (value 1)', ['version']],
  mtarep_host_resolve_error: ['1 when the host could not be resolved (or has not been yet)', ['host']],
  mtarep_host_ips: ['Number of IP addresses the host has', ['host']],
  mtarep_ip_last_check_timestamp_seconds: ['When the IP was last checked (0: never)', ['host', 'ip']],
  mtarep_dnsbl_listed: ['1 when the IP is listed on the DNSBL zone', ['host', 'ip', 'zone']],
  mtarep_dnsbl_error: ['1 when the zone could not tell for this IP (error, unknown answer, unhealthy zone, not checked yet)', ['host', 'ip', 'zone']],
  mtarep_dnsbl_zone_unhealthy: ['1 when the zone failed its self-test in the last run', ['zone']],
  mtarep_senderscore: ['SenderScore of the IP (0-100; NaN when there is none)', ['host', 'ip']],
  mtarep_senderscore_error: ['1 when the SenderScore lookup failed (or has not run yet)', ['host', 'ip']],
  mtarep_snds_filter: ['SNDS filter result: 1 for the current colour', ['host', 'ip', 'color']],
  mtarep_snds_trap_hits: ['SNDS trap hits in the latest period (NaN when SNDS has no row)', ['host', 'ip']],
  mtarep_snds_blocked: ['1 when the SNDS IP status export lists the IP as blocked', ['host', 'ip']],
  mtarep_snds_error: ['1 when the SNDS fetch failed (or has not run yet)', ['host', 'ip']],
  mtarep_dns_match: ['1 when the DNS part matches (rdns: PTR names the FQDN, fdns: FQDN resolves to the IP, helo: banner names the FQDN); NaN on error', ['host', 'ip', 'part']],
  mtarep_dns_match_error: ['1 when the DNS part could not be checked (or has not been yet)', ['host', 'ip', 'part']],
  mtarep_http_reputation: ['HTTP reputation verdict: 1 for the current verdict', ['host', 'ip', 'verdict']],
  mtarep_http_reputation_error: ['1 when the HTTP reputation lookup failed (or has not run yet)', ['host', 'ip']],
  mtarep_provider_blocks: ['Provider blocks found in the newest maillog read', ['host', 'provider']],
  mtarep_maillog_read_error: ['1 when the newest maillog read failed (or none happened yet)', ['host']],
  mtarep_maillog_last_success_timestamp_seconds: ['When the maillog was last read successfully (0: never)', ['host']],
  mtarep_maillog_lines_read: ['Lines read in the newest maillog read', ['host']],
  mtarep_maillog_unparsed_lines: ['Lines of the newest maillog read that were not understood', ['host']],
  mtarep_last_run_timestamp_seconds: ['When the newest collector run finished (0: never)', []],
  mtarep_last_run_duration_seconds: ['How long the newest collector run took (NaN: none yet)', []],
  mtarep_last_run_status: ['Status of the newest collector run: 1 for the current status', ['status']],
  mtarep_last_run_check_results: ['Results of the newest collector run per check and outcome', ['check', 'result']],
  mtarep_stored_record_errors: ['Stored records that could not be read', []],
};

const sndsColors: readonly SndsColor[] = ['green', 'yellow', 'red'];
const verdicts = ['good', 'neutral', 'bad', 'unknown'] as const;
const matchParts = ['rdns', 'fdns', 'helo'] as const;
const runStatuses = ['ok', 'partial', 'failed'] as const;

/** 1 when a check has no usable fresh result: error, or never run. */
const checkError = (r: CheckResult<unknown> | undefined) => bit(r === undefined || r.status === 'error');

function ipSeries(b: Builder, config: Config, host: string, ip: string, rec: IpRecord | undefined, unhealthy: ReadonlySet<string>): void {
  const l = { host, ip };
  const v6 = ip.includes(':');
  b.set('mtarep_ip_last_check_timestamp_seconds', l, seconds(rec?.checkedAt));

  for (const z of config.zones) {
    if (z.domainOnly || (v6 && !z.ipv6)) continue;
    const r = rec?.dnsbl.value?.zones.find((d) => d.zone === z.zone);
    const zl = { ...l, zone: z.zone };
    b.set('mtarep_dnsbl_listed', zl, bit(r?.state === 'listed'));
    const cannotTell = r === undefined || r.state === 'error' || r.state === 'unknown' || r.unhealthy !== undefined || unhealthy.has(z.zone);
    b.set('mtarep_dnsbl_error', zl, bit(cannotTell));
  }

  if (config.senderscoreZone !== null && rec?.senderscore.status !== 'skipped') {
    const s = rec?.senderscore;
    b.set('mtarep_senderscore', l, s?.status === 'ok' && s.value?.score != null ? s.value.score : NaN);
    b.set('mtarep_senderscore_error', l, checkError(s));
  }

  if (config.snds.key !== undefined && rec?.snds.status !== 'skipped') {
    const s = rec?.snds;
    const data = s?.status === 'ok' ? s.value?.data : undefined;
    for (const color of sndsColors) b.set('mtarep_snds_filter', { ...l, color }, bit(data?.color === color));
    b.set('mtarep_snds_trap_hits', l, data ? data.traps : NaN);
    if (config.snds.ipStatus) b.set('mtarep_snds_blocked', l, bit(s?.status === 'ok' && s.value?.blocked?.blocked === true));
    b.set('mtarep_snds_error', l, checkError(s));
  }

  if (config.dnsMatch && rec?.dnsMatch.status !== 'skipped') {
    const m = rec?.dnsMatch;
    for (const part of matchParts) {
      const p = m?.status === 'ok' ? m.value?.[part] : undefined;
      const pl = { ...l, part };
      b.set('mtarep_dns_match', pl, p === undefined || p.state === 'error' ? NaN : bit(p.state === 'match'));
      b.set('mtarep_dns_match_error', pl, bit(p === undefined || p.state === 'error'));
    }
  }

  if (config.httpReputation && rec?.httpReputation?.status !== 'skipped') {
    const h = rec?.httpReputation;
    const verdict = h?.status === 'ok' ? h.value?.verdict : undefined;
    for (const v of verdicts) b.set('mtarep_http_reputation', { ...l, verdict: v }, bit(verdict === v));
    b.set('mtarep_http_reputation_error', l, checkError(h));
  }
}

export interface MetricsInput {
  config: Config;
  snap: Snapshot;
  version: string;
}

/** The registry of one scrape. */
export function buildMetrics({ config, snap, version }: MetricsInput): Registry {
  const b = new Builder(metricHelp);
  b.set('mtarep_build_info', { version }, 1);

  const run = snap.lastRun;
  const unhealthy = new Set((run?.unhealthyZones ?? []).map((u) => u.split(':')[0]!.trim()));
  for (const z of config.zones) if (!z.domainOnly) b.set('mtarep_dnsbl_zone_unhealthy', { zone: z.zone }, bit(unhealthy.has(z.zone)));

  for (const h of config.hosts) {
    const rec = snap.hosts.get(h.name);
    const ips = hostIps(config, h.name, rec);
    b.set('mtarep_host_resolve_error', { host: h.name }, bit(h.ips === undefined && (rec === undefined || rec.resolve.status === 'error')));
    b.set('mtarep_host_ips', { host: h.name }, ips.length);
    for (const ip of ips) ipSeries(b, config, h.name, ip, snap.ips.get(ip), unhealthy);

    if (h.ssh) {
      const bl = snap.blocks.get(h.name);
      b.set('mtarep_maillog_read_error', { host: h.name }, bit(bl === undefined || bl.status === 'error'));
      b.set('mtarep_maillog_last_success_timestamp_seconds', { host: h.name }, bl?.status === 'ok' ? seconds(bl.at) : seconds(bl?.blocksAt));
      b.set('mtarep_maillog_lines_read', { host: h.name }, bl?.lines?.read ?? 0);
      b.set('mtarep_maillog_unparsed_lines', { host: h.name }, bl?.lines?.unparsed ?? 0);
      const providers = new Set([...config.providerBlocks.map((p) => p.provider), ...(bl?.blocks ?? []).map((x) => x.provider)]);
      for (const provider of providers) {
        b.set('mtarep_provider_blocks', { host: h.name, provider }, (bl?.blocks ?? []).filter((x) => x.provider === provider).length);
      }
    }
  }

  b.set('mtarep_last_run_timestamp_seconds', {}, seconds(run?.finishedAt));
  b.set('mtarep_last_run_duration_seconds', {}, run ? run.durationMs / 1000 : NaN);
  for (const status of runStatuses) b.set('mtarep_last_run_status', { status }, bit(run?.status === status));
  for (const [check, c] of Object.entries(run?.checks ?? {})) {
    for (const result of ['ok', 'error', 'skipped'] as const) b.set('mtarep_last_run_check_results', { check, result }, c[result]);
  }
  b.set('mtarep_stored_record_errors', {}, snap.problems.length);
  b.declareAll();
  return b.registry;
}
