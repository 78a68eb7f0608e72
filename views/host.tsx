/**
 * One host's page: every check's state, reasons, codes and times per IP, the maillog blocks, and the
 * history charts (score, listings, traps) drawn by charts.js from data- attributes.
 */
import type { HostConfig } from '../lib/config/normalize.js';
import type { BlocksRecord, HostRecord, IpRecord, CheckResult } from '../lib/model.js';
import type { Severity } from '../lib/severity.js';
import type { HistoryModel } from '../web/viewmodel/graphs.js';
import { shortTime } from '../web/viewmodel/format.js';
import { Layout } from './layout.js';

export interface HostPageModel {
  host: HostConfig;
  record: HostRecord | undefined;
  blocks: BlocksRecord | undefined;
  ips: { ip: string; rec: IpRecord | undefined; severity: Severity; history: HistoryModel }[];
  historyDays: number;
}

function Check<T>(p: { name: string; r: CheckResult<T> | undefined; show: (v: T) => string }) {
  const r = p.r;
  let text = 'no data yet';
  let cls = 'c-unknown';
  if (r?.status === 'ok' && r.value !== undefined) {
    text = p.show(r.value);
    cls = 'c-none';
  } else if (r?.status === 'skipped') {
    text = `skipped: ${r.reason ?? ''}`;
    cls = 'c-none';
  } else if (r?.status === 'error') {
    text = `error: ${r.reason ?? ''}${r.stale ? ` (last good ${p.show(r.stale.value)} at ${r.stale.at})` : ''}`;
  }
  return (
    <tr>
      <th>{p.name}</th>
      <td class={cls}>{text}</td>
      <td class="muted">{r ? shortTime(r.at) : ''}</td>
    </tr>
  );
}

export function HostPage(p: { user: string; m: HostPageModel }) {
  const { m } = p;
  return (
    <Layout title={m.host.name} user={p.user} active="host" scripts={['/assets/highcharts.js', '/assets/charts.js']}>
      <section class="prose wide">
        <h1>
          {m.host.name} <span class="muted">{m.host.fqdn}</span>
        </h1>
        <p>
          Addresses:{' '}
          {m.record
            ? `${m.record.resolve.status === 'config' ? 'from config' : m.record.resolve.status === 'ok' ? 'resolved' : 'resolution failed'}${m.record.resolve.reason ? ` (${m.record.resolve.reason})` : ''} at ${shortTime(m.record.resolve.at)}`
            : 'not checked yet'}
        </p>
        {m.ips.map((x) => (
          <article class={`ipcard sev-${x.severity.level}`}>
            <h2>
              <span class="dot"></span> <span class="mono">{x.ip}</span>
            </h2>
            {x.severity.reasons.length > 0 && (
              <ul class="reasons">
                {x.severity.reasons.map((r) => (
                  <li class={`t-${r.level === 'error' ? 'bad' : r.level === 'warning' ? 'warn' : 'unknown'}`}>{r.text}</li>
                ))}
              </ul>
            )}
            <table class="grid details">
              <tbody>
                <Check name="SenderScore" r={x.rec?.senderscore} show={(v) => (v.score === null ? 'no score' : String(v.score))} />
                <Check
                  name="SNDS"
                  r={x.rec?.snds}
                  show={(v) =>
                    (v.data ? `${v.data.color}, ${v.data.traps} trap hits, complaints ${v.data.complaintRate}, ${v.data.periodStart} - ${v.data.periodEnd}` : 'no row for this IP') +
                    (v.blocked ? (v.blocked.blocked ? `; BLOCKED ${v.blocked.reason ?? ''}` : '; not blocked') : '')
                  }
                />
                <Check
                  name="DNS match"
                  r={x.rec?.dnsMatch}
                  show={(v) =>
                    (['rdns', 'fdns', 'helo'] as const)
                      .map((k) => `${k}: ${v[k].state}${v[k].found.length ? ` (${v[k].found.join(', ')})` : ''}${v[k].reason ? ` ${v[k].reason}` : ''}`)
                      .join('; ')
                  }
                />
                {x.rec?.httpReputation && <Check name="HTTP reputation" r={x.rec.httpReputation} show={(v) => `${v.verdict} (${v.raw})`} />}
              </tbody>
            </table>
            {x.rec && x.rec.dnsbl.length > 0 && (
              <table class="grid zones">
                <thead>
                  <tr>
                    <th>Zone</th>
                    <th>State</th>
                    <th>Answer</th>
                    <th>Reason</th>
                  </tr>
                </thead>
                <tbody>
                  {x.rec.dnsbl.map((d) => (
                    <tr class={d.state === 'listed' && d.kind !== 'allow' ? 'sev-error' : d.state === 'not_listed' && !d.unhealthy ? '' : 'sev-unknown'}>
                      <td>{d.zone}</td>
                      <td>{d.unhealthy ? `unknown (zone unhealthy)` : d.state.replace('_', ' ')}</td>
                      <td class="mono">
                        {d.codes.join(', ')} {d.labels.length > 0 && `(${d.labels.join(', ')})`}
                      </td>
                      <td>{d.unhealthy ?? d.txt ?? d.reason ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {x.history.points > 0 ? (
              <div class="chart small" data-chart="history" data-ip={x.ip} data-history={JSON.stringify(x.history)}></div>
            ) : (
              <p class="muted">No history in the last {m.historyDays} days yet.</p>
            )}
          </article>
        ))}
        <h2>Maillog</h2>
        {m.blocks ? (
          <>
            <p>
              Read {m.blocks.status === 'ok' ? 'ok' : `failed: ${m.blocks.reason ?? ''}`} at {m.blocks.at}
              {m.blocks.lines && `, ${m.blocks.lines.read} lines (${m.blocks.lines.unparsed} not understood)`}.
            </p>
            {m.blocks.blocks.length === 0 ? (
              <p class="muted">No provider blocks.</p>
            ) : (
              m.blocks.blocks.map((b) => (
                <div class="block">
                  <h3>
                    {b.provider} <span class="muted">{b.at}</span>
                  </h3>
                  <pre class="logline">{b.line}</pre>
                </div>
              ))
            )}
          </>
        ) : (
          <p class="muted">No maillog read stored for this host.</p>
        )}
      </section>
    </Layout>
  );
}
