/** HTTP JSON reputation (shared half): 'bad' is a problem, 'unknown' cannot tell. Off unless configured. */
import { z } from 'zod';
import type { HttpReputationValue } from '../model.js';
import type { SeverityReason } from '../severity.js';
import { apiString, checkCell, detailRow, failedReason, valueOf } from './common.js';
import type { CheckPlugin } from './types.js';

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
  describe: (config) =>
    `HTTP reputation: ${config.httpReputation ? `${config.httpReputation.name} via ${new URL(config.httpReputation.url.replace('{ip}', '0.0.0.0')).host}` : 'off'}`,
};
