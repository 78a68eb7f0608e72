/** HTTP JSON reputation: 'bad' is a problem, 'unknown' cannot tell. Off unless configured. */
import * as z from 'zod';
import { mapLimit } from '../concurrency.js';
import type { Config } from '../config/normalize.js';
import { durationMs, lazySection, nonEmpty, positiveInt } from '../config/fields.js';
import type { CheckResult, HttpReputationValue } from '../model.js';
import { getText } from '../net/http-get.js';
import type { SeverityReason } from '../severity.js';
import { apiString, bit, checkCell, detailRow, failedReason, int, once, seriesError, valueOf } from './common.js';
import { settingsOf, type CheckDeps, type CheckPlugin, type ConfigSlice, type Target } from './types.js';

const verdicts = ['good', 'neutral', 'bad', 'unknown'] as const;

/** A JSON reputation lookup over HTTP (`http_reputation:`). */
export interface HttpReputationConfig {
  name: string;
  url: string;
  jsonPath: string;
  verdicts: { good: string[]; neutral: string[]; bad: string[] };
  timeoutMs: number;
  concurrency: number;
}

export interface HttpReputationSettings {
  /** Absent: no `http_reputation:` section, the check is off. */
  lookup?: HttpReputationConfig;
}

/** The `http_reputation:` section: built when a config has it (lazySection). */
const lookupSchema = () =>
  z.strictObject({
    name: nonEmpty.default('Brightmail'),
    url: nonEmpty.refine((s) => s.includes('{ip}'), { message: 'must contain {ip}' }).pipe(
      z.string().refine((s) => /^https?:\/\//.test(s), { message: 'must be an http:// or https:// URL' }),
    ),
    json_path: nonEmpty,
    verdicts: z.strictObject({
      good: z.array(z.string()).default([]),
      neutral: z.array(z.string()).default([]),
      bad: z.array(z.string()).default([]),
    }),
    timeout_ms: durationMs(120_000).default(5000),
    concurrency: positiveInt.default(8),
  });

const configSlice: ConfigSlice<HttpReputationSettings> = {
  keys: { http_reputation: lazySection(lookupSchema) },
  normalize(raw) {
    const h = raw['http_reputation'] as z.infer<ReturnType<typeof lookupSchema>> | undefined;
    if (h === undefined) return {};
    return { lookup: { name: h.name, url: h.url, jsonPath: h.json_path, verdicts: h.verdicts, timeoutMs: h.timeout_ms, concurrency: h.concurrency } };
  },
};

export const httpReputationSettings = (config: Config): HttpReputationSettings => settingsOf<HttpReputationSettings>(config, 'httpReputation');

/** The stored value: built on first use (see `once`). */
const valueSchema = once(() => z.looseObject({ verdict: z.enum(['good', 'neutral', 'bad', 'unknown']), raw: z.string() }));

export const httpReputationPlugin: CheckPlugin<HttpReputationValue> = {
  name: 'httpReputation',
  label: 'HTTP reputation',
  config: configSlice,
  get value() {
    return valueSchema();
  },
  judge(r) {
    const out: SeverityReason[] = [];
    const v = valueOf(r);
    if (v?.verdict === 'bad') out.push({ level: 'error', text: `HTTP reputation bad (${v.raw})` });
    else if (v?.verdict === 'unknown') out.push({ level: 'unknown', text: `HTTP reputation unknown (${v.raw})` });
    return [...out, ...failedReason('HTTP reputation', r)];
  },
  issues(r, { ip, host, httpName }) {
    const id = `http:${ip}`;
    if (r.status === 'error') return { open: [], undetermined: [id] };
    if (r.status === 'ok' && r.value?.verdict === 'bad') {
      return { open: [{ id, kind: 'http_reputation', severity: 'problem', host, ip, provider: httpName ?? 'http', state: 'bad', detail: r.value.raw }], undetermined: [] };
    }
    return { open: [], undetermined: [] };
  },
  columns: (config) =>
    httpReputationSettings(config).lookup
      ? [
          {
            key: 'http',
            header: httpReputationSettings(config).lookup!.name,
            order: 50,
            cell: (r) =>
              checkCell(r, (v) => ({
                text: v.verdict,
                state: v.verdict === 'good' ? 'good' : v.verdict === 'bad' ? 'bad' : v.verdict === 'neutral' ? 'none' : 'unknown',
                title: v.raw,
              })),
            sort: (_r, cell) => cell.text,
          },
        ]
      : [],
  // Shown only where the collector stored a result (the lookup is optional).
  detail: (r) => (r ? [detailRow('HTTP reputation', r, (v) => `${v.verdict} (${v.raw})`)] : []),
  api: (r) => ({ brightmail: apiString(r, (v) => v.verdict) }),
  series: {
    help: {
      mtarep_http_reputation: ['HTTP reputation verdict: 1 for the current verdict', ['host', 'ip', 'verdict']],
      mtarep_http_reputation_error: ['1 when the HTTP reputation lookup failed (or has not run yet)', ['host', 'ip']],
    },
    samples(r, { config }) {
      if (!httpReputationSettings(config).lookup || r?.status === 'skipped') return [];
      const verdict = r?.status === 'ok' ? r.value?.verdict : undefined;
      return [
        ...verdicts.map((v) => ({ name: 'mtarep_http_reputation', labels: { verdict: v }, value: bit(verdict === v) })),
        { name: 'mtarep_http_reputation_error', value: seriesError(r) },
      ];
    },
    influx(r, { config }) {
      if (!httpReputationSettings(config).lookup || r?.status === 'skipped') return { fields: {} };
      return { fields: { http_reputation: r?.status === 'ok' ? r.value?.verdict : undefined, http_reputation_error: int(seriesError(r)) } };
    },
  },
  skipReason(config) {
    return httpReputationSettings(config).lookup === undefined ? 'http_reputation is not configured' : null;
  },
  async run(targets: readonly Target[], deps: CheckDeps) {
    const out = new Map<string, CheckResult<HttpReputationValue>>();
    const cfg = httpReputationSettings(deps.config).lookup;
    if (cfg === undefined) {
      const at = deps.now().toISOString();
      for (const t of targets) out.set(t.ip, { status: 'skipped', at, reason: 'http_reputation is not configured' });
      return out;
    }
    // At most `concurrency` requests in flight.
    await mapLimit(targets, cfg.concurrency, async (t) => void out.set(t.ip, await lookup(t.ip, cfg, deps)));
    return out;
  },
  describe: (config) => {
    const h = httpReputationSettings(config).lookup;
    return `HTTP reputation: ${h ? `${h.name} via ${new URL(h.url.replace('{ip}', '0.0.0.0')).host}` : 'off'}`;
  },
};

/* Run half (the network part).
 * Optional HTTP JSON reputation lookup per IP (the Brightmail column's successor, sources.md): GET the
 * configured URL template with `{ip}` filled in, read the value at a dotted JSON path, map it to
 * good / neutral / bad by the configured lists, else 'unknown' (with the raw value shown). Off
 * (skipped) unless `http_reputation` is configured. Bounded concurrency and a timeout per request; an
 * HTTP error, a non-JSON body or a missing path is an error with its reason.
 */
export class JsonPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonPathError';
  }
}

