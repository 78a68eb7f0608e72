/**
 * What a digest says, for each channel: an e-mail (subject in a few words, plain text and HTML bodies
 * grouped by host and domain, links into the dashboard) and a webhook body (one JSON object per change).
 * Pure: the same digest always renders the same bytes, so a retried delivery sends the same message.
 */
import type { OpenIssue } from '../events.js';
import type { AlertEntry, Digest } from './state.js';

export interface RenderOptions {
  /** The dashboard's address, ending in '/'. */
  publicUrl: string;
}

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

/** One change as a webhook receiver gets it. */
export interface WebhookChange {
  change: AlertEntry['change'];
  kind: string;
  issueId: string;
  host: string | null;
  ip: string | null;
  domain: string | null;
  zone: string | null;
  provider: string | null;
  old: { state: string; severity: string } | null;
  new: { state: string; severity: string } | null;
  severity: string;
  detail: string | null;
  firstSeen: string;
  at: string;
  delistUrl: string | null;
  dashboardUrl: string;
  acknowledgedBy: string | null;
}

export interface WebhookBody {
  type: 'alert' | 'test';
  id: string;
  createdAt: string;
  changes: WebhookChange[];
}

/** Only http(s) links leave mtarep (a TXT record or config could hold anything else). */
function safeLink(url: string | undefined): string | null {
  if (url === undefined) return null;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : null;
  } catch {
    return null;
  }
}

/** A few words on what happened to an issue (no place: the caller prefixes host or domain). */
export function phrase(e: AlertEntry): string {
  const i = e.issue;
  const gone = e.change === 'resolved';
  const what = i.zone ?? i.provider ?? '';
  switch (i.kind) {
    case 'listing':
      return gone ? `delisted from ${what}` : `listed on ${what}`;
    case 'block':
      return gone ? `${what} block aged out` : `blocked by ${what}`;
    case 'dns_mismatch':
      return gone ? 'DNS/HELO match again' : 'DNS/HELO mismatch';
    case 'snds':
      return gone ? 'SNDS green again' : `SNDS ${i.state}`;
    case 'snds_traps':
      return gone ? 'SNDS trap hits back under the threshold' : `SNDS trap hits: ${i.state}`;
    case 'score':
      return gone ? 'SenderScore back over the threshold' : `SenderScore ${i.state}`;
    case 'zone_unhealthy':
      return gone ? `zone ${what} healthy again` : `zone ${what} unhealthy (monitoring blind there)`;
    case 'maillog_unreadable':
      return gone ? 'maillog readable again' : 'maillog cannot be read';
    case 'probe_failing':
      return gone ? 'probes recovered' : `probes failing: ${i.state}`;
    case 'esp_failover':
      return gone ? `ESP ${what} back` : `ESP ${what} failed over`;
    case 'collector_silent':
      return i.state;
    default:
      return gone ? `${i.kind} resolved` : `${i.kind}: ${i.state}`;
  }
}

/** Where an issue belongs in a message: its host, else its domain, else the monitoring itself. */
function placeOf(i: OpenIssue): { key: string; title: string; name: string | null } {
  if (i.host) return { key: `host\0${i.host}`, title: `Host ${i.host}`, name: i.host };
  if (i.domain) return { key: `domain\0${i.domain}`, title: `Domain ${i.domain}`, name: i.domain };
  return { key: 'monitoring', title: 'Monitoring', name: null };
}

function dashboardUrlOf(i: OpenIssue, o: RenderOptions): string {
  const base = o.publicUrl;
  if (i.kind === 'collector_silent') return `${base}events`;
  if (i.host) return `${base}host/${encodeURIComponent(i.host)}`;
  if (i.domain) return `${base}events?domain=${encodeURIComponent(i.domain)}`;
  return `${base}events?kind=${encodeURIComponent(i.kind)}`;
}

const label: Record<AlertEntry['change'], string> = {
  opened: 'NEW',
  changed: 'CHANGED',
  resolved: 'RESOLVED',
  reminder: 'STILL OPEN',
  collector_silent: 'COLLECTOR SILENT',
  collector_back: 'COLLECTOR BACK',
};

/** "mta2: listed on zen.spamhaus.org; 2 resolved". */
export function subjectOf(d: Digest): string {
  const bad = d.entries.filter((e) => e.change === 'opened' || e.change === 'changed' || e.change === 'collector_silent');
  const good = d.entries.filter((e) => e.change === 'resolved' || e.change === 'collector_back');
  const reminders = d.entries.filter((e) => e.change === 'reminder');
  const where = (e: AlertEntry) => e.issue.host ?? e.issue.domain ?? (e.change.startsWith('collector') ? 'collector' : e.issue.zone) ?? e.issue.source;
  const parts: string[] = [];
  const shown = bad.slice(0, 2);
  // One place for all shown changes: say it once ("mta2: listed on a, listed on b").
  const places = new Set(shown.map(where));
  if (places.size === 1 && shown.length > 1) parts.push(`${where(shown[0]!)}: ${shown.map(phrase).join(', ')}`);
  else parts.push(...shown.map((e) => `${where(e)}: ${phrase(e)}`));
  if (bad.length > shown.length) parts.push(`${bad.length - shown.length} more new`);
  if (good.length > 0) parts.push(bad.length === 0 && good.length === 1 ? `${where(good[0]!)}: ${phrase(good[0]!)}` : `${good.length} resolved`);
  if (reminders.length > 0) {
    parts.push(parts.length === 0 && reminders.length === 1 ? `still open: ${where(reminders[0]!)}: ${phrase(reminders[0]!)}` : `${reminders.length} still open`);
  }
  return parts.join('; ');
}

