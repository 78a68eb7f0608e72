/**
 * `mtarep collect --output-format influx`: a run's figures as InfluxDB line protocol, for Telegraf's
 * `inputs.exec` (users who prefer exec to scraping /metrics). Every line carries the run's finish time.
 * Measurements: mtarep_run (one), mtarep_check (per check), mtarep_ip (per IP), mtarep_dnsbl (per IP
 * and zone), mtarep_provider_blocks (per host and provider), mtarep_maillog (per host read over SSH).
 * A check that failed or never ran leaves its value field out and sets its `*_error` field to 1, so a
 * failure is never a clean value. Pure: config, summary and stored records in, lines out.
 */
import type { Config } from '../lib/config/normalize.js';
import { formatLine, nanos, type FieldValue } from '../lib/influx.js';
import type { BlocksRecord, CheckResult, HostRecord, IpRecord, RunSummary } from '../lib/model.js';

export interface InfluxInput {
  config: Config;
  summary: RunSummary;
  hosts: ReadonlyMap<string, HostRecord | undefined>;
  ips: ReadonlyMap<string, IpRecord>;
  blocks: ReadonlyMap<string, BlocksRecord>;
}

const int = (n: number) => ({ int: n });
const bit = (b: boolean) => int(b ? 1 : 0);
const failed = (r: CheckResult<unknown> | undefined) => bit(r === undefined || r.status === 'error');

/** The IPs a host's figures cover: the stored record's, else the configured ones. */
function ipsOf(config: Config, name: string, rec: HostRecord | undefined): string[] {
  return rec?.ips ?? config.hosts.find((h) => h.name === name)?.ips ?? [];
}

export function formatCollectInflux({ config, summary, hosts, ips, blocks }: InfluxInput): string[] {
  const timestamp = nanos(new Date(summary.finishedAt));
  const lines: string[] = [];
  const line = (measurement: string, tags: Record<string, string>, fields: Record<string, FieldValue | undefined>) =>
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
      const v6 = ip.includes(':');
      const zones = config.zones.filter((z) => !z.domainOnly && (!v6 || z.ipv6));
      let listed = 0;
      let dnsblErrors = 0;
      for (const z of zones) {
        const d = rec?.dnsbl.value?.zones.find((x) => x.zone === z.zone);
        const isListed = d?.state === 'listed';
        const isError = d === undefined || d.state === 'error' || d.state === 'unknown' || d.unhealthy !== undefined;
        if (isListed && d?.kind !== 'allow') listed++;
        if (isError) dnsblErrors++;
        line('mtarep_dnsbl', { host: h.name, ip, zone: z.zone }, { listed: bit(isListed), error: bit(isError) });
      }
      const f: Record<string, FieldValue | undefined> = { checked: bit(rec !== undefined), listings: int(listed), dnsbl_errors: int(dnsblErrors) };
      if (config.senderscoreZone !== null && rec?.senderscore.status !== 'skipped') {
        const s = rec?.senderscore;
        if (s?.status === 'ok' && s.value?.score != null) f['senderscore'] = s.value.score;
        f['senderscore_error'] = failed(s);
      }
      if (config.snds.key !== undefined && rec?.snds.status !== 'skipped') {
        const s = rec?.snds;
        const data = s?.status === 'ok' ? s.value?.data : undefined;
        if (data) {
          f['snds_traps'] = int(data.traps);
          f['snds_color'] = data.color;
        }
        if (s?.status === 'ok' && s.value?.blocked) f['snds_blocked'] = bit(s.value.blocked.blocked);
        f['snds_error'] = failed(s);
      }
      if (config.dnsMatch && rec?.dnsMatch.status !== 'skipped') {
        const m = rec?.dnsMatch;
        for (const part of ['rdns', 'fdns', 'helo'] as const) {
          const p = m?.status === 'ok' ? m.value?.[part] : undefined;
          if (p && p.state !== 'error') f[`${part}_match`] = bit(p.state === 'match');
          f[`${part}_error`] = bit(p === undefined || p.state === 'error');
        }
      }
      if (config.httpReputation && rec?.httpReputation?.status !== 'skipped') {
        const r = rec?.httpReputation;
        if (r?.status === 'ok' && r.value) f['http_reputation'] = r.value.verdict;
        f['http_reputation_error'] = failed(r);
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
  return lines;
}
