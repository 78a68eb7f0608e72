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
import { checkPlugins, resultOf, type AnyPlugin } from '../../lib/checks/index.js';
import type { IpRecord } from '../../lib/model.js';
import { probeStates, type ProbeRoundState } from '../../lib/probes/model.js';
import type { ApiDomain } from './delivery.js';
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

/** The metrics mtarep itself has; each check plugin adds its own (lib/checks, `series.help`). */
const baseHelp: Record<string, [string, string[]]> = {
  mtarep_build_info: ['mtarep version (value 1)', ['version']],
  mtarep_host_resolve_error: ['1 when the host could not be resolved (or has not been yet)', ['host']],
  mtarep_host_ips: ['Number of IP addresses the host has', ['host']],
  mtarep_ip_last_check_timestamp_seconds: ['When the IP was last checked (0: never)', ['host', 'ip']],
  mtarep_dnsbl_zone_unhealthy: ['1 when the zone failed its self-test in the last run', ['zone']],
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
  mtarep_probe_failing: ['1 when the probe domain passes a failure limit over the window (never for a domain in maintenance)', ['domain', 'customer']],
  mtarep_probe_maintenance: ['1 when the probe domain is in maintenance (not probed, not judged)', ['domain', 'customer']],
  mtarep_probe_last_rtt_seconds: ["Round-trip time of the domain's newest returned probe (NaN: none back yet)", ['domain', 'customer']],
  mtarep_probe_last_sent_timestamp_seconds: ["When the domain's newest probe was sent (0: never)", ['domain', 'customer']],
  mtarep_probe_window_probes: ['Probes sent to the domain within the window, by state', ['domain', 'customer', 'state']],
  mtarep_probe_on_time_ratio: ['Share of judged probes back on time within the window (NaN: none judged)', ['domain', 'customer']],
  mtarep_probe_mailbox_last_read_timestamp_seconds: ['When the probe mailbox was last read completely (0: never)', []],
  mtarep_probe_last_round_timestamp_seconds: ['When the newest probe round finished (0: never)', []],
  mtarep_probe_last_round_status: ['Status of the newest probe round: 1 for the current status', ['status']],
};

/** Every metric with these check plugins: help text and label names. */
export function metricHelpOf(plugins: readonly AnyPlugin[]): Record<string, [string, string[]]> {
  return Object.assign({}, baseHelp, ...plugins.map((p) => p.series?.help ?? {}));
}

/** Every metric of the built-in checks. The README's metrics table follows this list. */
export const metricHelp = metricHelpOf(checkPlugins);

const runStatuses = ['ok', 'partial', 'failed'] as const;

function ipSeries(b: Builder, plugins: readonly AnyPlugin[], config: Config, host: string, ip: string, rec: IpRecord | undefined, unhealthyZones: ReadonlySet<string>): void {
  const l = { host, ip };
  b.set('mtarep_ip_last_check_timestamp_seconds', l, seconds(rec?.checkedAt));
  const ctx = { config, v6: ip.includes(':'), unhealthyZones };
  for (const p of plugins) {
    for (const s of p.series?.samples(resultOf(rec, p), ctx) ?? []) b.set(s.name, { ...l, ...s.labels }, s.value);
  }
}

export interface MetricsInput {
  config: Config;
  snap: Snapshot;
  version: string;
  /** The check plugins exported (default: the built-in list). */
  plugins?: readonly AnyPlugin[];
  /** The probe domains with their figures, and the probe round's state (when probes are configured). */
  probes?: { domains: readonly ApiDomain[]; state: ProbeRoundState };
}

function probeSeries(b: Builder, { domains, state }: NonNullable<MetricsInput['probes']>): void {
  b.set('mtarep_probe_mailbox_last_read_timestamp_seconds', {}, state.lastGoodReadAt ? state.lastGoodReadAt / 1000 : 0);
  b.set('mtarep_probe_last_round_timestamp_seconds', {}, seconds(state.lastRound?.finishedAt));
  for (const status of runStatuses) b.set('mtarep_probe_last_round_status', { status }, bit(state.lastRound?.status === status));
  for (const d of domains) {
    const l = { domain: d.domain, customer: d.customer };
    b.set('mtarep_probe_failing', l, bit(d.failing));
    b.set('mtarep_probe_maintenance', l, bit(d.maintenance));
    b.set('mtarep_probe_last_rtt_seconds', l, d.last?.rtt_s ?? NaN);
    b.set('mtarep_probe_last_sent_timestamp_seconds', l, seconds(d.last?.sent_at));
    for (const st of probeStates) b.set('mtarep_probe_window_probes', { ...l, state: st }, d.counts[st]);
    b.set('mtarep_probe_on_time_ratio', l, d.on_time_pct === null ? NaN : d.on_time_pct / 100);
  }
}

/** The registry of one scrape. */
export function buildMetrics({ config, snap, version, plugins = checkPlugins, probes }: MetricsInput): Registry {
  const b = new Builder(metricHelpOf(plugins));
  b.set('mtarep_build_info', { version }, 1);

  const run = snap.lastRun;
  const unhealthy = new Set((run?.unhealthyZones ?? []).map((u) => u.split(':')[0]!.trim()));
  for (const z of config.zones) if (!z.domainOnly) b.set('mtarep_dnsbl_zone_unhealthy', { zone: z.zone }, bit(unhealthy.has(z.zone)));

  for (const h of config.hosts) {
    const rec = snap.hosts.get(h.name);
    const ips = hostIps(config, h.name, rec);
    b.set('mtarep_host_resolve_error', { host: h.name }, bit(h.ips === undefined && (rec === undefined || rec.resolve.status === 'error')));
    b.set('mtarep_host_ips', { host: h.name }, ips.length);
    for (const ip of ips) ipSeries(b, plugins, config, h.name, ip, snap.ips.get(ip), unhealthy);

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
  if (probes) probeSeries(b, probes);
  b.declareAll();
  return b.registry;
}
