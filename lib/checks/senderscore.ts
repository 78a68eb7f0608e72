/** SenderScore: a score below `severity.senderscore_warning` is a warning. */
import * as z from 'zod';
import { mapLimit } from '../concurrency.js';
import type { CheckResult, SenderScoreValue } from '../model.js';
import { DnsLookupError } from '../net/dns/errors.js';
import { dnsblName } from '../net/dns/names.js';
import { apiString, checkCell, detailRow, failedReason, freshValue, int, once, seriesError, valueOf } from './common.js';
import { settingsOf, type CheckPlugin, type ConfigSlice } from './types.js';
import type { Config } from '../config/normalize.js';
import { nonEmpty } from '../config/fields.js';

export interface SenderscoreSettings {
  /** The DNS zone scores are read from; null when `senderscore_zone: false`. */
  zone: string | null;
}

const configSlice: ConfigSlice<SenderscoreSettings> = {
  keys: { senderscore_zone: z.union([nonEmpty, z.literal(false)]).default('score.senderscore.com') },
  normalize: (raw) => {
    const zone = raw['senderscore_zone'] as string | false;
    return { zone: zone === false ? null : zone.toLowerCase() };
  },
};

export const senderscoreSettings = (config: Config): SenderscoreSettings => settingsOf<SenderscoreSettings>(config, 'senderscore');

/** The stored value: built on first use (see `once`). */
const valueSchema = once(() => z.looseObject({ score: z.number().nullable() }));

export const senderscorePlugin: CheckPlugin<SenderScoreValue> = {
  name: 'senderscore',
  label: 'SenderScore',
  config: configSlice,
  get value() {
    return valueSchema();
  },
  judge(r, { rules }) {
    const score = valueOf(r)?.score;
    const out = typeof score === 'number' && score < rules.senderscoreWarning ? [{ level: 'warning' as const, text: `SenderScore ${score} < ${rules.senderscoreWarning}` }] : [];
    return [...out, ...failedReason('SenderScore', r)];
  },
  issues(r, { ip, host, rules }) {
    const id = `score:${ip}`;
    if (r.status === 'error') return { open: [], undetermined: [id] };
    const score = r.status === 'ok' ? r.value?.score : undefined;
    if (typeof score === 'number' && score < rules.senderscoreWarning) {
      return { open: [{ id, kind: 'score', severity: 'warning', host, ip, state: `score ${score}` }], undetermined: [] };
    }
    return { open: [], undetermined: [] };
  },
  history: (r) => ({ score: freshValue(r)?.score ?? null }),
  columns: () => [
    {
      key: 'score',
      numeric: true,
      header: 'SenderScore',
      order: 20,
      cell: (r, { rules }) =>
        checkCell(r, (v) => (v.score === null ? { text: 'no score', state: 'none' } : { text: String(v.score), state: v.score < rules.senderscoreWarning ? 'warn' : 'good' })),
      sort: (r) => r?.value?.score ?? -1,
    },
  ],
  detail: (r) => [detailRow('SenderScore', r, (v) => (v.score === null ? 'no score' : String(v.score)))],
  api: (r) => ({ senderscore: apiString(r, (v) => (v.score === null ? 'no score' : String(v.score))) }),
  series: {
    help: {
      mtarep_senderscore: ['SenderScore of the IP (0-100; NaN when there is none)', ['host', 'ip']],
      mtarep_senderscore_error: ['1 when the SenderScore lookup failed (or has not run yet)', ['host', 'ip']],
    },
    samples(r, { config }) {
      if (senderscoreSettings(config).zone === null || r?.status === 'skipped') return [];
      const score = r?.status === 'ok' ? r.value?.score : undefined;
      return [
        { name: 'mtarep_senderscore', value: typeof score === 'number' ? score : NaN },
        { name: 'mtarep_senderscore_error', value: seriesError(r) },
      ];
    },
    influx(r, { config }) {
      if (senderscoreSettings(config).zone === null || r?.status === 'skipped') return { fields: {} };
      const score = r?.status === 'ok' ? r.value?.score : undefined;
      return { fields: { senderscore: typeof score === 'number' ? score : undefined, senderscore_error: int(seriesError(r)) } };
    },
  },
  skipReason(config) {
    return senderscoreSettings(config).zone === null ? 'senderscore_zone is false' : null;
  },
  async run(targets, deps) {
    const zone = senderscoreSettings(deps.config).zone;
    const at = deps.now().toISOString();
    const out = new Map<string, CheckResult<SenderScoreValue>>();
    if (zone === null) {
      for (const t of targets) out.set(t.ip, { status: 'skipped', at, reason: 'senderscore_zone is false' });
      return out;
    }
    // The DNS client bounds queries in flight; this only keeps the number of pending promises small.
    await mapLimit(targets, deps.config.dns.concurrency, async (t) => {
      if (t.family === 6) {
        out.set(t.ip, { status: 'skipped', at, reason: 'SenderScore has no data for IPv6 addresses' });
        return;
      }
      try {
        out.set(t.ip, scoreFromAnswers(await deps.dns.resolve4(dnsblName(t.ip, zone)), at));
      } catch (e) {
        const err = e instanceof DnsLookupError ? e : new DnsLookupError('OTHER', (e as Error).message);
        if (err.kind === 'NXDOMAIN' || err.kind === 'NODATA') out.set(t.ip, { status: 'ok', at, value: { score: null } });
        else out.set(t.ip, { status: 'error', at, reason: `SenderScore lookup failed: ${err.message}` });
      }
    });
    return out;
  },
  describe: (config) => `SenderScore: ${senderscoreSettings(config).zone ?? 'off'}`,
};

/* Run half (the network part).
 * SenderScore over DNS (../shared/notes/sources.md): A `<reversed-ip>.<senderscore_zone>` answers
 * `127.0.4.N`, N the 0-100 score. NXDOMAIN means Validity has no score for the IP (plain data, not an
 * error). `127.255.255.255` means the querying IP is not registered with Validity: an error, never
 * score 255. Any other answer or failed lookup is an error with the raw answer or the failure kind.
 */
/** Pure: the result for the A records of one score query. */
export function scoreFromAnswers(answers: readonly string[], at: string): CheckResult<SenderScoreValue> {
  if (answers.includes('127.255.255.255')) {
    return { status: 'error', at, reason: 'querying IP not registered with Validity (answer 127.255.255.255)' };
  }
  const m = answers.length === 1 ? /^127\.0\.4\.(\d{1,3})$/.exec(answers[0]!) : null;
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 0 && n <= 100)) return { status: 'error', at, reason: `unexpected answer ${answers.join(', ')} (expected 127.0.4.0-100)` };
  return { status: 'ok', at, value: { score: n } };
}
