/**
 * One probe domain: its figures over the window, maintenance with who/when and the switch (a POST
 * form carrying the per-user CSRF token), a daily chart of min / average / max delivery time with the
 * day's counts (Highcharts served locally, data in a data- attribute), the same days as a table, and
 * its recent probes (the ESP provider column when any probe went through one).
 */
import { countColumns, stateClass, stateText, type DomainPageModel } from './delivery-model.js';
import { Layout } from './layout.js';

function MaintenanceForm(p: { domain: string; on: boolean; note: string; csrf: string }) {
  return (
    <form class="ack maintenance" method="post" action={`/delivery/${encodeURIComponent(p.domain)}/maintenance`}>
      <input type="hidden" name="csrf" value={p.csrf} />
      <input type="hidden" name="state" value={p.on ? 'off' : 'on'} />
      <span class={p.on ? 'badge maint' : 'muted'}>{p.on ? 'maintenance on' : 'maintenance off'}</span>
      {p.note && <span class="muted"> ({p.note})</span>}{' '}
      <button type="submit">{p.on ? 'End maintenance' : 'Start maintenance'}</button>
      <span class="muted">
        {' '}
        {p.on ? 'probes resume with the next round' : 'stops probes to this domain and keeps it out of judgement and alerts'}
      </span>
    </form>
  );
}

export function DomainPage(p: { m: DomainPageModel; user: string; csrf: string }) {
  const { m } = p;
  const r = m.row;
  const chart = m.days.map((d) => [d.date, d.min_s, d.avg_s, d.max_s, d.on_time, d.late, d.failed]);
  return (
    <Layout title={`Delivery · ${r.domain}`} user={p.user} active="delivery" scripts={['/assets/highcharts.js', '/assets/charts.js']}>
      <section class={`prose wide domain sev-${r.level}`}>
        <p class="crumbs">
          <a href="/delivery">← Delivery</a>
        </p>
        <h1>
          {r.domain}{' '}
          {r.failing && <span class="badge bad">failing</span>}
          {r.maintenance && <span class="badge maint">maintenance</span>}
        </h1>
        <dl class="facts">
          <dt>Customer</dt>
          <dd>
            {r.customer} ({r.customerName})
          </dd>
          <dt>Test address</dt>
          <dd class="mono">{r.address}</dd>
          <dt>Maintenance</dt>
          <dd>
            <MaintenanceForm domain={r.domain} on={r.maintenance} note={r.maintenanceNote} csrf={p.csrf} />
          </dd>
          <dt>Last {m.window || 'window'}</dt>
          <dd>
            {r.judged} judged, on time {r.onTimePct}
            {r.avgRtt && `, average round trip ${r.avgRtt}`} ·{' '}
            {(['on_time', ...countColumns.filter((c) => c !== 'on_time'), 'pending'] as const)
              .filter((c) => r.counts[c] > 0)
              .map((c) => `${r.counts[c]} ${stateText[c]}`)
              .join(', ') || 'no probes'}
          </dd>
          {r.failing && (
            <>
              <dt>Failing because</dt>
              <dd class="t-bad">{r.reasons.join('; ')}</dd>
            </>
          )}
          <dt>Judged</dt>
          <dd>
            {m.judgedAt}
            {m.maxReturn && <span class="muted"> · back within {m.maxReturn} is on time</span>}
          </dd>
        </dl>
      </section>
      {!m.configured && (
        <p class="notice">
          Round-trip probes are not configured (no <code>probes:</code> section): no probes are sent or judged.
        </p>
      )}
      <form class="tools" method="get" action={`/delivery/${encodeURIComponent(r.domain)}`}>
        <b>Daily delivery</b>
        <span class="muted">
          {m.from} to {m.to}
        </span>
        <label>
          Days{' '}
          <select name="days">
            {[7, 30, 90, 365].map((n) => (
              <option value={String(n)} selected={n === m.span}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Show</button>
      </form>
      <div id="probe-days-chart" class="chart" data-chart="probe-days" data-domain={r.domain} data-days={JSON.stringify(chart)}></div>
      <h2 class="section">Recent probes</h2>
      {m.probes.length === 0 ? (
        <p class="muted">No probes in the window yet.</p>
      ) : (
        <table class="grid probes">
          <thead>
            <tr>
              <th>State</th>
              <th>Sent</th>
              <th>Returned</th>
              <th class="num">Round trip</th>
              <th>Folder</th>
              {m.showProvider && <th>Provider</th>}
              <th>Reason</th>
              <th>Token</th>
            </tr>
          </thead>
          <tbody>
            {m.probes.map((x) => (
              <tr>
                <td class={`c-${stateClass[x.state]}`}>{x.stateText}</td>
                <td>{x.sent}</td>
                <td>{x.returned}</td>
                <td class="num">{x.rtt}</td>
                <td>{x.folder}</td>
                {m.showProvider && <td>{x.provider}</td>}
                <td>{x.reason}</td>
                <td class="mono muted" title={x.smtp ? `SMTP: ${x.smtp}` : undefined}>
                  {x.token}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2 class="section">Days</h2>
      <table class="grid numbers days">
        <thead>
          <tr>
            <th>Date</th>
            <th class="num">Total</th>
            <th class="num">On time</th>
            <th class="num">Late</th>
            <th class="num">Failed</th>
            <th class="num">Min</th>
            <th class="num">Average</th>
            <th class="num">Max</th>
            <th>All done</th>
          </tr>
        </thead>
        <tbody>
          {[...m.days]
            .reverse()
            .filter((d) => d.total > 0)
            .map((d) => (
              <tr>
                <td>{d.date}</td>
                <td class="num">{d.total}</td>
                <td class="num">{d.on_time}</td>
                <td class="num">{d.late}</td>
                <td class="num">{d.failed}</td>
                <td class="num">{d.min_s === null ? '' : `${d.min_s} s`}</td>
                <td class="num">{d.avg_s === null ? '' : `${d.avg_s} s`}</td>
                <td class="num">{d.max_s === null ? '' : `${d.max_s} s`}</td>
                <td>{d.all_done ? 'yes' : 'no'}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </Layout>
  );
}
