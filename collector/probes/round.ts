/**
 * One probe round (issue 9): receive returned probes, send new ones, judge every domain, write daily
 * stats, report failing domains by mail when that set changes. Self-contained: `runProbeRound(deps)`
 * takes its Redis, clock, logger and mail transports as parameters (tests pass real local servers and
 * a fixed clock). A per-source lock keeps two rounds from overlapping; every write is a checked
 * transaction and the stats are recomputed from the records, so nothing is ever counted twice.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Config } from '../../lib/config/normalize.js';
import type { ProbesConfig, ServerConfig } from '../../lib/config/probes.js';
import { keys as keyBuilder } from '../../lib/keys.js';
import type { Logger } from '../../lib/log.js';
import { MailError } from '../../lib/mail/errors.js';
import type { ImapReader, ImapSettings } from '../../lib/mail/imap.js';
import { createSmtpSender, type SmtpSender, type SmtpSettings } from '../../lib/mail/smtp.js';
import { EspGateway } from '../../lib/esp/gateway.js';
import type { FetchFn } from '../../lib/esp/http.js';
import { domainStore, type ProbeDomain } from '../../lib/probes/domains.js';
import { dayStats, judgeDomain, limitsOf, utcDate, type Limits } from '../../lib/probes/judge.js';
import type { DomainSummary, ProbeRoundSummary } from '../../lib/probes/model.js';
import { probeStore } from '../../lib/probes/store.js';
import type { OpenIssue } from '../../lib/events.js';
import type { Redis } from '../../lib/redis.js';
import { acquireLock, LockHeldError } from '../lock.js';
import { receiveImap, type ReceiveResult } from './receive.js';
import { sendProbesViaEsp } from './esp-send.js';
import { sendProbes } from './send.js';
import { sendReport, sendReportViaEsp } from './report.js';
import { counted } from '../../lib/plural.js';

export interface ProbeRoundDeps {
  config: Config;
  redis: Redis;
  log: Logger;
  /** The clock (tests move it to make probes late or lost without waiting). */
  now?: () => Date;
  /** SMTP sender factory (default: lib/mail/smtp.ts with probes.smtp). */
  smtp?: (s: SmtpSettings) => SmtpSender;
  /** IMAP opener (default: lib/mail/imap.ts). */
  openImap?: (s: ImapSettings) => Promise<ImapReader>;
  /** The source's lock when the source runner already holds it (else the round takes its own). */
  lock?: import('../lock.js').Lock;
  /** Lock TTL (default 10 minutes). */
  lockTtlMs?: number;
  /** How long to wait for the mbox's locks (default 30 s). */
  mboxLockTimeoutMs?: number;
  /** fetch for the ESP gateway with probes.via: esp (default: the global fetch). */
  fetch?: FetchFn;
  /** Called after each batch of probes is recorded as sent (tests stop a round mid-way here). */
  onSentBatch?: (sentSoFar: number) => void | Promise<void>;
}

export interface ProbeRoundResult extends ProbeRoundSummary {
  summaries: DomainSummary[];
  issues: OpenIssue[];
}

function tlsOf(s: ServerConfig) {
  return {
    tls: s.tls,
    insecure: s.insecure,
    ...(s.caFile ? { ca: [fs.readFileSync(s.caFile, 'utf8')] } : {}),
  };
}

/** The SMTP settings of probes.smtp (undefined with via: esp and no probes.smtp). */
export function smtpSettings(p: ProbesConfig): SmtpSettings | undefined {
  if (!p.smtp) return undefined;
  return {
    host: p.smtp.host,
    port: p.smtp.port,
    ...tlsOf(p.smtp),
    pool: p.smtp.pool,
    timeoutMs: p.smtp.timeoutMs,
    ...(p.smtp.user ? { user: p.smtp.user, password: p.smtp.password ?? '' } : {}),
  };
}

export function imapSettings(p: ProbesConfig): ImapSettings | undefined {
  if (!p.imap) return undefined;
  return { host: p.imap.host, port: p.imap.port, ...tlsOf(p.imap), user: p.imap.user, password: p.imap.password ?? '', timeoutMs: p.imap.timeoutMs };
}

/** Issue id of a failing probe domain. */
export const probeIssueId = (domain: string) => `probe:${domain}`;

