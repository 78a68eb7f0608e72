/**
 * The ESP page: each sending provider's state and which one is in use, a test-mail form (POST with
 * the CSRF token), webhook event counts per day by type, the latest events, test mails and reports,
 * and probes sent. Every string from a provider or a webhook is escaped by hono/jsx.
 */
import type { EspSendRecord } from '../lib/esp/types.js';
import type { EspEventType } from '../lib/esp/webhooks/events.js';
import { Layout } from './layout.js';

/* The page's props (built by web/viewmodel/esp.ts). */
export type ProviderStatus = 'ok' | 'failing' | 'config' | 'unknown';

export interface EspProviderRow {
  name: string;
  status: ProviderStatus;
  /** The dashboard's severity class for the row. */
  level: 'ok' | 'warning' | 'error' | 'unknown';
  statusText: string;
  inUse: boolean;
  lastSuccess: string;
  lastFailure: string;
  lastFailureWhy: string;
  sent: number;
  failed: number;
}

export interface EspSendRow {
  id: string;
  /** test, report, probe; '' for a record stored before kinds existed. */
  kind: string;
  at: string;
  to: string;
  subject: string;
  outcome: EspSendRecord['outcome'];
  provider: string;
  messageId: string;
  attempts: { provider: string; outcome: string; ms: number; answer: string }[];
}

export interface EspPageModel {
  configured: boolean;
  hasProviders: boolean;
  inUseText: string;
  providers: EspProviderRow[];
  webhooks: { vendor: string; configured: boolean; path: string }[];
  countersId: string | null;
  types: EspEventType[];
  days: { day: string; counts: number[]; total: number }[];
  events: { at: string; provider: string; type: string; espEvent: string; recipient: string; smtpStatus: string; reason: string; messageId: string }[];
  /** Test mails and reports. */
  sends: EspSendRow[];
  /** Probes sent through the gateway (`probes.via: esp`), apart: a round of many domains would push the others out. */
  probeSends: EspSendRow[];
  /** The send just made from the form (`?send=<id>`), when it is among the latest. */
  justSent?: EspSendRow;
}


