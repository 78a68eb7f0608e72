/**
 * One host's page: every check's state, reasons, codes and times per IP, the maillog blocks, and the
 * history charts (score, listings, traps) drawn by charts.js from data- attributes.
 */
import type { DetailRow } from '../lib/checks/types.js';
import type { HostConfig } from '../lib/config/normalize.js';
import type { BlocksRecord, DnsblResult, HostRecord } from '../lib/model.js';
import type { Severity, SeverityLevel } from '../lib/severity.js';
import { shortTime } from './format.js';
import { Layout } from './layout.js';

/** An IP's history for the charts (built by web/viewmodel/graphs.ts). */
export interface HistoryModel {
  ip: string;
  points: number;
  /** [epoch ms, value] pairs per series; null values are gaps. */
  score: [number, number | null][];
  listings: [number, number][];
  traps: [number, number | null][];
}

/** The host page's props (built by web/viewmodel/host.ts). */
export interface HostPageModel {
  host: HostConfig;
  record: HostRecord | undefined;
  blocks: BlocksRecord | undefined;
  /** Why this host's maillog is not read ("needs ssh_key", …); null when it is. */
  maillogNotRead: string | null;
  ips: {
    ip: string;
    severity: Severity;
    history: HistoryModel;
    /** One line per check result, from each check's plugin. */
    details: DetailRow[];
    /** The DNSBL zones, each with its own judgement (a non-critical listing is a warning, not an error). */
    zones: { level: SeverityLevel; zone: DnsblResult }[];
  }[];
  historyDays: number;
}

const zoneClass: Record<SeverityLevel, string> = { error: 'sev-error', warning: 'sev-warning', unknown: 'sev-unknown', ok: '' };

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
                {x.details.map((d) => (
                  <tr>
                    <th>{d.name}</th>
                    <td class={`c-${d.state}`}>{d.text}</td>
                    <td class="muted">{d.at ? shortTime(d.at) : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {x.zones.length > 0 && (
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
                  {x.zones.map(({ level, zone: d }) => (
                    <tr class={zoneClass[level]}>
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
              Read {m.blocks.status === 'ok' ? 'ok' : `failed: ${m.blocks.reason ?? ''}`} at {shortTime(m.blocks.at)}
              {m.blocks.lines && `, ${m.blocks.lines.read} lines (${m.blocks.lines.unparsed} not understood)`}.
            </p>
            {m.blocks.blocks.length === 0 ? (
              <p class="muted">No provider blocks.</p>
            ) : (
              m.blocks.blocks.map((b) => (
                <div class="block">
                  <h3>
                    {b.provider} <span class="muted">{shortTime(b.at)}</span>
                  </h3>
                  <pre class="logline">{b.line}</pre>
                </div>
              ))
            )}
          </>
        ) : (
          <p class="muted">{m.maillogNotRead === null ? 'No maillog read stored for this host yet.' : `Maillog not read (${m.maillogNotRead}).`}</p>
        )}
      </section>
    </Layout>
  );
}
