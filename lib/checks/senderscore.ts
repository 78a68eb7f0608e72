/** SenderScore (shared half): a score below `severity.senderscore_warning` is a warning. */
import { z } from 'zod';
import type { SenderScoreValue } from '../model.js';
import { apiString, checkCell, detailRow, failedReason, freshValue, int, seriesError, valueOf } from './common.js';
import type { CheckPlugin } from './types.js';

export const senderscorePlugin: CheckPlugin<SenderScoreValue> = {
  name: 'senderscore',
  label: 'SenderScore',
  value: z.looseObject({ score: z.number().nullable() }),
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
      if (config.senderscoreZone === null || r?.status === 'skipped') return [];
      const score = r?.status === 'ok' ? r.value?.score : undefined;
      return [
        { name: 'mtarep_senderscore', value: typeof score === 'number' ? score : NaN },
        { name: 'mtarep_senderscore_error', value: seriesError(r) },
      ];
    },
    influx(r, { config }) {
      if (config.senderscoreZone === null || r?.status === 'skipped') return { fields: {} };
      const score = r?.status === 'ok' ? r.value?.score : undefined;
      return { fields: { senderscore: typeof score === 'number' ? score : undefined, senderscore_error: int(seriesError(r)) } };
    },
  },
  describe: (config) => `SenderScore: ${config.senderscoreZone ?? 'off'}`,
};
