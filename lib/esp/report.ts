/**
 * What the ESP page and `GET /api/esp` show, read from Redis in one round trip: each provider's state
 * (last success, last failure and why), which one is in use now, webhook event counts by type per day,
 * the latest events, test mails and reports, and probes sent.
 */
import type { EspConfig, EspProviderName } from '../config/esp.js';
import { dayKey, type Keys } from '../keys.js';
import { execChecked, type Redis } from '../redis.js';
import { providerState, type ProviderState } from './store.js';
import type { EspSendRecord } from './types.js';
import { espEventTypes, type EspEvent, type EspEventType, type WebhookVendor } from './webhooks/events.js';
import { latestEvents } from './webhooks/latest.js';

export interface EspReport {
  configured: boolean;
  providers: ProviderState[];
  /** The provider the next send tries first, and why. */
  inUse: { name: EspProviderName; reason: 'first-working' | 'first-in-order'; ttlSec?: number } | null;
  webhooks: { vendor: WebhookVendor; configured: boolean }[];
  countersId: string | null;
  /** Newest day first: counts per event type (all providers) and per provider:type. */
  days: { day: string; byType: Partial<Record<EspEventType, number>>; byProvider: Record<string, number> }[];
  events: EspEvent[];
  /** The latest test mails and reports (`esp:sends`), newest first. */
  sends: EspSendRecord[];
  /** The latest probes sent through the gateway (`esp:probe-sends`), newest first. */
  probeSends: EspSendRecord[];
}

function parseList<T>(raw: unknown): T[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((r) => {
    try {
      return [JSON.parse(String(r)) as T];
    } catch {
      return [];
    }
  });
}

/** Read the report. `days` days back from `now` (in the process's time zone, as the counters). */
export async function readEspReport(redis: Redis, k: Keys, esp: EspConfig | undefined, now: Date, opts: { days?: number; events?: number; sends?: number; probeSends?: number } = {}): Promise<EspReport> {
  const names = (esp?.providers ?? []).map((p) => p.name);
  const dayList = Array.from({ length: opts.days ?? 7 }, (_, i) => dayKey(new Date(now.getTime() - i * 86400_000)));
  const m = redis.multi();
  m.get(k.espFirstWorking).ttl(k.espFirstWorking);
  for (const n of names) m.hgetall(k.espProvider(n));
  for (const d of dayList) m.hgetall(k.espEventCounts(d));
  // One entry per batch: never more entries than events wanted. The list holds about eventsKept
  // events plus one batch (the ingest script trims it by events), so this read is bounded.
  const wanted = opts.events ?? 50;
  m.lrange(k.espEvents, 0, wanted - 1);
  m.lrange(k.espSends, 0, (opts.sends ?? 20) - 1);
  m.lrange(k.espProbeSends, 0, (opts.probeSends ?? 20) - 1);
  const res = await execChecked(m, 'read the ESP report');
  let i = 0;
  const cached = res[i++] as string | null;
  const ttl = res[i++] as number;
  const providers = names.map((name) => providerState(name, (res[i++] ?? {}) as Record<string, string>));
  const days = dayList.map((day) => {
    const h = (res[i++] ?? {}) as Record<string, string>;
    const byType: Partial<Record<EspEventType, number>> = {};
    const byProvider: Record<string, number> = {};
    for (const [field, v] of Object.entries(h)) {
      const n = Number(v);
      if (!Number.isFinite(n)) continue;
      byProvider[field] = n;
      const type = field.slice(field.indexOf(':') + 1) as EspEventType;
      if ((espEventTypes as readonly string[]).includes(type)) byType[type] = (byType[type] ?? 0) + n;
    }
    return { day, byType, byProvider };
  });
  const events = latestEvents(Array.isArray(res[i]) ? (res[i] as string[]) : [], wanted);
  i++;
  const sends = parseList<EspSendRecord>(res[i++]);
  const probeSends = parseList<EspSendRecord>(res[i++]);
  let inUse: EspReport['inUse'] = null;
  // The gateway caches whichever provider worked, also the first in order when it worked at once:
  // that is no failover, and the page must not say the providers before it failed.
  const cachedName = names.find((n) => n === cached);
  if (cachedName && cachedName !== names[0]) inUse = { name: cachedName, reason: 'first-working', ttlSec: ttl };
  else if (names[0]) inUse = { name: names[0], reason: 'first-in-order' };
  return {
    configured: esp !== undefined,
    providers,
    inUse,
    webhooks: (['sendgrid', 'mailgun', 'mandrill'] as const).map((vendor) => ({ vendor, configured: esp?.webhooks[vendor] !== undefined })),
    countersId: esp ? esp.webhooks.countersId : null,
    days,
    events,
    sends,
    probeSends,
  };
}