function groups(d: Digest): { title: string; url: string | null; entries: AlertEntry[] }[] {
  const out = new Map<string, { title: string; url: string | null; entries: AlertEntry[] }>();
  for (const e of d.entries) {
    const p = placeOf(e.issue);
    let g = out.get(p.key);
    if (!g) {
      g = { title: p.title, url: null, entries: [] };
      out.set(p.key, g);
    }
    g.entries.push(e);
  }
  // Hosts first, then domains, then the monitoring; by name within each.
  const rank = (key: string) => (key.startsWith('host\0') ? 0 : key.startsWith('domain\0') ? 1 : 2);
  return [...out.entries()].sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b)).map(([, g]) => g);
}

/** The facts of one entry as label/value lines (shared by text and HTML). */
function facts(e: AlertEntry, o: RenderOptions): [string, string, 'link' | 'text'][] {
  const i = e.issue;
  const out: [string, string, 'link' | 'text'][] = [];
  if (i.ip) out.push(['IP', i.ip, 'text']);
  if (e.old && e.change !== 'reminder') out.push(['was', `${e.old.state} (${e.old.severity})`, 'text']);
  if (e.new) out.push([e.change === 'reminder' ? 'state' : 'now', `${e.new.state} (${e.new.severity})`, 'text']);
  if (i.detail) out.push([i.kind === 'block' ? 'rejection' : i.kind === 'listing' ? 'reason' : 'detail', i.detail, 'text']);
  out.push(['first seen', i.firstSeen, 'text']);
  const delist = safeLink(i.links?.removal);
  if (delist) out.push([i.kind === 'listing' ? 'delist' : 'removal', delist, 'link']);
  const runbook = safeLink(i.links?.runbook);
  if (runbook) out.push(['runbook', runbook, 'link']);
  if (e.acknowledgedBy) out.push(['acknowledged by', e.acknowledgedBy, 'text']);
  out.push(['dashboard', dashboardUrlOf(i, o), 'link']);
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** The alert e-mail of a digest. */
export function renderEmail(d: Digest, o: RenderOptions): EmailContent {
  const subject = subjectOf(d);
  const text: string[] = [subject, ''];
  const html: string[] = [
    '<!doctype html><html><body style="font-family:sans-serif;font-size:14px">',
    `<h2 style="font-size:16px">${esc(subject)}</h2>`,
  ];
  for (const g of groups(d)) {
    text.push(g.title, '-'.repeat(g.title.length));
    html.push(`<h3 style="font-size:15px;margin:16px 0 4px">${esc(g.title)}</h3>`);
    for (const e of g.entries) {
      const head = `${label[e.change]}: ${phrase(e)}`;
      text.push(`* ${head}`);
      html.push(`<p style="margin:8px 0 2px"><b>${esc(label[e.change])}</b>: ${esc(phrase(e))}</p><table style="border-collapse:collapse;margin-left:12px">`);
      for (const [k, v, type] of facts(e, o)) {
        text.push(`    ${k}: ${v}`);
        const value = type === 'link' ? `<a href="${esc(v)}">${esc(v)}</a>` : esc(v);
        html.push(`<tr><td style="color:#666;padding-right:8px;vertical-align:top">${esc(k)}</td><td>${value}</td></tr>`);
      }
      html.push('</table>');
    }
    text.push('');
  }
  text.push(`Events: ${o.publicUrl}events`, `Dashboard: ${o.publicUrl}`);
  html.push(`<p style="margin-top:16px"><a href="${esc(o.publicUrl)}events">Events</a> · <a href="${esc(o.publicUrl)}">Dashboard</a></p></body></html>`);
  return { subject, text: text.join('\n') + '\n', html: html.join('\n') };
}

/** The webhook body of a digest: one object per change. */
export function renderWebhook(d: Digest, o: RenderOptions): WebhookBody {
  return {
    type: 'alert',
    id: d.id,
    createdAt: d.createdAt,
    changes: d.entries.map((e) => {
      const i = e.issue;
      return {
        change: e.change,
        kind: i.kind,
        issueId: i.id,
        host: i.host ?? null,
        ip: i.ip ?? null,
        domain: i.domain ?? null,
        zone: i.zone ?? null,
        provider: i.provider ?? null,
        old: e.old,
        new: e.new,
        severity: i.severity,
        detail: i.detail ?? null,
        firstSeen: i.firstSeen,
        at: e.at,
        delistUrl: safeLink(i.links?.removal),
        dashboardUrl: dashboardUrlOf(i, o),
        acknowledgedBy: e.acknowledgedBy ?? null,
      };
    }),
  };
}

/** A test message: says it is a test, names the channel, changes nothing. */
export function renderTestEmail(channel: string, at: Date, o: RenderOptions): EmailContent {
  const subject = 'mtarep test alert';
  const text = `This is a test alert from mtarep (${channel}), sent ${at.toISOString()}.\nAlerts reach you on this channel.\n\nDashboard: ${o.publicUrl}\n`;
  const html = `<!doctype html><html><body style="font-family:sans-serif"><p>This is a test alert from mtarep (${esc(channel)}), sent ${esc(at.toISOString())}.</p><p>Alerts reach you on this channel.</p><p><a href="${esc(o.publicUrl)}">Dashboard</a></p></body></html>`;
  return { subject, text, html };
}

export function renderTestWebhook(at: Date): WebhookBody {
  return { type: 'test', id: `test-${at.getTime().toString(36)}`, createdAt: at.toISOString(), changes: [] };
}
