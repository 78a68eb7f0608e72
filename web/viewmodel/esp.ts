/**
 * The ESP page's view model: provider rows with a state and its reason, which one is in use, event
 * counts per day by type, the latest events, test mails and reports, and probes sent. Pure: the
 * report comes from lib/esp/report.ts.
 */
import type { EspReport } from '../../lib/esp/report.js';
import type { EspSendRecord } from '../../lib/esp/types.js';
import { espEventTypes } from '../../lib/esp/webhooks/events.js';
import type { EspPageModel, EspProviderRow, EspSendRow, ProviderStatus } from '../../views/esp.js';
import { ageText, roughDuration, shortTime } from '../../views/format.js';

export type { EspPageModel } from '../../views/esp.js';

function providerStatus(outcome: string | undefined): { status: ProviderStatus; level: EspProviderRow['level']; text: string } {
  switch (outcome) {
    case 'sent':
    case 'invalid':
      return { status: 'ok', level: 'ok', text: 'working' };
    case 'unavailable':
      return { status: 'failing', level: 'warning', text: 'failing (unreachable, timeout, 5xx or 429)' };
    case 'auth':
      return { status: 'config', level: 'error', text: 'configuration problem: key refused' };
    case 'config':
      return { status: 'config', level: 'error', text: 'configuration problem' };
    default:
      return { status: 'unknown', level: 'unknown', text: 'not used yet' };
  }
}

function sendRow(s: EspSendRecord): EspSendRow {
  return {
    id: s.id,
    kind: s.kind ?? '',
    at: shortTime(s.at),
    to: s.to,
    subject: s.subject,
    outcome: s.outcome,
    provider: s.provider ?? '',
    messageId: s.messageId ?? '',
    attempts: s.attempts.map((a) => ({ provider: a.provider, outcome: a.outcome, ms: a.ms, answer: a.answer })),
  };
}

export function buildEspPage(r: EspReport, now: Date, justSentId?: string): EspPageModel {
  const providers = r.providers.map((p): EspProviderRow => {
    const st = providerStatus(p.lastOutcome);
    return {
      name: p.name,
      status: st.status,
      level: st.level,
      statusText: st.text,
      inUse: r.inUse?.name === p.name,
      lastSuccess: p.lastSuccessAt ? `${shortTime(p.lastSuccessAt)} (${ageText(now, p.lastSuccessAt)})` : 'never',
      lastFailure: p.lastFailureAt ? `${shortTime(p.lastFailureAt)} (${ageText(now, p.lastFailureAt)})` : 'never',
      lastFailureWhy: p.lastFailureAt ? `${p.lastFailureOutcome ?? ''}: ${p.lastFailureAnswer ?? ''}` : '',
      sent: p.sent,
      failed: p.failed,
    };
  });
  let inUseText = 'no providers configured';
  if (r.inUse?.reason === 'first-working') {
    inUseText = `${r.inUse.name}: it worked when the providers before it did not; tried first for another ${roughDuration(r.inUse.ttlSec ?? 0)}`;
  } else if (r.inUse) inUseText = `${r.inUse.name}: first in the configured order (no failover in effect)`;
  const types = espEventTypes.filter((t) => r.days.some((d) => (d.byType[t] ?? 0) > 0));
  const days = r.days.map((d) => {
    const counts = types.map((t) => d.byType[t] ?? 0);
    return { day: `${d.day.slice(0, 4)}-${d.day.slice(4, 6)}-${d.day.slice(6, 8)}`, counts, total: counts.reduce((a, b) => a + b, 0) };
  });
  const sends = r.sends.map(sendRow);
  const model: EspPageModel = {
    configured: r.configured,
    hasProviders: r.providers.length > 0,
    inUseText,
    providers,
    webhooks: r.webhooks.map((w) => ({ vendor: w.vendor, configured: w.configured, path: `/webhooks/${w.vendor}` })),
    countersId: r.countersId,
    types,
    days,
    events: r.events.map((e) => ({
      at: shortTime(e.at),
      provider: e.provider,
      type: e.type,
      espEvent: e.espEvent,
      recipient: e.recipient ?? '',
      smtpStatus: e.smtpStatus ?? '',
      reason: e.reason ?? '',
      messageId: e.messageId ?? '',
    })),
    sends,
    probeSends: r.probeSends.map(sendRow),
  };
  const just = justSentId ? sends.find((s) => s.id === justSentId) : undefined;
  if (just) model.justSent = just;
  return model;
}
