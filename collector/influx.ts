/**
 * `mtarep collect --output-format influx`: a run's figures as InfluxDB line protocol, for Telegraf's
 * `inputs.exec` (users who prefer exec to scraping /metrics). Every line carries the run's finish time.
 * Measurements: mtarep_run (one), mtarep_check (per check), mtarep_ip (per IP: each check plugin's
 * fields, lib/checks `series.influx`), mtarep_dnsbl (per IP and zone, from the DNSBL plugin),
 * mtarep_provider_blocks (per host and provider), mtarep_maillog (per host read over SSH), and when
 * the run covered probes mtarep_probe_round (one) and mtarep_probe (per probe domain: counts by state
 * over the window, failing, maintenance, last round-trip seconds, on-time percentage).
 * A check that failed or never ran leaves its value field out and sets its `*_error` field to 1, so a
 * failure is never a clean value. Pure: config, summary and stored records in, lines out.
 */
import type { Config } from '../lib/config/normalize.js';
import { formatLine, nanos, type FieldValue } from '../lib/influx.js';
import { checkPlugins, resultOf, type AnyPlugin } from '../lib/checks/index.js';
import type { BlocksRecord, HostRecord, IpRecord, RunSummary } from '../lib/model.js';
import type { ProbeDomain } from '../lib/probes/domains.js';
import { probeStates, type DomainSummary, type ProbeRoundSummary } from '../lib/probes/model.js';

export interface InfluxInput {
  config: Config;
  summary: RunSummary;
  hosts: ReadonlyMap<string, HostRecord | undefined>;
  ips: ReadonlyMap<string, IpRecord>;
  blocks: ReadonlyMap<string, BlocksRecord>;
  /** The check plugins exported (default: the built-in list). */
  plugins?: readonly AnyPlugin[];
  /** The probe domains, their figures as the newest round judged them, and that round (when the run covered probes). */
  probes?: { domains: readonly ProbeDomain[]; summaries: ReadonlyMap<string, DomainSummary>; round?: ProbeRoundSummary };
}

const int = (n: number) => ({ int: n });
const bit = (b: boolean) => int(b ? 1 : 0);

/** The IPs a host's figures cover: the stored record's, else the configured ones. */
function ipsOf(config: Config, name: string, rec: HostRecord | undefined): string[] {
  return rec?.ips ?? config.hosts.find((h) => h.name === name)?.ips ?? [];
}

export function formatCollectInflux({ config, summary, hosts, ips, blocks, plugins = checkPlugins, probes }: InfluxInput): string[] {
  const timestamp = nanos(new Date(summary.finishedAt));
  const lines: string[] = [];
  const unhealthyZones = new Set(summary.unhealthyZones.map((u) => u.split(':')[0]!.trim()));
  const line = (measurement: string, tags: Record<string, string | undefined>, fields: Record<string, FieldValue | undefined>) =>
    lines.push(formatLine({ measurement, tags, fields, timestamp }));

  line('mtarep_run', { status: summary.status }, {
    duration_seconds: summary.durationMs / 1000,
    hosts: int(summary.hosts),
    ips: int(summary.ips),
    errors: int(summary.errors.length),
    unhealthy_zones: int(summary.unhealthyZones.length),
    ok: bit(summary.status === 'ok'),
  });
  for (const [check, c] of Object.entries(summary.checks)) line('mtarep_check', { check }, { ok: int(c.ok), error: int(c.error), skipped: int(c.skipped) });

  for (const h of config.hosts) {
    const hostRec = hosts.get(h.name);
    for (const ip of ipsOf(config, h.name, hostRec)) {
      const rec = ips.get(ip);
      const ctx = { config, v6: ip.includes(':'), unhealthyZones };
      const f: Record<string, FieldValue | undefined> = { checked: bit(rec !== undefined) };
      for (const p of plugins) {
        if (!p.series) continue;
        const out = p.series.influx(resultOf(rec, p), ctx);
        Object.assign(f, out.fields);
        for (const pt of out.points ?? []) line(pt.measurement, { host: h.name, ip, ...pt.tags }, pt.fields);
      }
      line('mtarep_ip', { host: h.name, ip }, f);
    }
    if (h.ssh) {
      const b = blocks.get(h.name);
      line('mtarep_maillog', { host: h.name }, {
        read_error: bit(b === undefined || b.status === 'error'),
        lines_read: b?.lines ? int(b.lines.read) : undefined,
        unparsed_lines: b?.lines ? int(b.lines.unparsed) : undefined,
      });
      const providers = new Set([...config.providerBlocks.map((p) => p.provider), ...(b?.blocks ?? []).map((x) => x.provider)]);
      for (const provider of providers) {
        line('mtarep_provider_blocks', { host: h.name, provider }, { blocks: int((b?.blocks ?? []).filter((x) => x.provider === provider).length) });
      }
    }
  }
  if (probes) {
    const round = probes.round;
    if (round) {
      line('mtarep_probe_round', { status: round.status }, {
        sent: int(round.sent),
        send_failed: int(round.sendFailed),
        matched: int(round.matched),
        bounced: int(round.bounced),
        failing: int(round.failing.length),
        receive_error: bit(round.receiveError !== undefined),
      });
    }
    for (const d of probes.domains) {
      const s = probes.summaries.get(d.domain);
      const f: Record<string, FieldValue | undefined> = {
        failing: bit(!d.maintenance && (s?.failing ?? false)),
        maintenance: bit(d.maintenance),
        last_rtt_s: s?.last?.rttS,
        on_time_pct: s?.onTimePct ?? undefined,
      };
      for (const st of probeStates) f[st] = int(s?.counts[st] ?? 0);
      line('mtarep_probe', { domain: d.domain, customer: d.customer }, f);
    }
  }
  return lines;
}
