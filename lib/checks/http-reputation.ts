/** HTTP JSON reputation (shared half): 'bad' is a problem, 'unknown' cannot tell. Off unless configured. */
import { z } from 'zod';
import type { HttpReputationValue } from '../model.js';
import type { SeverityReason } from '../severity.js';
import { apiString, bit, checkCell, detailRow, failedReason, int, seriesError, valueOf } from './common.js';
import type { CheckPlugin } from './types.js';

const verdicts = ['good', 'neutral', 'bad', 'unknown'] as const;

export const httpReputationPlugin: CheckPlugin<HttpReputationValue> = {
  name: 'httpReputation',
  label: 'HTTP reputation',
  value: z.looseObject({ verdict: z.enum(['good', 'neutral', 'bad', 'unknown']), raw: z.string() }),
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
    config.httpReputation
      ? [
          {
            key: 'http',
            header: config.httpReputation.name,
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
      if (!config.httpReputation || r?.status === 'skipped') return [];
      const verdict = r?.status === 'ok' ? r.value?.verdict : undefined;
      return [
        ...verdicts.map((v) => ({ name: 'mtarep_http_reputation', labels: { verdict: v }, value: bit(verdict === v) })),
        { name: 'mtarep_http_reputation_error', value: seriesError(r) },
      ];
    },
    influx(r, { config }) {
      if (!config.httpReputation || r?.status === 'skipped') return { fields: {} };
      return { fields: { http_reputation: r?.status === 'ok' ? r.value?.verdict : undefined, http_reputation_error: int(seriesError(r)) } };
    },
  },
  describe: (config) =>
    `HTTP reputation: ${config.httpReputation ? `${config.httpReputation.name} via ${new URL(config.httpReputation.url.replace('{ip}', '0.0.0.0')).host}` : 'off'}`,
};
