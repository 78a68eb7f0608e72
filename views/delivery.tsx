/**
 * The Delivery page: one row per probe domain (customer, domain, test address, maintenance, the last
 * probe, counts over the window, on-time %), failing rows first, sortable without JavaScript (header
 * links) and in place with app.js, filtered by the same box as the overview. Rows are built with the
 * `h` template (escaped, no node tree) so thousands of domains stay cheap to render.
 */
import type { HtmlEscapedString } from 'hono/utils/html';
import { countColumns, stateClass, type DeliveryPageModel, type DeliveryRow, type DeliverySortKey } from './delivery-model.js';
import { h } from './h.js';
import { Layout } from './layout.js';

const countHeads: Record<(typeof countColumns)[number], string> = {
  on_time: 'On time',
  late: 'Late',
  overdue: 'Overdue',
  lost: 'Lost',
  bounced: 'Bounced',
  spam: 'Spam',
  send_failed: 'Send failed',
};

const levelText = { error: 'failing', warning: 'some probes late or not back', unknown: 'no probe judged yet', ok: 'fine', maint: 'maintenance' } as const;

/** One row (escaped by `h`). */
export function deliveryRowHtml(r: DeliveryRow): HtmlEscapedString {
  const href = `/delivery/${encodeURIComponent(r.domain)}`;
  const title = r.failing ? r.reasons.join('\n') : levelText[r.level];
  const counts = countColumns.map((c) => {
    const n = r.counts[c];
    const cls = n === 0 ? 'num muted' : c === 'on_time' ? 'num' : c === 'late' || c === 'overdue' || c === 'spam' ? 'num c-warn' : 'num c-bad';
    return h`<td class="${cls}">${n}</td>`;
  });
  const last = r.last
    ? h`<td class="c-${stateClass[r.last.state]}" data-v="${r.sort.state}" title="sent ${r.last.sent}${r.counts.pending ? `; ${r.counts.pending} pending` : ''}">${r.last.text}</td>${
        // A round trip not of this probe (still out) is greyed, its tooltip saying whose it is.
        r.last.rttNote ? h`<td class="num muted" data-v="${r.sort.rtt}" title="${r.last.rttNote}">` : h`<td class="num" data-v="${r.sort.rtt}">`
      }${r.last.rtt}</td>`
    : h`<td class="muted" data-v="~">no probe yet</td><td class="num" data-v="-1"></td>`;
  return h`<tr class="sev-${r.level === 'maint' ? 'maint' : r.level}"><td class="sev" data-v="${r.sort.status}" title="${title}"><span class="dot" aria-label="${
    levelText[r.level]
  }"></span></td><td data-v="${r.sort.customer}" title="${r.customerName}">${r.customer}</td><td data-v="${r.domain}"><a href="${href}">${r.domain}</a>${
    r.failing ? h` <span class="badge bad" title="${r.reasons.join('\n')}">failing</span>` : ''
  }</td><td class="mono">${r.address}</td><td data-v="${r.sort.maintenance}" title="${r.maintenanceNote}">${
    r.maintenance ? h`<span class="badge maint">maintenance</span>` : h`<span class="muted">off</span>`
  }</td>${last}${counts}<td class="num" data-v="${r.sort.pct}">${r.onTimePct}</td></tr>\n`;
}

export function DeliveryPage(p: { m: DeliveryPageModel; user: string }) {
  const { m } = p;
  const s = m.summary;
  const cols: [DeliverySortKey, string, boolean, string?][] = [
    ['status', '', false, 'Status'],
    ['customer', 'Customer', false],
    ['domain', 'Domain', false],
    ['address', 'Test address', false],
    ['maintenance', 'Maintenance', false],
    ['state', 'Last probe', false],
    ['rtt', 'Round trip', true],
    ...countColumns.map((c): [DeliverySortKey, string, boolean] => [c, countHeads[c], true]),
    ['pct', 'On time %', true],
  ];
  return (
    <Layout title="Delivery" user={p.user} active="delivery" scripts={['/assets/app.js']}>
      {!m.configured && (
        <p class="notice">
          Round-trip probes are not configured: add a <code>probes:</code> section to mtarep.yml (see the README) and import the domains
          with <code>mtarep domains import FILE.csv</code>.
        </p>
      )}
      <section class="summary" aria-label="summary">
        <span>
          <b>{s.domains}</b> domains
        </span>
        <span class={s.failing ? 't-bad' : ''}>
          <b>{s.failing}</b> failing
        </span>
        <span>
          <b>{s.maintenance}</b> in maintenance
        </span>
        <span class={s.notJudged ? 't-unknown' : ''}>
          <b>{s.notJudged}</b> not judged yet
        </span>
        <span class="muted">counts over the last {m.window}</span>
        <span class="lastrun">
          last round{' '}
          {m.lastRound ? (
            <span title={m.lastRound.title} class={m.lastRound.status === 'ok' ? '' : 't-unknown'}>
              {m.lastRound.text}
            </span>
          ) : (
            <span class="t-unknown">never</span>
          )}
        </span>
      </section>
      {m.lastRound?.receiveError && (
        <p class="problems">
          The probe mailbox could not be read in the last round ({m.lastRound.receiveError}): probes not back are not judged lost while
          that lasts.
        </p>
      )}
      <div class="tools">
        <input type="search" id="filter" placeholder="Filter: customer, domain, address, state…" aria-label="Filter rows" />
        <span class="legend">
          <span class="sev-error">
            <span class="dot"></span> failing
          </span>
          <span class="sev-warning">
            <span class="dot"></span> late or not back
          </span>
          <span class="sev-unknown">
            <span class="dot"></span> not judged yet
          </span>
          <span class="sev-maint">
            <span class="dot"></span> maintenance
          </span>
          <span class="sev-ok">
            <span class="dot"></span> fine
          </span>
        </span>
        <span id="shown" class="muted"></span>
      </div>
      <table id="delivery" class="grid sortable" data-sort={m.sort} data-dir={m.dir} data-version={m.version} data-base="/delivery">
        <thead>
          <tr>
            {cols.map(([key, label, num, aria]) => {
              const dir = m.sort === key ? (m.dir === 'asc' ? 'desc' : 'asc') : key === 'status' ? 'desc' : 'asc';
              return (
                <th
                  data-key={key}
                  data-first={key === 'status' ? 'desc' : undefined}
                  aria-sort={m.sort === key ? (m.dir === 'asc' ? 'ascending' : 'descending') : undefined}
                  class={[num ? 'num' : '', m.sort === key ? `sorted ${m.dir}` : ''].join(' ').trim() || undefined}
                >
                  <a href={`/delivery?sort=${key}&dir=${dir}`} aria-label={aria ?? label}>
                    {label || '●'}
                  </a>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>{m.rows.map(deliveryRowHtml)}</tbody>
      </table>
      {m.rows.length === 0 && m.configured && (
        <p class="notice">
          No probe domains yet: import them with <code>mtarep domains import FILE.csv</code> or add one with{' '}
          <code>mtarep domains add testuser@domain --customer CODE</code>.
        </p>
      )}
    </Layout>
  );
}
