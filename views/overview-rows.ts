/**
 * The overview's table rows, built with hono's `html` tagged template: every interpolated value is
 * escaped (as in JSX; see h.ts) but without building a node tree. One template per row (plus one per issue
 * badge) and constant fragments for the fixed parts keep 2,000 rows cheap to render.
 */
import { h as html } from './h.js';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { Cell, ColumnHead, IssueRef, OverviewRow } from './overview-model.js';
import { shortTime } from './format.js';

type H = HtmlEscapedString;

const levelText = { error: 'problem', warning: 'warning', unknown: 'cannot tell', ok: 'clean' } as const;

/** A title attribute, or nothing when there is no title (2,000 rows of empty ones weighed 60 KB). */
function title(t: string | undefined): H | '' {
  return t ? html` title="${t}"` : '';
}

/** Fixed fragments, built once: the DNS match marks (short tags: three per row) and the empty-cell notes. */
const marks = Object.fromEntries(
  ['rDNS', 'fDNS', 'HELO'].flatMap((label) =>
    (['match', 'mismatch', 'error'] as const).map((state) => [`${label}:${state}`, html`<i class="m-${state}">${label}</i>`]),
  ),
) as Record<string, H>;

/** The usual notes, built once. */
const plain = new Map(['no blocks', 'unlisted'].map((t) => [t, html`<span class="muted">${t}</span>`]));

/** A cell's note (no blocks, unlisted, no data, error) as a muted or "cannot tell" marker. */
function note(c: Cell): H {
  if (c.state === 'unknown') return html`<span class="badge unknown"${title(c.title)}>${c.text}</span>`;
  return (c.title === undefined ? plain.get(c.text) : undefined) ?? html`<span class="muted"${title(c.title)}>${c.text}</span>`;
}

function badges(list: IssueRef[]): H[] {
  return list.map(
    (r) =>
      html`<a class="badge ${r.ack ? 'ack' : r.minor ? 'minor' : 'bad'}" href="/issue?id=${encodeURIComponent(r.id)}" data-dialog title="${
        r.ack ? `acknowledged by ${r.ack.user}${r.ack.at ? ` at ${shortTime(r.ack.at)}` : ''}` : 'open details'
      }">${r.label}${r.ack ? ' ✓' : ''}</a>`,
  );
}

/** A check plugin's cell: its marks (built once per label and state) or its text. */
function cellHtml(c: Cell, sort: string | number | undefined, numeric: boolean | undefined): H {
  const inner = c.marks ? c.marks.map((x) => marks[`${x.label}:${x.state}`] ?? html`<i class="m-${x.state}">${x.label}</i>`) : c.text;
  return html`<td class="c-${c.state}${c.stale ? ' stale' : ''}${numeric ? ' num' : ''}" data-v="${sort ?? ''}"${title(c.title)}>${inner}</td>`;
}

export function rowHtml(r: OverviewRow, columns: readonly ColumnHead[]): H {
  const reasons = r.severity.reasons.length ? r.severity.reasons.map((x) => x.text).join('\n') : '';
  const unsure = r.cannotTell.length
    ? html`<span class="badge unknown" title="${r.cannotTell.join('\n')}">? ${r.cannotTell.length}</span>`
    : '';
  const { checked } = r;
  const st = (s: { stale?: boolean }) => (s.stale ? ' stale' : '');
  const middle = columns.map((col) => {
    if (col.plugin) {
      const c = r.cells[col.key];
      return c ? cellHtml(c, r.sort[col.key], col.numeric) : html`<td></td>`;
    }
    if (col.key === 'blocks') return html`<td data-v="${r.sort.blocks}">${badges(r.blocks)}${r.blocksNote ? note(r.blocksNote) : ''}</td>`;
    return html`<td data-v="${r.sort.listings}">${r.listings.length || r.cannotTell.length ? badges(r.listings) : note(r.listingsNote)}${unsure}</td>`;
  });
  return html`<tr class="sev-${r.severity.level}"><td class="sev" data-v="${r.sort.severity}"${title(reasons)}><span class="dot" aria-label="${
    levelText[r.severity.level]
  }"></span></td><td><a href="/host/${encodeURIComponent(r.host)}">${r.host}</a>${r.fqdn !== r.host ? html`<span class="fqdn">${r.fqdn}</span>` : ''}</td>${
    r.ip === null
      ? html`<td data-v="~" class="c-unknown"${title(r.resolveError)}>${r.resolveError !== undefined ? `unresolved: ${r.resolveError}` : 'pending'}</td>`
      : html`<td class="mono">${r.ip}</td>`
  }${middle}<td class="c-${checked.state}${st(checked)}" data-v="${r.sort.checked}">${checked.text}</td></tr>\n`;
}
