/**
 * The alert engine as a job: read the issue events after the stored position, judge them (the pure
 * rules of lib/alerts/engine.ts), store the new state and queue the finished digests on every channel
 * in ONE transaction (so each event is judged exactly once, each message queued exactly once), then
 * deliver what the outbox holds. One step at a time across processes (a Redis lock). It runs after
 * every source run and on a timer (digest windows end, reminders, the dead man's switch).
 */
import { channelsOf, renderFor, sendOn, type SendOptions } from '../lib/alerts/channels.js';
import { advance, type AlertSettings, type StreamEvent } from '../lib/alerts/engine.js';
import { subjectOf } from '../lib/alerts/message.js';
import { Outbox, outboxItem, queueInto, type DeliverySummary, type OutboxItem } from '../lib/alerts/outbox.js';
import { freshState, parseState, type AlertState } from '../lib/alerts/state.js';
import type { Config } from '../lib/config/normalize.js';
import { readEvents } from '../lib/issue-store.js';
import { keys } from '../lib/keys.js';
import type { Logger } from '../lib/log.js';
import { execChecked, type Redis } from '../lib/redis.js';
import { acquireLock, LockHeldError } from './lock.js';

export interface AlertRunDeps {
  config: Config;
  redis: Redis;
  log: Logger;
  now?: () => Date;
  /** A source's run interval in seconds (dead man's switch); default `collect_interval`. */
  intervalOf?: (source: string) => number;
  /** Deliver one outbox item; default the configured channel (lib/alerts/channels.ts). */
  send?: (item: OutboxItem) => Promise<string>;
  /** Options of the default sender (webhook retries within one delivery). */
  sendOptions?: SendOptions;
  /** Events read per batch (default 1000). */
  batch?: number;
}

export interface AlertRunResult {
  /** Events consumed in this step. */
  events: number;
  /** Digests finished (each queued on every channel). */
  digests: number;
  /** Outbox items newly queued. */
  queued: number;
  delivery: DeliverySummary;
}

export function alertSettings(config: Config, intervalOf?: (source: string) => number): AlertSettings {
  const a = config.alerts;
  return {
    confirmRuns: a.confirmRuns,
    digestS: a.digestS,
    remindS: a.remindS,
    minSeverity: a.minSeverity,
    quiet: a.quiet,
    intervalOf: intervalOf ?? (() => config.collectInterval),
  };
}

/** The stored state, or a fresh one (a corrupt value is reported, then replaced: a fresh state is silent). */
export async function loadAlertState(redis: Redis, key: string, now: Date, log: Logger): Promise<AlertState> {
  const raw = await redis.get(key);
  if (raw === null) return freshState(now);
  try {
    return parseState(raw);
  } catch (e) {
    log.error('alert state is unreadable: starting over (the next run of each source is a silent baseline)', { error: (e as Error).message });
    return freshState(now);
  }
}

/**
 * One engine step. Returns null when another process holds the engine's lock (it is doing the same).
 */
export async function runAlerts(deps: AlertRunDeps): Promise<AlertRunResult | null> {
  const { config, redis, log } = deps;
  const now = deps.now ?? (() => new Date());
  const k = keys(config.redis.prefix);
  let lock;
  try {
    lock = await acquireLock(redis, k.alertsLock, { ttlMs: 60_000, now, onLost: (why) => log.warn(`alert engine: ${why}`) });
  } catch (e) {
    if (e instanceof LockHeldError) return null;
    throw e;
  }
  try {
    const settings = alertSettings(config, deps.intervalOf);
    const channels = channelsOf(config);
    const batch = deps.batch ?? 1000;
    let state = await loadAlertState(redis, k.alertsState, now(), log);
    const result: AlertRunResult = { events: 0, digests: 0, queued: 0, delivery: { sent: 0, retrying: 0, failed: 0, expired: 0 } };
    for (;;) {
      const stored = await readEvents(redis, k, { ...(state.position !== '0' ? { after: state.position } : {}), limit: batch });
      const events: StreamEvent[] = stored.map(({ streamId, ...event }) => ({ id: streamId, event }));
      const t = now();
      // The state was parsed for this call and is replaced by the result: no copy (a failed write below
      // ends the call, and the next one reads the stored state again).
      const r = advance(state, events, t, settings);
      const items = r.digests.flatMap((d) => {
        const subject = subjectOf(d);
        return channels.map((ch) => outboxItem(d, ch, renderFor(ch, d, config), subject, t));
      });
      // The new position and what it caused are written together: never judged or queued twice.
      if (!(await lock.extend())) throw new Error('the alert engine lock was lost: state not written');
      const m = redis.multi().set(k.alertsState, JSON.stringify(r.state));
      queueInto(m, k, items);
      const replies = await execChecked(m, 'alert engine step');
      state = r.state;
      result.events += events.length;
      result.digests += r.digests.length;
      result.queued += replies.slice(1).filter((x) => x === 1).length;
      for (const d of r.digests) {
        log.info(`alert: ${subjectOf(d)}`, { digest: d.id, changes: d.entries.length, channels: channels.length });
      }
      if (r.digests.length > 0 && channels.length === 0) {
        log.warn('alerts: a message is due but no channel is configured (alerts.email / alerts.webhooks)', { digests: r.digests.length });
      }
      if (events.length < batch) break;
    }
    const outbox = new Outbox(redis, k, log);
    const send = deps.send ?? ((it: OutboxItem) => sendOn(config, it.channel, it.message, it.id, { now, ...deps.sendOptions }));
    result.delivery = await outbox.deliverDue(now(), send);
    return result;
  } finally {
    await lock.release();
  }
}

export interface AlertTicker {
  /** Run a step now (after a source run); resolves when it is done. Never throws. */
  kick(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Run the engine every `everyMs` (default 30 s) and on `kick()`; steps never overlap in this process
 * (a kick during a step runs one more step after it). Failures are logged, never thrown.
 */
export function startAlertTicker(deps: AlertRunDeps & { everyMs?: number }): AlertTicker {
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const once = async (): Promise<void> => {
    try {
      await runAlerts(deps);
    } catch (e) {
      deps.log.error('alert engine step failed', { error: (e as Error).message });
    }
  };
  const kick = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await once();
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => void kick(), deps.everyMs ?? 30_000);
  timer.unref();
  return {
    kick,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      if (running) await running;
    },
  };
}
