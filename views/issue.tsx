/**
 * The issue details (the overview's issue window, filled on demand, and the no-JavaScript issue page): rejection line, codes, TXT reason,
 * links, advice and the Acknowledge form (POST with a CSRF token). Everything is escaped by hono/jsx;
 * links were allow-listed (http/https) by the view model.
 */
import type { Ack, Issue } from '../lib/issues.js';
import { shortTime } from './format.js';

/** What an issue modal shows for a DNSBL listing or a provider block (built by web/viewmodel/issues.ts). */
export interface IssueView {
  id: string;
  /** DOM id of the modal. */
  domId: string;
  kind: Issue['kind'];
  /** Zone or provider. */
  name: string;
  host: string;
  fqdn: string;
  ip?: string;
  /** Provider block: the newest rejection line (verbatim, escaped by the view), its time and domain. */
  line?: string;
  lineAt?: string;
  recipientDomain?: string;
  /** DNSBL listing: answer codes, their meaning, TXT reason. */
  codes: string[];
  labels: string[];
  txt?: string;
  removalLink: string | null;
  assistanceLink: string | null;
  advice?: string;
  ack?: Ack;
}

export function issueTitle(i: IssueView): string {
  return i.kind === 'rbl' ? `${i.ip ?? i.host} listed on ${i.name}` : `${i.name} blocks ${i.host}`;
}

export function IssueBody(p: { issue: IssueView; csrf: string; back: string }) {
  const i = p.issue;
  return (
    <div class="issue-body">
      <h2>{issueTitle(i)}</h2>
      <dl class="facts">
        <dt>Host</dt>
        <dd>
          <a href={`/host/${encodeURIComponent(i.host)}`}>{i.host}</a> <span class="muted">{i.fqdn}</span>
        </dd>
        {i.ip !== undefined && (
          <>
            <dt>{i.kind === 'block' ? 'Blocked IP' : 'IP'}</dt>
            <dd class="mono">{i.ip}</dd>
          </>
        )}
        {i.codes.length > 0 && (
          <>
            <dt>Answer</dt>
            <dd class="mono">
              {i.codes.join(', ')}
              {i.labels.length > 0 && <span class="muted"> ({i.labels.join(', ')})</span>}
            </dd>
          </>
        )}
        {i.txt !== undefined && (
          <>
            <dt>Reason (TXT)</dt>
            <dd class="txt">{i.txt}</dd>
          </>
        )}
        {i.recipientDomain !== undefined && (
          <>
            <dt>Recipient domain</dt>
            <dd>{i.recipientDomain}</dd>
          </>
        )}
        {i.lineAt !== undefined && (
          <>
            <dt>Seen</dt>
            <dd>{shortTime(i.lineAt)}</dd>
          </>
        )}
      </dl>
      {i.line !== undefined && (
        <>
          <h3>SMTP rejection</h3>
          <pre class="logline">{i.line}</pre>
        </>
      )}
      {i.advice !== undefined && <p class="advice">{i.advice}</p>}
      <p class="links">
        {i.removalLink ? (
          <a href={i.removalLink} rel="noopener noreferrer" target="_blank">
            Removal / lookup form
          </a>
        ) : (
          <span class="muted">No removal link configured (removal_links).</span>
        )}
        {i.assistanceLink && (
          <a href={i.assistanceLink} rel="noopener noreferrer" target="_blank">
            Runbook
          </a>
        )}
      </p>
      {i.ack ? (
        <p class="acked">
          Acknowledged by <strong>{i.ack.user}</strong>{i.ack.at ? ` at ${shortTime(i.ack.at)}` : ''}
        </p>
      ) : (
        <form method="post" action="/ack" class="ack">
          <input type="hidden" name="id" value={i.id} />
          <input type="hidden" name="csrf" value={p.csrf} />
          <input type="hidden" name="back" value={p.back} />
          <button type="submit">Acknowledge</button>
        </form>
      )}
    </div>
  );
}

/**
 * The one issue window of the overview, empty: app.js fills it with an issue's details fetched from
 * /issue/part when a badge is clicked (rows carry no details; without JavaScript a badge opens the
 * issue page).
 */
export function IssueDialogShell() {
  return (
    <dialog id="issue-dialog" class="issue" aria-label="Issue details">
      <form method="dialog" class="close">
        <button type="submit" aria-label="Close">
          ×
        </button>
      </form>
      <div class="issue-slot"></div>
    </dialog>
  );
}
