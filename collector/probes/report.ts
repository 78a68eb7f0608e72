/**
 * The failing-domain report (mxtrax's receivetests mail, made readable): the failing domains first,
 * then overall figures, then every non-maintenance domain's figures; HTML and plain text. Every value
 * from config or the stores is escaped in the HTML.
 */
import type { ProbesConfig } from '../../lib/config/probes.js';
import type { EspGateway } from '../../lib/esp/gateway.js';
import type { SendResult, SmtpSender } from '../../lib/mail/smtp.js';
import type { ProbeDomain } from '../../lib/probes/domains.js';
import type { DomainSummary } from '../../lib/probes/model.js';
import { counted } from '../../lib/plural.js';

export interface ReportInput {
  failing: string[];
  before: string[];
  summaries: DomainSummary[];
  domains: ProbeDomain[];
  now: number;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const pct = (v: number | null) => (v === null ? '-' : `${v.toFixed(1)}%`);
const secs = (v: number | null) => (v === null ? '-' : `${v.toFixed(1)} s`);

export function buildReport(cfg: ProbesConfig, r: ReportInput): { subject: string; text: string; html: string } {
  const maint = new Set(r.domains.filter((d) => d.maintenance).map((d) => d.domain));
  const byDomain = new Map(r.domains.map((d) => [d.domain, d]));
  const watched = r.summaries.filter((s) => !maint.has(s.domain));
  const recovered = r.before.filter((d) => !r.failing.includes(d));
  const sum = (f: (s: DomainSummary) => number) => watched.reduce((n, s) => n + f(s), 0);
  const onTime = sum((s) => s.counts.on_time);
  const late = sum((s) => s.counts.late);
  const failed = sum((s) => s.failed);
  const judged = sum((s) => s.judged);
  const pcts = watched.filter((s) => s.onTimePct !== null).map((s) => s.onTimePct!);
  const avgPct = pcts.length ? pcts.reduce((a, b) => a + b, 0) / pcts.length : null;
  const rtts = watched.filter((s) => s.avgRttS !== null);
  const avgRtt = rtts.length ? rtts.reduce((a, s) => a + s.avgRttS!, 0) / rtts.length : null;
  const subject = r.failing.length
    ? `[mtarep] ${counted(r.failing.length, 'probe domain')} failing: ${r.failing.slice(0, 3).join(', ')}${r.failing.length > 3 ? ', ...' : ''}`
    : `[mtarep] probe domains recovered: none failing`;
  const limits = `limits: not returned > ${cfg.maxFailNumber} or > ${cfg.maxFailPercentage}%, late > ${cfg.maxLateNumber} or > ${cfg.maxLatePercentage}% over the last ${cfg.window} s (late: back after ${cfg.maxReturnS} s; lost: not back after ${cfg.maxSecUntilFail} s)`;
  const line = (s: DomainSummary) => {
    const d = byDomain.get(s.domain);
    return `${s.domain} (${d?.address ?? ''}, customer ${d?.customer ?? ''}): on time ${s.counts.on_time}, late ${s.counts.late}, not returned ${s.failed} (overdue ${s.counts.overdue}, lost ${s.counts.lost}, bounced ${s.counts.bounced}, spam ${s.counts.spam}, send failed ${s.counts.send_failed}), pending ${s.counts.pending}; on time ${pct(s.onTimePct)}, average ${secs(s.avgRttS)}${s.failing ? ' - FAILING: ' + s.reasons.join('; ') : ''}`;
  };
  const failingS = watched.filter((s) => s.failing);
  const text = [
    r.failing.length ? `Failing probe domains (${r.failing.length}):` : 'No probe domain is failing now.',
    ...failingS.map((s) => '  ' + line(s)),
    ...(recovered.length ? ['', `Recovered since the last report: ${recovered.join(', ')}`] : []),
    '',
    `Overall (${watched.length} domains, ${maint.size} in maintenance left out):`,
    `  average on-time rate ${pct(avgPct)}; on time ${onTime}, late ${late}, not returned ${failed} of ${judged} judged; average delivery time ${secs(avgRtt)}`,
    `  ${limits}`,
    '',
    'Every domain:',
    ...watched.map((s) => '  ' + line(s)),
    '',
    `Report of ${new Date(r.now).toISOString()} by mtarep.`,
  ].join('\n');
  const row = (s: DomainSummary) => {
    const d = byDomain.get(s.domain);
    const st = s.failing ? 'background:#fde2e2' : '';
    return `<tr style="${st}"><td>${esc(s.domain)}</td><td>${esc(d?.customer ?? '')}</td><td>${esc(d?.address ?? '')}</td><td>${s.counts.on_time}</td><td>${s.counts.late}</td><td>${s.failed}</td><td>${s.counts.bounced}</td><td>${s.counts.spam}</td><td>${s.counts.send_failed}</td><td>${pct(s.onTimePct)}</td><td>${secs(s.avgRttS)}</td><td>${s.failing ? '<b>FAILING</b>: ' + esc(s.reasons.join('; ')) : 'ok'}</td></tr>`;
  };
  const head = '<tr><th>domain</th><th>customer</th><th>test address</th><th>on time</th><th>late</th><th>not returned</th><th>bounced</th><th>spam</th><th>send failed</th><th>on time %</th><th>avg</th><th>verdict</th></tr>';
  const table = (rows: DomainSummary[]) => `<table border="1" cellpadding="4" cellspacing="0" style="border-collapse:collapse;font-family:sans-serif;font-size:13px">${head}${rows.map(row).join('')}</table>`;
  const html = `<!doctype html><html><body style="font-family:sans-serif">
<h2>${r.failing.length ? `${counted(r.failing.length, 'probe domain')} failing` : 'No probe domain is failing'}</h2>
${failingS.length ? table(failingS) : ''}
${recovered.length ? `<p>Recovered since the last report: ${esc(recovered.join(', '))}</p>` : ''}
<h3>Overall</h3>
<p>${watched.length} domains (${maint.size} in maintenance left out). Average on-time rate ${pct(avgPct)}; on time ${onTime}, late ${late}, not returned ${failed} of ${judged} judged; average delivery time ${secs(avgRtt)}.</p>
<p style="color:#555">${esc(limits)}</p>
<h3>Every domain</h3>
${table(watched)}
<p style="color:#555">Report of ${new Date(r.now).toISOString()} by mtarep.</p>
</body></html>`;
  return { subject, text, html };
}

export async function sendReport(smtp: SmtpSender, cfg: ProbesConfig, r: ReportInput): Promise<SendResult> {
  const m = buildReport(cfg, r);
  return smtp.send({ from: cfg.from, to: cfg.alertTo, subject: m.subject, text: m.text, html: m.html, headers: { 'Auto-Submitted': 'auto-generated' } });
}

/** The report through the ESP gateway (probes.via: esp without probes.smtp): one send per recipient. */
export async function sendReportViaEsp(gateway: EspGateway, cfg: ProbesConfig, r: ReportInput): Promise<{ ok: true } | { ok: false; error: { message: string } }> {
  const m = buildReport(cfg, r);
  const failures: string[] = [];
  for (const to of cfg.alertTo) {
    const res = await gateway.send({ kind: 'report', from: cfg.from, to, subject: m.subject, text: m.text, html: m.html, headers: { 'Auto-Submitted': 'auto-generated' } });
    if (res.outcome !== 'sent') failures.push(`${to}: ${res.outcome} (${res.attempts.map((a) => `${a.provider} ${a.answer}`).join('; ') || 'no attempt'})`);
  }
  return failures.length ? { ok: false, error: { message: `through the ESP gateway: ${failures.join('; ')}` } } : { ok: true };
}
