/**
 * The overview's table rows, built with hono's `html` tagged template: every interpolated value is
 * escaped (as in JSX) but without building a node tree, so 2,000 rows render in a few milliseconds.
 */
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { Cell, IssueRef, OverviewRow } from '../web/viewmodel/overview.js';

type H = HtmlEscapedString | Promise<HtmlEscapedString>;

const levelText = { error: 'problem', warning: 'warning', unknown: 'cannot tell', ok: 'clean' } as const;

/** An optional attribute: omitted when undefined. */
function attr(name: 'title', v: string | undefined): H | '' {
  return v === undefined ? '' : html` ${name}="${v}"`;
}

function cell(c: Cell, v: string | number, cls = ''): H {
  return html`<td class="c-${c.state}${c.stale ? ' stale' : ''}${cls}" data-v="${v}"${attr('title', c.title)}>${c.text}</td>`;
}

function refs(list: IssueRef[], empty: string, v: number, extra: string[] = []): H {
  const badges = list.map(
    (r) =>
      html`<a class="badge ${r.ack ? 'ack' : 'bad'}" href="/issue?id=${encodeURIComponent(r.id)}" data-dialog="${r.domId}" title="${
        r.ack ? `acknowledged by ${r.ack.user} at ${r.ack.at} UTC` : 'open details'
      }">${r.label}${r.ack ? ' ✓' : ''}</a>`,
  );
  const unsure = extra.length > 0 ? html`<span class="badge unknown" title="${extra.join('\n')}">? ${extra.length}</span>` : '';
  const none = list.length === 0 && extra.length === 0 ? html`<span class="muted">${empty}</span>` : '';
  return html`<td data-v="${v}">${none}${badges}${unsure}</td>`;
}

export function rowHtml(r: OverviewRow, showHttp: boolean): H {
  const reasons = r.severity.reasons.map((x) => x.text).join('\n');
  const ipCell =
    r.ip === null
      ? html`<td data-v="~" class="c-unknown"${attr('title', r.resolveError)}>${r.resolveError !== undefined ? `unresolved: ${r.resolveError}` : 'pending'}</td>`
      : html`<td class="mono">${r.ip}</td>`;
  const dns =
    r.dns.parts.length > 0
      ? r.dns.parts.map((x) => html`<span class="m m-${x.state}">${x.label}</span>`)
      : r.dns.cell.text;
  return html`<tr class="sev-${r.severity.level}"><td class="sev" data-v="${r.sort.severity}"${attr('title', reasons || undefined)}><span class="dot" aria-label="${levelText[r.severity.level]}"></span></td><td><a href="/host/${encodeURIComponent(r.host)}">${r.host}</a>${
    r.fqdn !== r.host ? html`<span class="fqdn">${r.fqdn}</span>` : ''
  }</td>${ipCell}<td data-v="${r.sort.dns}" class="c-${r.dns.cell.state}"${attr('title', r.dns.cell.title)}>${dns}</td>${cell(r.score, r.sort.score, ' num')}${cell(
    r.snds,
    r.sort.snds,
  )}${cell(r.traps, r.sort.traps, ' num')}${showHttp && r.http ? cell(r.http, r.sort.http) : ''}${refs(r.blocks, 'no blocks', r.sort.blocks as number)}${refs(
    r.listings,
    'unlisted',
    r.sort.listings as number,
    r.cannotTell,
  )}${cell(r.checked, r.sort.checked)}</tr>\n`;
}
