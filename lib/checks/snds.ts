/**
 * Microsoft SNDS: filter yellow/red and trap hits at `severity.snds_traps_warning` are
 * warnings; an IP blocked by Microsoft is a problem. Two overview columns: SNDS and Traps.
 */
import * as z from 'zod';
import { scrub } from '../log.js';
import type { CheckResult, SndsValue } from '../model.js';
import { getText } from '../net/http-get.js';
import type { SeverityReason } from '../severity.js';
import { apiString, bit, checkCell, detailRow, failedReason, freshValue, int, once, seriesError, valueOf } from './common.js';
import { type BlockedRange, newestRowPerIp, parseSndsData, parseSndsIpStatus, rangesFor, sndsPeriodText, type SndsDataExport, type SndsRow } from './snds-parse.js';
import { settingsOf, type CheckDeps, type CheckPlugin, type ConfigSlice, type SeenIssue, type Target } from './types.js';
import type { Config } from '../config/normalize.js';
import { durationMs, httpUrl, nonEmpty } from '../config/fields.js';

/** The stored value: built on first use (see `once`). */
const valueSchema = once(() =>
  z.looseObject({
    data: data().nullable(),
    blocked: z.looseObject({ blocked: z.boolean(), reason: z.string().optional() }).nullable(),
  }),
);

const data = () => z.looseObject({
  color: z.enum(['green', 'yellow', 'red']),
  traps: z.number(),
  complaintRate: z.string(),
  rcptCommands: z.number(),
  dataCommands: z.number(),
  recipients: z.number(),
  periodStart: z.string(),
  periodEnd: z.string(),
});

const sndsColors = ['green', 'yellow', 'red'] as const;

export interface SndsSettings {
  /** The SNDS automated-access key (a secret); absent: SNDS is not read. */
  key?: string;
  /** Base URL of the exports, ending in '/'. */
  url: string;
  /** Also read the IP status export (blocked ranges). */
  ipStatus: boolean;
  timeoutMs: number;
}

const configSlice: ConfigSlice<SndsSettings> = {
  keys: {
    snds_key: nonEmpty.optional(),
    snds_url: httpUrl.default('https://sendersupport.olc.protection.outlook.com/snds/'),
    snds_ip_status: z.boolean().default(false),
    snds_timeout_ms: durationMs(300_000).default(20000),
  },
  normalize(raw, { warnings }) {
    const key = raw['snds_key'] as string | undefined;
    const url = raw['snds_url'] as string;
    if (key !== undefined && /^<.*>$/.test(key.trim())) {
      warnings.push('snds_key is still the example placeholder: SNDS will report an error until it is set');
    }
    return {
      url: url.endsWith('/') ? url : url + '/',
      ipStatus: raw['snds_ip_status'] as boolean,
      timeoutMs: raw['snds_timeout_ms'] as number,
      ...(key !== undefined ? { key } : {}),
    };
  },
  secrets: (s) => (s.key ? [s.key] : []),
};

export const sndsSettings = (config: Config): SndsSettings => settingsOf<SndsSettings>(config, 'snds');

