/**
 * Redis side of the ESP gateway: the shared "first working provider", each provider's state (last
 * attempt, last success, last failure and why), the bounded list of sends with every attempt, and
 * the message-id index webhook events use to find their send. Reads for the ESP page live here too.
 */
import type { EspProviderName } from '../config/esp.js';
import type { Keys } from '../keys.js';
import { execChecked, type Redis } from '../redis.js';
import type { EspAttempt, EspSendRecord } from './types.js';

/** Sends kept in `esp:sends` (test mails and reports), and probe sends kept in `esp:probe-sends`. */
export const sendsKept = 200;
/** How long a message id stays matchable by webhook events (ESPs retry webhooks for up to 3 days). */
export const messageTtlSec = 7 * 86400;

export interface EspMessageRef {
  sendId: string;
  provider: EspProviderName;
  to: string;
  at: string;
  headers: Record<string, string>;
}

export interface ProviderState {
  name: EspProviderName;
  lastAttemptAt?: string;
  lastOutcome?: string;
  lastSuccessAt?: string;
  lastSuccessAnswer?: string;
  lastFailureAt?: string;
  lastFailureOutcome?: string;
  lastFailureAnswer?: string;
  sent: number;
  failed: number;
}

export async function readFirstWorking(redis: Redis, k: Keys): Promise<{ name: string; ttlSec: number } | null> {
  const [[e1, name], [e2, ttl]] = (await redis.multi().get(k.espFirstWorking).ttl(k.espFirstWorking).exec()) as [[Error | null, string | null], [Error | null, number]];
  if (e1 || e2) throw e1 ?? e2;
  return name ? { name, ttlSec: ttl } : null;
}

/** Write a send and what each attempt says about its provider, in one transaction. */
export async function recordSend(redis: Redis, k: Keys, rec: EspSendRecord, firstWorking: { set?: EspProviderName; ttlSec: number; clear: boolean }): Promise<void> {
  const m = redis.multi();
  const list = rec.kind === 'probe' ? k.espProbeSends : k.espSends;
  m.lpush(list, JSON.stringify(rec)).ltrim(list, 0, sendsKept - 1);
  for (const a of rec.attempts) m.hset(k.espProvider(a.provider), providerFields(a));
  for (const a of rec.attempts) m.hincrby(k.espProvider(a.provider), a.outcome === 'sent' ? 'sent' : a.outcome === 'invalid' ? 'invalid' : 'failed', 1);
  if (rec.outcome === 'sent' && rec.provider && rec.messageId) {
    const ref: EspMessageRef = { sendId: rec.id, provider: rec.provider, to: rec.to, at: rec.at, headers: rec.headers };
    m.set(k.espMessage(rec.provider, rec.messageId), JSON.stringify(ref), 'EX', messageTtlSec);
  }
  if (firstWorking.set && firstWorking.ttlSec > 0) m.set(k.espFirstWorking, firstWorking.set, 'EX', firstWorking.ttlSec);
  else if (firstWorking.clear) m.del(k.espFirstWorking);
  await execChecked(m, 'record the ESP send');
}

function providerFields(a: EspAttempt): Record<string, string> {
  const f: Record<string, string> = { attempt_at: a.at, attempt_outcome: a.outcome };
  if (a.outcome === 'sent') Object.assign(f, { ok_at: a.at, ok_answer: a.answer });
  else if (a.outcome === 'invalid') Object.assign(f, { invalid_at: a.at, invalid_answer: a.answer });
  else Object.assign(f, { fail_at: a.at, fail_outcome: a.outcome, fail_answer: a.answer });
  return f;
}

/** A provider's state from its hash (`esp:provider:<name>`). */
export function providerState(name: EspProviderName, h: Record<string, string>): ProviderState {
  const s: ProviderState = { name, sent: Number(h.sent ?? 0), failed: Number(h.failed ?? 0) };
  if (h.attempt_at) s.lastAttemptAt = h.attempt_at;
  if (h.attempt_outcome) s.lastOutcome = h.attempt_outcome;
  if (h.ok_at) s.lastSuccessAt = h.ok_at;
  if (h.ok_answer) s.lastSuccessAnswer = h.ok_answer;
  if (h.fail_at) s.lastFailureAt = h.fail_at;
  if (h.fail_outcome) s.lastFailureOutcome = h.fail_outcome;
  if (h.fail_answer) s.lastFailureAnswer = h.fail_answer;
  return s;
}

export async function readProviderStates(redis: Redis, k: Keys, names: readonly EspProviderName[]): Promise<ProviderState[]> {
  const m = redis.multi();
  for (const n of names) m.hgetall(k.espProvider(n));
  const res = await execChecked(m, 'read ESP provider states');
  return names.map((name, i) => providerState(name, (res[i] ?? {}) as Record<string, string>));
}

/** The latest `n` test mails and reports, or probe sends. */
export async function readSends(redis: Redis, k: Keys, n: number, which: 'sends' | 'probes' = 'sends'): Promise<EspSendRecord[]> {
  const raw = await redis.lrange(which === 'probes' ? k.espProbeSends : k.espSends, 0, n - 1);
  return raw.flatMap((r) => {
    try {
      return [JSON.parse(r) as EspSendRecord];
    } catch {
      return [];
    }
  });
}

export async function readMessageRef(redis: Redis, k: Keys, provider: EspProviderName, messageId: string): Promise<EspMessageRef | null> {
  const raw = await redis.get(k.espMessage(provider, messageId));
  if (!raw) return null;
  try {
    return JSON.parse(raw) as EspMessageRef;
  } catch {
    return null;
  }
}
