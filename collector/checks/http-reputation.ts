/**
 * Optional HTTP JSON reputation lookup per IP (the Brightmail column's successor, sources.md): GET the
 * configured URL template with `{ip}` filled in, read the value at a dotted JSON path, map it to
 * good / neutral / bad by the configured lists, else 'unknown' (with the raw value shown). Off
 * (skipped) unless `http_reputation` is configured. Bounded concurrency and a timeout per request; an
 * HTTP error, a non-JSON body or a missing path is an error with its reason.
 */
import type { HttpReputationConfig } from '../../lib/config/normalize.js';
import { httpReputationPlugin } from '../../lib/checks/http-reputation.js';
import type { CheckResult, HttpReputationValue } from '../../lib/model.js';
import { mapLimit } from '../../lib/concurrency.js';
import { getText } from '../http-get.js';
import type { Check, CheckDeps, Target } from './types.js';

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

export const httpReputationCheck: Check<HttpReputationValue> = {
  name: 'httpReputation',
  plugin: httpReputationPlugin,
  skipReason(config) {
    return config.httpReputation === undefined ? 'http_reputation is not configured' : null;
  },
  async run(targets: readonly Target[], deps: CheckDeps) {
    const out = new Map<string, CheckResult<HttpReputationValue>>();
    const cfg = deps.config.httpReputation;
    if (cfg === undefined) {
      const at = deps.now().toISOString();
      for (const t of targets) out.set(t.ip, { status: 'skipped', at, reason: 'http_reputation is not configured' });
      return out;
    }
    // At most `concurrency` requests in flight.
    await mapLimit(targets, cfg.concurrency, async (t) => void out.set(t.ip, await lookup(t.ip, cfg, deps)));
    return out;
  },
};