/** Follow a dotted path (`data.reputation`, `results.0.verdict`) through parsed JSON. */
export function readJsonPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') throw new JsonPathError(`JSON path ${path}: no "${part}" (not an object)`);
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(part) || Number(part) >= cur.length) throw new JsonPathError(`JSON path ${path}: no element "${part}"`);
      cur = cur[Number(part)];
    } else {
      if (!Object.hasOwn(cur, part)) throw new JsonPathError(`JSON path ${path}: no "${part}"`);
      cur = (cur as Record<string, unknown>)[part];
    }
  }
  return cur;
}

/** Map a raw value to a verdict; lists are compared case-insensitively, trimmed. */
export function verdictOf(raw: string, verdicts: HttpReputationConfig['verdicts']): HttpReputationValue['verdict'] {
  const v = raw.trim().toLowerCase();
  const has = (list: string[]) => list.some((x) => x.trim().toLowerCase() === v);
  if (has(verdicts.bad)) return 'bad';
  if (has(verdicts.neutral)) return 'neutral';
  if (has(verdicts.good)) return 'good';
  return 'unknown';
}

async function lookup(ip: string, cfg: HttpReputationConfig, deps: CheckDeps): Promise<CheckResult<HttpReputationValue>> {
  const url = cfg.url.split('{ip}').join(encodeURIComponent(ip));
  const at = () => deps.now().toISOString();
  try {
    const res = await getText(deps.fetch, url, { timeoutMs: cfg.timeoutMs, describe: cfg.name, accept: 'application/json' });
    let doc: unknown;
    try {
      doc = JSON.parse(res.body);
    } catch {
      const what = res.body.trim() === '' ? 'an empty body' : res.body.trimStart().startsWith('<') ? 'an HTML page' : 'a body that is not JSON';
      return { status: 'error', at: at(), reason: `${cfg.name} answered ${what}` };
    }
    const value = readJsonPath(doc, cfg.jsonPath);
    if (value !== null && typeof value === 'object') {
      return { status: 'error', at: at(), reason: `${cfg.name}: JSON path ${cfg.jsonPath} is an ${Array.isArray(value) ? 'array' : 'object'}, not a value` };
    }
    const raw = String(value);
    return { status: 'ok', at: at(), value: { verdict: verdictOf(raw, cfg.verdicts), raw } };
  } catch (e) {
    const msg = (e as Error).message;
    return { status: 'error', at: at(), reason: e instanceof JsonPathError ? `${cfg.name}: ${msg}` : msg };
  }
}
