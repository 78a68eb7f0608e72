/**
 * The ESP gateway: one message, the configured providers in order, failover like smtest's "first
 * working backend" and sharper. A network error, timeout, 5xx or 429 moves on; a bad key (401/403)
 * moves on and is a configuration problem; a message refused as invalid stops (the next provider
 * would refuse it too). The provider that worked is kept in Redis for `first_working_cache_s`, so
 * every process tries it first. Every attempt is recorded with the message.
 */
import crypto from 'node:crypto';
import { espSecrets, type EspConfig, type EspProviderName } from '../config/esp.js';
import type { Keys } from '../keys.js';
import { scrub, silentLogger, type Logger } from '../log.js';
import type { Redis } from '../redis.js';
import type { FetchFn } from './http.js';
import { adapterFor } from './providers/index.js';
import { readFirstWorking, recordSend } from './store.js';
import { configProblemOutcomes, type EspAttempt, type EspMessage, type EspSendRecord, type ProviderAdapter } from './types.js';

export class EspNotConfiguredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EspNotConfiguredError';
  }
}

export interface GatewayDeps {
  esp: EspConfig | undefined;
  redis: Redis;
  k: Keys;
  log?: Logger;
  now?: () => Date;
  fetch?: FetchFn;
}

export interface SendResult extends EspSendRecord {
  /** Providers that answered with a configuration problem (bad key, unknown domain). */
  configProblems: EspProviderName[];
  /** Things that went wrong around the send (the record could not be stored). */
  warnings: string[];
}

/** The order to try: the cached first-working provider, then the rest as configured. */
export function tryOrder<T extends { name: string }>(providers: readonly T[], cached: string | null): T[] {
  const first = providers.find((p) => p.name === cached);
  return first ? [first, ...providers.filter((p) => p !== first)] : [...providers];
}

export class EspGateway {
  private readonly adapters: ProviderAdapter[];
  private readonly secrets: string[];
  private readonly log: Logger;
  private readonly now: () => Date;

  constructor(private readonly deps: GatewayDeps) {
    const esp = deps.esp;
    if (!esp || esp.providers.length === 0 || esp.from === undefined) {
      throw new EspNotConfiguredError('no ESP providers configured: add esp.from and esp.providers to the config');
    }
    const opts = { timeoutMs: esp.timeoutMs, fetch: deps.fetch ?? fetch };
    this.adapters = esp.providers.map((p) => adapterFor(p, opts));
    this.secrets = espSecrets(esp).filter((s) => s.length >= 4);
    this.log = deps.log ?? silentLogger;
    this.now = deps.now ?? (() => new Date());
  }

  get providers(): EspProviderName[] {
    return this.adapters.map((a) => a.name);
  }

  /** Release what the adapters hold (connections). */
  close(): void {
    for (const a of this.adapters) a.close?.();
  }

  /** Send one message. Never throws for a provider's failure: the result says what happened. */
  async send(message: EspMessage): Promise<SendResult> {
    const esp = this.deps.esp!;
    const { redis, k } = this.deps;
    const warnings: string[] = [];
    let cached: string | null = null;
    try {
      cached = (await readFirstWorking(redis, k))?.name ?? null;
    } catch (e) {
      warnings.push(`cannot read the first-working provider from Redis (${(e as Error).message}); trying in config order`);
    }
    const msg = { ...message, from: message.from ?? esp.from!, headers: message.headers ?? {} };
    const attempts: EspAttempt[] = [];
    let outcome: EspSendRecord['outcome'] = 'failed';
    let winner: EspAttempt | undefined;
    for (const adapter of tryOrder(this.adapters, cached)) {
      const started = this.now();
      const t0 = performance.now();
      const answer = await adapter.send(msg);
      const attempt: EspAttempt = {
        provider: adapter.name,
        at: started.toISOString(),
        ms: Math.round(performance.now() - t0),
        ...answer,
        answer: scrub(answer.answer, this.secrets),
      };
      attempts.push(attempt);
      this.log.info(`ESP ${adapter.name}: ${answer.outcome}`, { to: msg.to, answer: attempt.answer });
      if (answer.outcome === 'sent') {
        outcome = 'sent';
        winner = attempt;
        break;
      }
      if (answer.outcome === 'invalid') {
        outcome = 'invalid';
        break;
      }
    }
    const rec: EspSendRecord = {
      id: crypto.randomUUID(),
      kind: message.kind ?? 'test',
      at: attempts[0]?.at ?? this.now().toISOString(),
      from: msg.from,
      to: msg.to,
      subject: msg.subject,
      headers: msg.headers,
      outcome,
      ...(winner ? { provider: winner.provider } : {}),
      ...(winner?.messageId ? { messageId: winner.messageId } : {}),
      attempts,
    };
    try {
      await recordSend(redis, k, rec, {
        ...(winner && winner.provider !== cached ? { set: winner.provider } : {}),
        ttlSec: esp.firstWorkingCacheS,
        // The cached provider failed and nothing else worked: forget it, so the next send starts from the top.
        clear: cached !== null && !winner && attempts.some((a) => a.provider === cached && a.outcome !== 'invalid'),
      });
    } catch (e) {
      warnings.push(`the send could not be recorded in Redis: ${(e as Error).message}`);
      this.log.error('ESP send not recorded', { error: (e as Error).message });
    }
    const configProblems = attempts.filter((a) => configProblemOutcomes.includes(a.outcome)).map((a) => a.provider);
    for (const a of attempts.filter((x) => configProblemOutcomes.includes(x.outcome))) {
      this.log.warn(`ESP ${a.provider}: configuration problem (check its key / domain)`, { provider: a.provider, answer: a.answer });
    }
    return { ...rec, configProblems, warnings };
  }
}
