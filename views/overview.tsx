/**
 * The overview page: summary line, filter box, the sortable table (one row per MTA IP, severity
 * colours) and one empty issue window that app.js fills on demand (/issue/part). Sorting works without JavaScript (header links carry
 * ?sort=&dir=); app.js sorts in place and keeps the URL in step.
 */
import { raw } from 'hono/html';
import type { OverviewModel, SortKey } from './overview-model.js';
import { shortTime } from './format.js';
import { IssueDialogShell } from './issue.js';
import { AlertNoticeLine, type AlertNotice } from './alert-notice.js';
import { Layout } from './layout.js';
import { rowHtml } from './overview-rows.js';

/**
 * Where the page says its data may be a moment old: the page cache (web/cache.ts) sends a copy with
 * this marker replaced by `staleNote` when a fresh read is slow and it serves the last good page.
 */
export const staleMarker = '<!--mtarep:data-age-->';
export const staleNote =
  '<p class="notice stale" role="status">The data on this page may be a moment old: the newest data is still being read. Reload in a few seconds for it.</p>';

export function OverviewPage(p: {
  m: OverviewModel;
  user: string;
  version: string;
  /** Probe domains failing (round-trip probes configured), linking to the Delivery page. */
  delivery?: { failing: number; domains: number } | undefined;
  /** Alert notifications not getting through, linking to the Events page. */
  alerts?: AlertNotice | null;
}) {
  const { m } = p;
  const s = m.summary;
  const cols: [SortKey, string, string?][] = [
    ['severity', '', 'Severity'],
    ['host', 'Host'],
    ['ip', 'IP'],
    ...m.columns.map((c): [SortKey, string] => [c.key, c.header]),
    ['checked', 'Checked'],
  ];
  return (
    <Layout title="Overview" user={p.user} active="overview" scripts={['/assets/app.js']}>
      <section class="summary" aria-label="summary">
        <span>
          <b>{s.hosts}</b> hosts
        </span>
        <span>
          <b>{s.ips}</b> IPs
        </span>
        <span class={s.listed ? 't-bad' : ''}>
          <b>{s.listed}</b> listed
        </span>
        <span class={s.blocked ? 't-bad' : ''}>
          <b>{s.blocked}</b> blocked
        </span>
        <span>
          <b>
            {s.acknowledged}/{s.issues}
          </b>{' '}
          acknowledged
        </span>
        <span class={s.errors ? 't-unknown' : ''}>
          <b>{s.errors}</b> cannot tell
        </span>
        {p.delivery && (
          <a href="/delivery" class={p.delivery.failing ? 't-bad' : ''} title={`${p.delivery.domains} probe domains`}>
            <b>{p.delivery.failing}</b> failing domain{p.delivery.failing === 1 ? '' : 's'}
          </a>
        )}
        <span class="lastrun">
          last run{' '}
          {s.lastRun ? (
            <span title={`${shortTime(s.lastRun.finishedAt)} · ${s.lastRun.durationMs} ms · ${s.lastRun.errors.slice(0, 5).join(' | ')}`}>
              {s.lastRun.age} ({shortTime(s.lastRun.finishedAt)}, {s.lastRun.status}, {Math.round(s.lastRun.durationMs / 1000)} s)
            </span>
          ) : (
            <span class="t-unknown">never</span>
          )}
        </span>
      </section>
      {raw(staleMarker)}
      <AlertNoticeLine notice={p.alerts} />
      {m.problems.length > 0 && (
        <p class="problems">
          {m.problems.length} stored record(s) could not be read: {m.problems.slice(0, 3).join('; ')}
        </p>
      )}
      <div class="tools">
        <input type="search" id="filter" placeholder="Filter rows (host, IP, zone, provider…)" aria-label="Filter rows" />
        <span class="legend">
          <span class="sev-error">
            <span class="dot"></span> problem
          </span>
          <span class="sev-warning">
            <span class="dot"></span> warning
          </span>
          <span class="sev-unknown">
            <span class="dot"></span> cannot tell
          </span>
          <span class="sev-ok">
            <span class="dot"></span> clean
          </span>
        </span>
        <span id="shown" class="muted"></span>
      </div>
      <table id="overview" class="grid" data-sort={m.sort} data-dir={m.dir} data-version={p.version}>
        <thead>
          <tr>
            {cols.map(([key, label, aria]) => {
              const dir = m.sort === key ? (m.dir === 'asc' ? 'desc' : 'asc') : key === 'severity' ? 'desc' : 'asc';
              return (
                <th
                  data-key={key}
                  aria-sort={m.sort === key ? (m.dir === 'asc' ? 'ascending' : 'descending') : undefined}
                  class={m.sort === key ? `sorted ${m.dir}` : undefined}
                >
                  <a href={`/?sort=${key}&dir=${dir}`} aria-label={aria ?? label}>
                    {label || '●'}
                  </a>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {m.rows.map((r) => rowHtml(r, m.columns))}
        </tbody>
      </table>
      <IssueDialogShell />
    </Layout>
  );
}
