/**
 * The Events page: notifications that are not getting through, the alert channels with a "send a test
 * alert" button each (POST with the CSRF token), then the timeline of issue events and notifications,
 * newest first, with a GET filter form and an "older" link. Props are built by web/viewmodel/events.ts;
 * hono/jsx escapes every value.
 */
import { Layout } from './layout.js';

/* The page's props. */
export type RowLevel = 'error' | 'warning' | 'ok' | 'unknown' | 'ack' | 'info';

export interface EventRow {
  id: string;
  at: string;
  age: string;
  /** opened, changed, resolved, acknowledged, run, notified. */
  type: string;
  typeText: string;
  level: RowLevel;
  /** Host (a link to its page when configured), else domain, else zone/provider/source. */
  place: { text: string; href: string | null };
  kind: string;
  what: string;
  detail: string;
  /** An open, unacknowledged issue: the Acknowledge button (newest row of that issue only). */
  ackId?: string;
  /** Who acknowledged it, on the newest row of an open issue. */
  ackedBy?: string;
}

export interface PendingRow {
  subject: string;
  channel: string;
  attempts: number;
  lastError: string;
  nextAttempt: string;
  expires: string;
  level: RowLevel;
}

export interface FailureRow {
  at: string;
  age: string;
  subject: string;
  channel: string;
  status: string;
  attempts: number;
  result: string;
}

export interface TestResultRow {
  channel: string;
  ok: boolean;
  message: string;
  by: string;
}

export interface EventsPageModel {
  filter: { host: string; domain: string; kind: string; type: string };
  /** Choices of the filter form. */
  hosts: string[];
  kinds: string[];
  types: string[];
  rows: EventRow[];
  /** The filtered timeline has older items: link to them. */
  olderHref: string | null;
  /** Shown on an older page: back to the newest. */
  newestHref: string | null;
  pending: PendingRow[];
  failures: FailureRow[];
  corruptOutbox: number;
  channels: { id: string; label: string }[];
  /** The results of a test just sent (`?test=`). */
  tests: TestResultRow[] | null;
  filtered: boolean;
}