export const sndsPlugin: CheckPlugin<SndsValue> = {
  name: 'snds',
  label: 'SNDS',
  config: configSlice,
  get value() {
    return valueSchema();
  },
  judge(r, { rules }) {
    const out: SeverityReason[] = [];
    const v = valueOf(r);
    if (v?.data) {
      if (v.data.color === 'red' || v.data.color === 'yellow') out.push({ level: 'warning', text: `SNDS filter ${v.data.color}` });
      if (v.data.traps >= rules.sndsTrapsWarning) out.push({ level: 'warning', text: `SNDS trap hits ${v.data.traps} >= ${rules.sndsTrapsWarning}` });
    }
    if (v?.blocked?.blocked) out.push({ level: 'error', text: `blocked by Microsoft${v.blocked.reason ? `: ${v.blocked.reason}` : ''}` });
    return [...out, ...failedReason('SNDS', r)];
  },
  issues(r, { ip, host, rules }) {
    if (r.status === 'error') return { open: [], undetermined: [`snds:${ip}:`] };
    const open: SeenIssue[] = [];
    const v = r.status === 'ok' ? r.value : undefined;
    const where = { host, ip, provider: 'microsoft' };
    const d = v?.data;
    if (d && (d.color === 'red' || d.color === 'yellow')) {
      open.push({ id: `snds:${ip}:filter`, kind: 'snds', severity: 'warning', ...where, state: d.color, detail: `complaint rate ${d.complaintRate}` });
    }
    if (d && d.traps >= rules.sndsTrapsWarning) open.push({ id: `snds:${ip}:traps`, kind: 'snds_traps', severity: 'warning', ...where, state: `traps ${d.traps}` });
    const b = v?.blocked;
    if (b?.blocked) {
      open.push({ id: `snds:${ip}:blocked`, kind: 'snds', severity: 'problem', ...where, state: 'blocked', ...(b.reason !== undefined ? { detail: b.reason } : {}) });
    }
    return { open, undetermined: [] };
  },
  history(r) {
    const d = freshValue(r)?.data ?? null;
    return { traps: d ? d.traps : null, color: d ? d.color : null };
  },
  columns: () => [
    {
      key: 'snds',
      header: 'SNDS',
      order: 30,
      cell: (r) =>
        checkCell(r, (v) => {
          if (v.blocked?.blocked) return { text: 'blocked', state: 'bad', title: v.blocked.reason ?? 'blocked by Microsoft' };
          if (!v.data) return { text: 'no data', state: 'none', title: 'SNDS has no row for this IP' };
          return { text: v.data.color, state: v.data.color === 'green' ? 'good' : 'warn', title: `complaints ${v.data.complaintRate}, ${v.data.recipients} rcpts` };
        }),
      sort(r) {
        const v = valueOf(r);
        return v?.blocked?.blocked ? 4 : v?.data ? { green: 1, yellow: 2, red: 3 }[v.data.color] : 0;
      },
    },
    {
      key: 'traps',
      numeric: true,
      header: 'Traps',
      order: 40,
      cell: (r, { rules }) =>
        checkCell(r, (v) => (v.data ? { text: String(v.data.traps), state: v.data.traps >= rules.sndsTrapsWarning ? 'warn' : 'good' } : { text: 'no data', state: 'none' })),
      sort: (r) => valueOf(r)?.data?.traps ?? -1,
    },
  ],
  detail: (r) => [
    detailRow('SNDS', r, (v) =>
      (v.data ? `${v.data.color}, ${v.data.traps} trap hits, complaints ${v.data.complaintRate}, ${sndsPeriodText(v.data.periodStart, v.data.periodEnd)}` : 'no row for this IP') +
      (v.blocked ? (v.blocked.blocked ? `; BLOCKED ${v.blocked.reason ?? ''}` : '; not blocked') : ''),
    ),
  ],
  api: (r) => ({
    sndscolor: apiString(r, (v) => (v.blocked?.blocked ? 'blocked' : (v.data?.color ?? 'no data'))),
    sndstraps: apiString(r, (v) => (v.data ? String(v.data.traps) : 'no data')),
  }),
  series: {
    help: {
      mtarep_snds_filter: ['SNDS filter result: 1 for the current colour', ['host', 'ip', 'color']],
      mtarep_snds_trap_hits: ['SNDS trap hits in the latest period (NaN when SNDS has no row)', ['host', 'ip']],
      mtarep_snds_blocked: ['1 when the SNDS IP status export lists the IP as blocked', ['host', 'ip']],
      mtarep_snds_error: ['1 when the SNDS fetch failed (or has not run yet)', ['host', 'ip']],
    },
    samples(r, { config }) {
      if (sndsSettings(config).key === undefined || r?.status === 'skipped') return [];
      const row = r?.status === 'ok' ? r.value?.data : undefined;
      return [
        ...sndsColors.map((color) => ({ name: 'mtarep_snds_filter', labels: { color }, value: bit(row?.color === color) })),
        { name: 'mtarep_snds_trap_hits', value: row ? row.traps : NaN },
        ...(sndsSettings(config).ipStatus ? [{ name: 'mtarep_snds_blocked', value: bit(r?.status === 'ok' && r.value?.blocked?.blocked === true) }] : []),
        { name: 'mtarep_snds_error', value: seriesError(r) },
      ];
    },
    influx(r, { config }) {
      if (sndsSettings(config).key === undefined || r?.status === 'skipped') return { fields: {} };
      const row = r?.status === 'ok' ? r.value?.data : undefined;
      const blocked = r?.status === 'ok' ? r.value?.blocked : undefined;
      return {
        fields: {
          snds_traps: row ? int(row.traps) : undefined,
          snds_color: row?.color,
          snds_blocked: blocked ? int(bit(blocked.blocked)) : undefined,
          snds_error: int(seriesError(r)),
        },
      };
    },
  },
  skipReason(config) {
    return sndsSettings(config).key === undefined ? 'no snds_key configured' : null;
  },
  async run(targets: readonly Target[], deps: CheckDeps) {
    const at = deps.now().toISOString();
    const out = new Map<string, CheckResult<SndsValue>>();
    const v4 = targets.filter((t) => t.family === 4);
    for (const t of targets) {
      if (t.family === 6) out.set(t.ip, { status: 'skipped', at, reason: 'SNDS has no IPv6 data' });
    }
    if (v4.length === 0) return out;
    if (sndsSettings(deps.config).key === undefined) {
      for (const t of v4) out.set(t.ip, { status: 'skipped', at, reason: 'no snds_key configured' });
      return out;
    }

    // Both exports are fetched at once: one slow endpoint does not add to the other's wait.
    const [data, status] = await Promise.all([
      fetchExport<SndsDataExport>(deps, 'data.aspx', parseSndsData),
      sndsSettings(deps.config).ipStatus ? fetchExport(deps, 'ipStatus.aspx', parseSndsIpStatus) : Promise.resolve(null),
    ]);

    const fail = (reason: string) => {
      for (const t of v4) out.set(t.ip, { status: 'error', at, reason });
      return out;
    };
    if (!data.ok) return fail(data.reason);
    if (data.value.empty) {
      return fail('SNDS data export was empty: no data published for the previous day yet (normal early in the day), or the key covers no IPs');
    }
    if (status && !status.ok) return fail(`IP status: ${status.reason}`);

    // A bad row without a readable IP could concern any target: no verdict can be trusted then.
    const orphan = data.value.problems.find((p) => p.ip === undefined);
    if (orphan) return fail(`SNDS data export line ${orphan.line} is malformed: ${orphan.reason}`);
    const statusProblem = status?.value.problems[0];
    if (statusProblem) return fail(`SNDS IP status export line ${statusProblem.line} is malformed: ${statusProblem.reason}`);

    const badRows = new Map(data.value.problems.map((p) => [p.ip!, p]));
    const rows: Map<string, SndsRow> = newestRowPerIp(data.value.rows);
    const ranges = status?.value.ranges ?? null;
    for (const t of v4) {
      const bad = badRows.get(t.ip);
      if (bad) {
        out.set(t.ip, { status: 'error', at, reason: `SNDS data export line ${bad.line} for this IP is malformed: ${bad.reason}` });
        continue;
      }
      const row = rows.get(t.ip);
      let value: SndsValue['data'] = null;
      if (row) {
        const { ip: _ip, line: _line, ...rest } = row;
        value = rest;
      }
      out.set(t.ip, { status: 'ok', at, value: { data: value, blocked: ranges ? blockedFor(t.ip, ranges) : null } });
    }
    return out;
  },
  describe: (config) => `SNDS: ${sndsSettings(config).key ? `on (key set), ${sndsSettings(config).url}${sndsSettings(config).ipStatus ? ', IP status export on' : ''}` : 'off (no snds_key)'}`,
};

