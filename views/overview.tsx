/**
 * The overview page: summary line, filter box, the sortable table (one row per MTA IP, severity
 * colours) and one <dialog> per current issue. Sorting works without JavaScript (header links carry
 * ?sort=&dir=); app.js sorts in place and keeps the URL in step.
 */
import type { Cell, IssueRef, OverviewModel, OverviewRow, SortKey } from '../web/viewmodel/overview.js';
import { shortTime } from '../web/viewmodel/format.js';
import { IssueDialog } from './issue.js';
import { Layout } from './layout.js';

const levelText = { error: 'problem', warning: 'warning', unknown: 'cannot tell', ok: 'clean' } as const;

function C(p: { c: Cell; v: string | number; cls?: string }) {
  return (
    <td class={`c-${p.c.state}${p.c.stale ? ' stale' : ''}${p.cls ? ' ' + p.cls : ''}`} data-v={p.v} title={p.c.title}>
      {p.c.text}
    </td>
  );
}

function Refs(p: { refs: IssueRef[]; empty: string; extra?: string[]; v: number }) {
  return (
    <td data-v={p.v}>
      {p.refs.length === 0 && (p.extra ?? []).length === 0 && <span class="muted">{p.empty}</span>}
      {p.refs.map((r) => (
        <a
          class={r.ack ? 'badge ack' : 'badge bad'}
          href={`/issue?id=${encodeURIComponent(r.id)}`}
          data-dialog={r.domId}
          title={r.ack ? `acknowledged by ${r.ack.user} at ${r.ack.at} UTC` : 'open details'}
        >
          {r.label}
          {r.ack && ' ✓'}
        </a>
      ))}
      {(p.extra ?? []).length > 0 && (
        <span class="badge unknown" title={(p.extra ?? []).join('\n')}>
          ? {(p.extra ?? []).length}
        </span>
      )}
    </td>
  );
}

function Row(p: { r: OverviewRow; http: boolean }) {
  const r = p.r;
  const reasons = r.severity.reasons.map((x) => x.text).join('\n');
  return (
    <tr class={`sev-${r.severity.level}`}>
      <td class="sev" data-v={r.sort.severity} title={reasons || 'no problem found'}>
        <span class="dot" aria-label={levelText[r.severity.level]}></span>
      </td>
      <td data-v={r.sort.host}>
        <a href={`/host/${encodeURIComponent(r.host)}`} title={r.fqdn}>
          {r.host}
        </a>
        {r.fqdn !== r.host && <span class="fqdn">{r.fqdn}</span>}
      </td>
      {r.ip === null ? (
        <td data-v="" class="c-unknown" title={r.resolveError}>
          {r.resolveError !== undefined ? `unresolved: ${r.resolveError}` : 'pending'}
        </td>
      ) : (
        <td class="mono" data-v={r.sort.ip}>
          {r.ip}
        </td>
      )}
      <td data-v={r.sort.dns} title={r.dns.cell.title} class={`c-${r.dns.cell.state}`}>
        {r.dns.parts.length > 0
          ? r.dns.parts.map((x) => <span class={`m m-${x.state}`}>{x.label}</span>)
          : r.dns.cell.text}
      </td>
      <C c={r.score} v={r.sort.score} cls="num" />
      <C c={r.snds} v={r.sort.snds} />
      <C c={r.traps} v={r.sort.traps} cls="num" />
      {p.http && r.http && <C c={r.http} v={r.sort.http} />}
      <Refs refs={r.blocks} empty="no blocks" v={r.sort.blocks as number} />
      <Refs refs={r.listings} empty="unlisted" extra={r.cannotTell} v={r.sort.listings as number} />
      <td data-v={r.sort.checked} class={`c-${r.checked.state}${r.checked.stale ? ' stale' : ''}`} title={r.checked.title}>
        {r.checked.text}
      </td>
    </tr>
  );
}

export function OverviewPage(p: { m: OverviewModel; user: string; csrf: string; back: string }) {
  const { m } = p;
  const s = m.summary;
  const cols: [SortKey, string, string?][] = [
    ['severity', '', 'Severity'],
    ['host', 'Host'],
    ['ip', 'IP'],
    ['dns', 'DNS match'],
    ['score', 'SenderScore'],
    ['snds', 'SNDS'],
    ['traps', 'Traps'],
    ...(m.showHttp ? [['http', m.httpName] as [SortKey, string]] : []),
    ['blocks', 'Provider blocks'],
    ['listings', 'DNSBL listings'],
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
        <span class="lastrun">
          last run{' '}
          {s.lastRun ? (
            <span title={`${s.lastRun.finishedAt} · ${s.lastRun.durationMs} ms · ${s.lastRun.errors.slice(0, 5).join(' | ')}`}>
              {s.lastRun.age} ({shortTime(s.lastRun.finishedAt)}, {s.lastRun.status}, {Math.round(s.lastRun.durationMs / 1000)} s)
            </span>
          ) : (
            <span class="t-unknown">never</span>
          )}
        </span>
      </section>
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
      <table id="overview" class="grid" data-sort={m.sort} data-dir={m.dir}>
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
          {m.rows.map((r) => (
            <Row r={r} http={m.showHttp} />
          ))}
        </tbody>
      </table>
      {m.issues.map((i) => (
        <IssueDialog issue={i} csrf={p.csrf} back={p.back} />
      ))}
    </Layout>
  );
}
