/**
 * Microsoft SNDS: one fetch of `data.aspx?key=KEY` per run (and of `ipStatus.aspx?key=KEY` when
 * `snds_ip_status` is on), parsed by ../snds/parse.ts, then one result per MTA IP. An HTML page, an
 * empty data export, a timeout, an HTTP error or a malformed row is an error with its reason, never a
 * clean verdict. The key is a secret: URLs are described with it replaced, and every message is
 * scrubbed. SNDS has no IPv6: IPv6 targets are skipped.
 */
import { sndsPlugin } from '../../lib/checks/snds.js';
import type { CheckResult, SndsValue } from '../../lib/model.js';
import { scrub } from '../../lib/log.js';
import { getText } from '../http-get.js';
import {
  newestRowPerIp,
  parseSndsData,
  parseSndsIpStatus,
  rangesFor,
  type BlockedRange,
  type SndsDataExport,
  type SndsRow,
} from '../snds/parse.js';
import type { Check, CheckDeps, Target } from './types.js';

type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

async function fetchExport<T>(
  deps: CheckDeps,
  endpoint: 'data.aspx' | 'ipStatus.aspx',
  parse: (body: string) => T,
): Promise<Outcome<T & { empty: boolean }>> {
  const { url: base, key, timeoutMs } = deps.config.snds;
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

export const sndsCheck: Check<SndsValue> = {
  name: 'snds',
  plugin: sndsPlugin,
  skipReason(config) {
    return config.snds.key === undefined ? 'no snds_key configured' : null;
  },
  async run(targets: readonly Target[], deps: CheckDeps) {
    const at = deps.now().toISOString();
    const out = new Map<string, CheckResult<SndsValue>>();
    const v4 = targets.filter((t) => t.family === 4);
    for (const t of targets) {
      if (t.family === 6) out.set(t.ip, { status: 'skipped', at, reason: 'SNDS has no IPv6 data' });
    }
    if (v4.length === 0) return out;
    if (deps.config.snds.key === undefined) {
      for (const t of v4) out.set(t.ip, { status: 'skipped', at, reason: 'no snds_key configured' });
      return out;
    }

    // Both exports are fetched at once: one slow endpoint does not add to the other's wait.
    const [data, status] = await Promise.all([
      fetchExport<SndsDataExport>(deps, 'data.aspx', parseSndsData),
      deps.config.snds.ipStatus ? fetchExport(deps, 'ipStatus.aspx', parseSndsIpStatus) : Promise.resolve(null),
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
};
