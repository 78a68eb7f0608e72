/**
 * Probes through the ESP gateway (`probes.via: esp`): each probe goes out through lib/esp's gateway
 * (the providers in order, with failover), its token in a custom header every provider carries. The
 * record keeps the provider that took it and the provider's message id, so webhook events settle it
 * (lib/esp/webhooks/ingest.ts) and the Delivery page can tell "the ESP is failing" from "the domain
 * is failing". A gateway failure (every provider failed, the message refused as invalid, or an error
 * around the gateway) is a send failure with the reason: never a probe left to turn lost.
 */
import type { ProbesConfig } from '../../lib/config/probes.js';
import type { EspGateway, SendResult as EspSendResult } from '../../lib/esp/gateway.js';
import type { ProbeDomain } from '../../lib/probes/domains.js';
import { probeHeader, type ProbeRecord } from '../../lib/probes/model.js';
import type { ProbeStore } from '../../lib/probes/store.js';
import { probeMessage } from './message.js';
import { sendInBatches, type SendOutcome } from './send.js';

/** Probes in flight through the gateway at once (each send may try several providers in turn). */
export const espConcurrency = 4;

/** What the gateway's answer means for one probe record. */
export function espOutcome(r: ProbeRecord, res: EspSendResult, submitMs: number): ProbeRecord {
  const winner = res.outcome === 'sent' ? res.attempts.find((a) => a.outcome === 'sent' && a.provider === res.provider) : undefined;
  if (res.outcome === 'sent' && winner) {
    return {
      ...r,
      submittedAt: Date.parse(winner.at) + winner.ms,
      submitMs,
      smtp: winner.answer,
      provider: winner.provider,
      ...(res.messageId ? { espMessageId: res.messageId } : {}),
    };
  }
  const tried = res.attempts.map((a) => `${a.provider} ${a.outcome} (${a.answer})`).join('; ');
  const refused = res.outcome === 'invalid' ? res.attempts[res.attempts.length - 1] : undefined;
  return {
    ...r,
    submitMs,
    ...(refused ? { provider: refused.provider } : {}),
    sendError: {
      stage: 'esp',
      message: res.outcome === 'invalid' ? `refused as invalid by ${refused?.provider ?? 'the provider'}: ${tried}` : `every ESP provider failed: ${tried || 'no attempt'}`,
      ...(refused ? { response: refused.answer } : {}),
    },
  };
}

export async function sendProbesViaEsp(
  store: ProbeStore,
  gateway: EspGateway,
  cfg: ProbesConfig,
  active: readonly ProbeDomain[],
  now: () => number,
  onBatch?: (n: number) => void | Promise<void>,
): Promise<SendOutcome> {
  const submit = async (recs: readonly ProbeRecord[]): Promise<ProbeRecord[]> => {
    const done = new Array<ProbeRecord>(recs.length);
    let next = 0;
    const worker = async () => {
      while (next < recs.length) {
        const j = next++;
        const r = recs[j]!;
        const m = probeMessage(cfg, r);
        const t0 = performance.now();
        try {
          const res = await gateway.send({ kind: 'probe', from: cfg.from, to: r.address, subject: m.subject, text: m.text, headers: { [probeHeader]: r.token } });
          done[j] = espOutcome(r, res, Math.round(performance.now() - t0));
        } catch (e) {
          done[j] = { ...r, submitMs: Math.round(performance.now() - t0), sendError: { stage: 'esp', message: `the ESP gateway failed: ${(e as Error).message}` } };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(espConcurrency, recs.length) }, worker));
    return done;
  };
  return sendInBatches(store, active, now, submit, (done) => store.saveSent(done), onBatch);
}
