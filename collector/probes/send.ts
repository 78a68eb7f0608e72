/**
 * Sending a round's probes: one probe to each active domain, 200 at a time, each record written before
 * submission (a crash mid-send leaves a record, never an unknown returned probe) and again with the
 * answer; the next batch's records are written while one batch is submitted. `sendInBatches` is that
 * loop; `sendProbes` submits through the SMTP pool, `sendProbesViaEsp` (esp-send.ts) through the ESP
 * gateway. A refused or failed submission is a record with `sendError`.
 */
import type { ProbesConfig } from '../../lib/config/probes.js';
import type { SmtpSender } from '../../lib/mail/smtp.js';
import { newToken } from '../../lib/mail/token.js';
import type { ProbeDomain } from '../../lib/probes/domains.js';
import { probeHeader, type ProbeRecord } from '../../lib/probes/model.js';
import type { ProbeStore } from '../../lib/probes/store.js';
import { probeMessage } from './message.js';

export interface SendOutcome {
  sent: number;
  failed: number;
  firstError?: string;
}

export async function sendInBatches(
  store: ProbeStore,
  active: readonly ProbeDomain[],
  now: () => number,
  /** The records with their answers, in the same order. */
  submit: (recs: readonly ProbeRecord[]) => Promise<ProbeRecord[]>,
  /** How the answered records are stored (the ESP way keeps a bounce a webhook wrote meanwhile). */
  saveDone: (done: readonly ProbeRecord[]) => Promise<unknown>,
  onBatch?: (n: number) => void | Promise<void>,
): Promise<SendOutcome> {
  let sent = 0;
  let failed = 0;
  let firstError: string | undefined;
  const batch = 200;
  // Two batches overlap: while one is being submitted, the next one's records are written (before its
  // own submission) and the previous one's answers saved, so the SMTP connections never wait for Redis.
  const finish = async (recs: ProbeRecord[], before: Promise<void>): Promise<void> => {
    const done = await submit(recs);
    await before; // counted, saved and reported in order
    for (const rec of done) {
      if (rec.sendError) {
        failed++;
        firstError ??= rec.sendError.message;
      } else sent++;
    }
    await saveDone(done);
    await onBatch?.(sent + failed);
  };
  let previous: Promise<void> = Promise.resolve();
  for (let i = 0; i < active.length; i += batch) {
    const t = now();
    const recs: ProbeRecord[] = active.slice(i, i + batch).map((d) => ({ token: newToken(), domain: d.domain, address: d.address, sentAt: t }));
    await store.save(recs, false);
    const current = finish(recs, previous);
    current.catch(() => {}); // awaited below; a failure stops the loop there
    await previous;
    previous = current;
  }
  await previous;
  return { sent, failed, ...(firstError ? { firstError } : {}) };
}

/** Send one probe to each of `active` through the SMTP pool (exported for npm run bench:probes). */
export async function sendProbes(
  store: ProbeStore,
  smtp: SmtpSender,
  cfg: ProbesConfig,
  active: readonly ProbeDomain[],
  now: () => number,
  onBatch?: (n: number) => void | Promise<void>,
): Promise<SendOutcome> {
  const fromDomain = cfg.from.slice(cfg.from.indexOf('@') + 1);
  const submit = async (recs: readonly ProbeRecord[]): Promise<ProbeRecord[]> => {
    const results = await smtp.sendMany(
      recs.map((r) => ({ from: cfg.from, to: r.address, ...probeMessage(cfg, r), headers: { [probeHeader]: r.token }, messageId: `${r.token}@${fromDomain}` })),
    );
    return recs.map((r, j) => {
      const res = results[j]!;
      if (res.ok) return { ...r, submittedAt: res.submittedAt + res.submitMs, submitMs: res.submitMs, smtp: res.response };
      return {
        ...r,
        submitMs: res.submitMs,
        sendError: { stage: res.error.stage, message: res.error.message, ...(res.error.response ? { response: res.error.response } : {}) },
      };
    });
  };
  return sendInBatches(store, active, now, submit, (done) => store.save(done), onBatch);
}