/* Run half (the network part).
 * Microsoft SNDS: one fetch of `data.aspx?key=KEY` per run (and of `ipStatus.aspx?key=KEY` when
 * `snds_ip_status` is on), parsed by ../snds/parse.ts, then one result per MTA IP. An HTML page, an
 * empty data export, a timeout, an HTTP error or a malformed row is an error with its reason, never a
 * clean verdict. The key is a secret: URLs are described with it replaced, and every message is
 * scrubbed. SNDS has no IPv6: IPv6 targets are skipped.
 */
type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

async function fetchExport<T>(
  deps: CheckDeps,
  endpoint: 'data.aspx' | 'ipStatus.aspx',
  parse: (body: string) => T,
): Promise<Outcome<T & { empty: boolean }>> {
  const { url: base, key, timeoutMs } = sndsSettings(deps.config);
  const url = `${base}${endpoint}?key=${encodeURIComponent(key!)}`;
  const describe = `SNDS ${endpoint}`;
  try {
    const res = await getText(deps.fetch, url, { timeoutMs, describe, accept: 'text/csv, text/plain, */*' });
    return { ok: true, value: { ...parse(res.body), empty: res.body.trim() === '' } };
  } catch (e) {
    return { ok: false, reason: scrub((e as Error).message, [key!, encodeURIComponent(key!)]) };
  }
}

function blockedFor(ip: string, ranges: readonly BlockedRange[]): SndsValue['blocked'] {
  const hit = rangesFor(ip, ranges).find((r) => r.blocked);
  if (!hit) return { blocked: false };
  return { blocked: true, reason: `${hit.reason || 'blocked'} (range ${hit.first}-${hit.last})` };
}
