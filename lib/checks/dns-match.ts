/** DNS match (shared half): an rDNS, fDNS or HELO mismatch is a problem; a part that failed cannot tell. */
import { z } from 'zod';
import type { DnsMatchValue } from '../model.js';
import type { SeverityReason } from '../severity.js';
import { bit, checkCell, detailRow, failedReason, int, valueOf } from './common.js';
import type { CheckPlugin, SeenIssue } from './types.js';

const part = z.looseObject({ state: z.enum(['match', 'mismatch', 'error']), found: z.array(z.string()), reason: z.string().optional() });
const labels = [
  ['rdns', 'rDNS'],
  ['fdns', 'fDNS'],
  ['helo', 'HELO'],
] as const;

export const dnsMatchPlugin: CheckPlugin<DnsMatchValue> = {
  name: 'dnsMatch',
  label: 'DNS match',
  value: z.looseObject({ rdns: part, fdns: part, helo: part }),
  judge(r) {
    const out: SeverityReason[] = [];
    const v = valueOf(r);
    if (v) {
      for (const [k, label] of labels) {
        const m = v[k];
        if (m.state === 'mismatch') out.push({ level: 'error', text: `${label} mismatch${m.found.length ? ` (found ${m.found.join(', ')})` : ''}` });
        else if (m.state === 'error') out.push({ level: 'unknown', text: `${label}: ${m.reason ?? 'error'}` });
      }
    }
    return [...out, ...failedReason('DNS match', r)];
  },
  issues(r, { ip, host }) {
    if (r.status === 'error') return { open: [], undetermined: [`dns:${ip}:`] };
    const open: SeenIssue[] = [];
    const undetermined: string[] = [];
    const v = r.status === 'ok' ? r.value : undefined;
    if (v) {
      for (const [k] of labels) {
        const m = v[k];
        const id = `dns:${ip}:${k}`;
        if (m.state === 'error') undetermined.push(id);
        else if (m.state === 'mismatch') {
          open.push({ id, kind: 'dns_mismatch', severity: 'problem', host, ip, state: `${k} mismatch`, detail: m.found.length ? `found ${m.found.join(', ')}` : 'nothing found' });
        }
      }
    }
    return { open, undetermined };
  },
  columns: () => [
    {
      key: 'dns',
      header: 'DNS match',
      order: 10,
      cell: (r) =>
        checkCell(r, (v) => {
          const parts = labels.map(([k, label]) => ({ label, m: v[k] }));
          const bad = parts.some((p) => p.m.state === 'mismatch');
          const err = parts.some((p) => p.m.state === 'error');
          // Only a row with something to explain carries the (long) tooltip: 2,000 clean rows stay small.
          const title =
            !bad && !err
              ? undefined
              : parts.map((p) => `${p.label}: ${p.m.state}${p.m.found.length ? ` (${p.m.found.join(', ')})` : ''}${p.m.reason ? ` - ${p.m.reason}` : ''}`).join('\n');
          return {
            text: bad ? 'mismatch' : err ? 'incomplete' : 'match',
            state: bad ? 'bad' : err ? 'unknown' : 'good',
            ...(title ? { title } : {}),
            marks: parts.map((p) => ({ label: p.label, state: p.m.state })),
          };
        }),
      sort: (_r, cell) => (cell.state === 'bad' ? 2 : cell.state === 'unknown' ? 1 : 0),
    },
  ],
  detail: (r) => [
    detailRow('DNS match', r, (v) =>
      labels.map(([k]) => `${k}: ${v[k].state}${v[k].found.length ? ` (${v[k].found.join(', ')})` : ''}${v[k].reason ? ` ${v[k].reason}` : ''}`).join('; '),
    ),
  ],
  // The original API had no DNS match key: the structured result is under `checks`.
  api: () => ({}),
  series: {
    help: {
      mtarep_dns_match: ['1 when the DNS part matches (rdns: PTR names the FQDN, fdns: FQDN resolves to the IP, helo: banner names the FQDN); NaN on error', ['host', 'ip', 'part']],
      mtarep_dns_match_error: ['1 when the DNS part could not be checked (or has not been yet)', ['host', 'ip', 'part']],
    },
    samples(r, { config }) {
      if (!config.dnsMatch || r?.status === 'skipped') return [];
      return labels.flatMap(([part]) => {
        const p = r?.status === 'ok' ? r.value?.[part] : undefined;
        const broken = p === undefined || p.state === 'error';
        return [
          { name: 'mtarep_dns_match', labels: { part }, value: broken ? NaN : bit(p.state === 'match') },
          { name: 'mtarep_dns_match_error', labels: { part }, value: bit(broken) },
        ];
      });
    },
    influx(r, { config }) {
      if (!config.dnsMatch || r?.status === 'skipped') return { fields: {} };
      const fields: Record<string, { int: number }> = {};
      for (const [part] of labels) {
        const p = r?.status === 'ok' ? r.value?.[part] : undefined;
        if (p && p.state !== 'error') fields[`${part}_match`] = int(bit(p.state === 'match'));
        fields[`${part}_error`] = int(bit(p === undefined || p.state === 'error'));
      }
      return { fields };
    },
  },
  describe: (config) => `DNS match: ${config.dnsMatch ? `PTR, forward DNS, SMTP greeting on port ${config.smtpBanner.port}` : 'off'}`,
};