export async function runProbeRound(deps: ProbeRoundDeps): Promise<ProbeRoundResult> {
  const cfg = deps.config.probes;
  if (!cfg) throw new Error('probes are not configured (no probes: section)');
  const clock = deps.now ?? (() => new Date());
  const now = () => clock().getTime();
  const log = deps.log.child({ source: 'probes' });
  const k = keyBuilder(deps.config.redis.prefix);
  const own = deps.lock === undefined;
  const lock = deps.lock ?? (await acquireLock(deps.redis, k.sourceLock('probes'), { ttlMs: deps.lockTtlMs ?? 600_000 }));
  const runId = crypto.randomUUID();
  const startedAt = now();
  const store = probeStore(deps.redis, deps.config.redis.prefix);
  const domains = domainStore(deps.redis, deps.config.redis.prefix);
  const errors: string[] = [];
  const limits = limitsOf(cfg);
  let smtp: SmtpSender | undefined;
  let gateway: EspGateway | undefined;
  const openSmtp = () => {
    const s = smtpSettings(cfg);
    return s ? (deps.smtp ?? createSmtpSender)(s) : undefined;
  };
  const openGateway = () =>
    new EspGateway({ esp: deps.config.esp, redis: deps.redis, k, log, now: clock, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
  try {
    const state = await store.state();
    // 1. Receive.
    let received: ReceiveResult | undefined;
    let receiveError: string | undefined;
    const readStart = now();
    try {
      const imap = imapSettings(cfg);
      if (imap) {
        received = await receiveImap(store, {
          settings: imap,
          folders: cfg.imap!.folders,
          deleteMatched: cfg.imap!.deleteMatched,
          probeFrom: cfg.from,
          now,
          log,
          ...(deps.openImap ? { open: deps.openImap } : {}),
        });
      } else {
        const { receiveMbox } = await import('./mbox-receive.js');
        received = await receiveMbox(store, {
          path: cfg.mbox!,
          probeFrom: cfg.from,
          now,
          log,
          ...(deps.mboxLockTimeoutMs !== undefined ? { lockTimeoutMs: deps.mboxLockTimeoutMs } : {}),
        });
      }
      state.lastGoodReadAt = readStart;
    } catch (e) {
      receiveError = e instanceof MailError ? e.message : `receive: ${(e as Error).message}`;
      log.error('probe mailbox unreadable: no probe is judged lost meanwhile', { error: receiveError });
      errors.push(receiveError);
    }
    // 2. Send one probe to every active domain.
    const all = await domains.list();
    const active = all.filter((d) => !d.maintenance);
    let sent = 0;
    let sendFailed = 0;
    if (active.length) {
      let r: Awaited<ReturnType<typeof sendProbes>>;
      if (cfg.via === 'esp') {
        gateway = openGateway();
        r = await sendProbesViaEsp(store, gateway, cfg, active, now, deps.onSentBatch);
      } else {
        smtp = openSmtp()!;
        r = await sendProbes(store, smtp, cfg, active, now, deps.onSentBatch);
      }
      sent = r.sent;
      sendFailed = r.failed;
      if (r.failed) errors.push(`${counted(r.failed, 'probe')} could not be sent (${r.firstError ?? ''})`);
    }
    // 3. Judge and 4. stats, from the records.
    const t = now();
    const span = Math.max(cfg.window, cfg.maxSecUntilFail) * 1000;
    const fromDay = Date.parse(utcDate(t - span - 86_400_000) + 'T00:00:00Z');
    const byDomain = await store.forDomains(
      all.map((d) => d.domain),
      fromDay,
      t,
    );
    const summaries: DomainSummary[] = [];
    const stats = new Map<string, ReturnType<typeof dayStats>>();
    for (const d of all) {
      const probes = byDomain.get(d.domain) ?? [];
      summaries.push(judgeDomain(d.domain, probes, t, state.lastGoodReadAt, limits, d.maintenance));
      stats.set(d.domain, dayStats(probes, t, state.lastGoodReadAt, limits));
    }
    await store.writeSummaries(summaries);
    await store.writeStats(stats, utcDate(t - deps.config.retention.probeStatsDays * 86_400_000));
    // Probe records are kept as long as a day's stats can still change, plus a day.
    await store.trim(fromDay - 86_400_000, all.map((d) => d.domain));
    const failing = summaries.filter((s) => s.failing).map((s) => s.domain).sort();
    // 5. Report when the failing set changes (recovery included).
    let alert: ProbeRoundSummary['alert'] = 'none';
    const before = state.reportedFailing ?? [];
    if (failing.join(',') === before.join(',')) alert = failing.length ? 'unchanged' : 'none';
    else if (cfg.alertTo.length === 0) {
      alert = 'no-recipients';
      state.reportedFailing = failing;
    } else {
      // The report leaves through probes.smtp; with via: esp and no probes.smtp, through the gateway.
      smtp ??= openSmtp();
      const input = { failing, before, summaries, domains: all, now: t };
      const res = smtp ? await sendReport(smtp, cfg, input) : await sendReportViaEsp((gateway ??= openGateway()), cfg, input);
      if (res.ok) {
        alert = 'sent';
        state.reportedFailing = failing;
      } else {
        alert = `failed: ${res.error.message}`;
        errors.push(`report mail: ${res.error.message}`);
      }
    }
    const summary: ProbeRoundSummary = {
      runId,
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date(now()).toISOString(),
      status: receiveError && sent === 0 && active.length > 0 ? 'failed' : errors.length ? 'partial' : 'ok',
      sent,
      sendFailed,
      matched: received?.matched ?? 0,
      bounced: received?.bounced ?? 0,
      scanned: received?.scanned ?? 0,
      ...(receiveError ? { receiveError } : {}),
      failing,
      alert,
      errors,
    };
    state.lastRound = summary;
    await store.setState(state);
    const iso = new Date(t).toISOString();
    const issues: OpenIssue[] = summaries
      .filter((s) => s.failing)
      .map((s) => ({
        id: probeIssueId(s.domain),
        kind: 'probe_failing',
        severity: 'problem',
        source: 'probes',
        domain: s.domain,
        state: `failing: ${s.failed} not returned, ${s.counts.late} late of ${s.judged}`,
        detail: s.reasons.join('; '),
        firstSeen: iso,
        lastSeen: iso,
      }));
    log.info('probe round finished', { sent, sendFailed, matched: summary.matched, bounced: summary.bounced, failing: failing.length, alert });
    return { ...summary, summaries, issues };
  } finally {
    smtp?.close();
    gateway?.close();
    if (own) await lock.release();
  }
}

export { LockHeldError };