function SendResult(p: { s: EspSendRow }) {
  const s = p.s;
  const head =
    s.outcome === 'sent' ? `Sent to ${s.to} by ${s.provider}` : s.outcome === 'invalid' ? `Not sent to ${s.to}: refused as invalid` : `Not sent to ${s.to}: every provider failed`;
  return (
    <div class={s.outcome === 'sent' ? 'notice' : 'problems'}>
      <b>{head}</b>
      {s.messageId ? <span class="muted"> (message id <span class="mono">{s.messageId}</span>)</span> : ''}
      <ol>
        {s.attempts.map((a) => (
          <li>
            {a.provider}: {a.outcome} in {a.ms} ms, <span class="mono">{a.answer}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

export function EspPage(p: { user: string; m: EspPageModel; csrf: string }) {
  const { m } = p;
  return (
    <Layout title="ESP" user={p.user} active="esp">
      <section class="prose wide">
        <h1>ESP</h1>
        {!m.configured ? (
          <p class="notice">
            No <code>esp:</code> section in the config: sending through SendGrid, Mailgun, Mandrill or an SMTP relay, and their webhooks, are off.
            See <code>mtarep.example.yml</code>.
          </p>
        ) : (
          ''
        )}
        {m.justSent ? <SendResult s={m.justSent} /> : ''}

        <h2>Sending providers</h2>
        {m.hasProviders ? (
          <>
            <p>
              In use now: <b>{m.inUseText}</b>
            </p>
            <table class="grid">
              <thead>
                <tr>
                  <th></th>
                  <th>provider</th>
                  <th>state</th>
                  <th>last success</th>
                  <th>last failure</th>
                  <th>why</th>
                  <th class="num">sent</th>
                  <th class="num">failed</th>
                </tr>
              </thead>
              <tbody>
                {m.providers.map((r) => (
                  <tr class={`sev-${r.level}`}>
                    <td class="sev">
                      <span class="dot"></span>
                    </td>
                    <td>
                      {r.name}
                      {r.inUse ? <span class="badge">in use</span> : ''}
                    </td>
                    <td>{r.statusText}</td>
                    <td>{r.lastSuccess}</td>
                    <td>{r.lastFailure}</td>
                    <td class="mono">{r.lastFailureWhy}</td>
                    <td class="num">{r.sent}</td>
                    <td class="num">{r.failed}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h2>Send a test mail</h2>
            <form method="post" action="/esp/send" class="tools">
              <input type="hidden" name="csrf" value={p.csrf} />
              <label>
                To <input type="email" name="to" required maxlength={254} />
              </label>{' '}
              <label>
                Subject <input type="text" name="subject" value="mtarep test mail" maxlength={200} />
              </label>{' '}
              <button type="submit">Send</button>
            </form>
          </>
        ) : (
          <p class="muted">No providers configured (esp.providers).</p>
        )}

        <h2>Webhooks</h2>
        <ul>
          {m.webhooks.map((w) => (
            <li>
              <span class="mono">POST {w.path}</span>: {w.configured ? 'configured (signature checked)' : 'not configured (answers 404)'}
            </li>
          ))}
        </ul>
        {m.countersId ? (
          <p class="muted">
            Delivered, bounced, deferred and complaint events feed the graph counters <span class="mono">{m.countersId}:&lt;YYYYMMDD&gt;:&lt;type&gt;</span>.
          </p>
        ) : (
          ''
        )}

        <h2>Events per day</h2>
        {m.types.length === 0 ? (
          <p class="muted">No webhook events in the last {m.days.length} days.</p>
        ) : (
          <table class="grid numbers">
            <thead>
              <tr>
                <th>day</th>
                {m.types.map((t) => (
                  <th class="num">{t}</th>
                ))}
                <th class="num">total</th>
              </tr>
            </thead>
            <tbody>
              {m.days.map((d) => (
                <tr>
                  <td>{d.day}</td>
                  {d.counts.map((n) => (
                    <td class="num">{n}</td>
                  ))}
                  <td class="num">{d.total}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}

        <h2>Latest events</h2>
        {m.events.length === 0 ? (
          <p class="muted">None yet.</p>
        ) : (
          <table class="grid">
            <thead>
              <tr>
                <th>time</th>
                <th>provider</th>
                <th>event</th>
                <th>recipient</th>
                <th>status</th>
                <th>reason</th>
                <th>message id</th>
              </tr>
            </thead>
            <tbody>
              {m.events.map((e) => (
                <tr>
                  <td>{e.at}</td>
                  <td>{e.provider}</td>
                  <td title={e.espEvent}>{e.type}</td>
                  <td>{e.recipient}</td>
                  <td class="mono">{e.smtpStatus}</td>
                  <td>{e.reason}</td>
                  <td class="mono">{e.messageId}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}

        <h2>Latest test mails and reports</h2>
        <SendsTable sends={m.sends} kinds />

        <h2>Latest probes sent through the gateway</h2>
        <SendsTable sends={m.probeSends} />
      </section>
    </Layout>
  );
}

/** Sends, newest first; `kinds`: a column saying which (a test mail or a report). */
function SendsTable(p: { sends: EspSendRow[]; kinds?: boolean }) {
  if (p.sends.length === 0) return <p class="muted">None yet.</p>;
  return (
    <table class="grid">
      <thead>
        <tr>
          <th>time</th>
          {p.kinds ? <th>kind</th> : null}
          <th>to</th>
          <th>subject</th>
          <th>outcome</th>
          <th>attempts</th>
        </tr>
      </thead>
      <tbody>
        {p.sends.map((s) => (
          <tr>
            <td>{s.at}</td>
            {p.kinds ? <td>{s.kind}</td> : null}
            <td>{s.to}</td>
            <td>{s.subject}</td>
            <td>{s.outcome === 'sent' ? `sent by ${s.provider}` : s.outcome}</td>
            <td>{s.attempts.map((a) => `${a.provider}: ${a.outcome}`).join(' → ')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