function Flash(p: { tests: TestResultRow[] }) {
  if (p.tests.length === 0) return <p class="problems">The test result is no longer in the delivery log.</p>;
  const ok = p.tests.every((t) => t.ok);
  return (
    <div class={ok ? 'notice good' : 'problems bad'} role="status">
      <b>{ok ? 'Test alert delivered' : 'Test alert not delivered'}</b>
      <ul class="plain">
        {p.tests.map((t) => (
          <li>
            <span class={t.ok ? 'c-good' : 'c-bad'}>{t.ok ? 'delivered' : 'error'}</span> · {t.channel}: <span class="mono">{t.message}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function Undelivered(p: { m: EventsPageModel }) {
  const { m } = p;
  if (m.pending.length === 0 && m.failures.length === 0 && m.corruptOutbox === 0) return '';
  return (
    <section id="undelivered">
      <h2>Notifications not delivered</h2>
      {m.corruptOutbox > 0 && <p class="problems">{m.corruptOutbox} outbox entr{m.corruptOutbox === 1 ? 'y is' : 'ies are'} unreadable (the alert engine logs and drops them).</p>}
      {m.pending.length > 0 && (
        <table class="grid">
          <thead>
            <tr>
              <th></th>
              <th>waiting to go</th>
              <th>channel</th>
              <th class="num">attempts</th>
              <th>last error</th>
              <th>next attempt</th>
              <th>given up</th>
            </tr>
          </thead>
          <tbody>
            {m.pending.map((r) => (
              <tr class={`sev-${r.level}`}>
                <td class="sev">
                  <span class="dot"></span>
                </td>
                <td>{r.subject}</td>
                <td>{r.channel}</td>
                <td class="num">{r.attempts}</td>
                <td class="mono">{r.lastError}</td>
                <td>{r.nextAttempt}</td>
                <td>{r.expires}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {m.failures.length > 0 && (
        <>
          <h3>Given up in the last 24 h</h3>
          <table class="grid">
            <thead>
              <tr>
                <th></th>
                <th>when</th>
                <th>message</th>
                <th>channel</th>
                <th>outcome</th>
                <th class="num">attempts</th>
                <th>why</th>
              </tr>
            </thead>
            <tbody>
              {m.failures.map((r) => (
                <tr class="sev-error">
                  <td class="sev">
                    <span class="dot"></span>
                  </td>
                  <td title={r.at}>{r.age}</td>
                  <td>{r.subject}</td>
                  <td>{r.channel}</td>
                  <td>{r.status}</td>
                  <td class="num">{r.attempts}</td>
                  <td class="mono">{r.result}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function Channels(p: { m: EventsPageModel; csrf: string }) {
  const { m } = p;
  return (
    <section>
      <h2>Alert channels</h2>
      {m.channels.length === 0 ? (
        <p class="muted">
          No alert channel configured: changes are recorded here but nobody is told. Set <code>alerts.email</code> and/or <code>alerts.webhooks</code> in the config.
        </p>
      ) : (
        <ul class="channels">
          {m.channels.map((c) => (
            <li>
              <form method="post" action="/events/test" class="inline">
                <input type="hidden" name="csrf" value={p.csrf} />
                <input type="hidden" name="channel" value={c.id} />
                <span>{c.label}</span> <span class="muted mono">{c.id}</span>{' '}
                <button type="submit">Send a test alert</button>
              </form>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function FilterForm(p: { m: EventsPageModel }) {
  const f = p.m.filter;
  return (
    <form method="get" action="/events" class="tools filters">
      <label>
        Host{' '}
        <select name="host">
          <option value="">any</option>
          {p.m.hosts.map((h) => (
            <option value={h} selected={h === f.host}>
              {h}
            </option>
          ))}
        </select>
      </label>
      <label>
        Domain <input type="text" name="domain" value={f.domain} placeholder="example.org" maxlength={253} />
      </label>
      <label>
        Kind{' '}
        <select name="kind">
          <option value="">any</option>
          {p.m.kinds.map((k) => (
            <option value={k} selected={k === f.kind}>
              {k}
            </option>
          ))}
        </select>
      </label>
      <label>
        Event{' '}
        <select name="type">
          <option value="">any but runs</option>
          {p.m.types.map((t) => (
            <option value={t} selected={t === f.type}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">Filter</button>
      {p.m.filtered && <a href="/events">clear</a>}
    </form>
  );
}

export function EventsPage(p: { user: string; m: EventsPageModel; csrf: string; back: string }) {
  const { m } = p;
  return (
    <Layout title="Events" user={p.user} active="events">
      <section class="prose wide">
        <h1>Events</h1>
        {m.tests && <Flash tests={m.tests} />}
        <Undelivered m={m} />
        <Channels m={m} csrf={p.csrf} />
        <h2>Timeline</h2>
        <FilterForm m={m} />
        {m.rows.length === 0 ? (
          <p class="muted">{m.filtered ? 'No events match this filter.' : 'No events yet: they appear when a collector run opens, changes or resolves an issue.'}</p>
        ) : (
          <table class="grid events">
            <thead>
              <tr>
                <th></th>
                <th>when</th>
                <th>event</th>
                <th>where</th>
                <th>kind</th>
                <th>what</th>
                <th>detail</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {m.rows.map((r) => (
                <tr class={`sev-${r.level}`} data-id={r.id}>
                  <td class="sev">
                    <span class="dot"></span>
                  </td>
                  <td title={r.at} class="when">
                    {r.age}
                    <span class="fqdn">{r.at}</span>
                  </td>
                  <td>
                    <span class={`ev ev-${r.type}`}>{r.typeText}</span>
                  </td>
                  <td>{r.place.href ? <a href={r.place.href}>{r.place.text}</a> : r.place.text}</td>
                  <td class="mono">{r.kind}</td>
                  <td>{r.what}</td>
                  <td class="detail">{r.detail}</td>
                  <td>
                    {r.ackedBy !== undefined && <span class="badge ack">ack: {r.ackedBy}</span>}
                    {r.ackId !== undefined && (
                      <form method="post" action="/ack" class="ack inline">
                        <input type="hidden" name="csrf" value={p.csrf} />
                        <input type="hidden" name="id" value={r.ackId} />
                        <input type="hidden" name="back" value={p.back} />
                        <button type="submit">Acknowledge</button>
                      </form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p class="pager">
          {m.newestHref && <a href={m.newestHref}>← newest</a>} {m.olderHref && <a href={m.olderHref}>older →</a>}
        </p>
      </section>
    </Layout>
  );
}
