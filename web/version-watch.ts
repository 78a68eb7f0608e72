/**
 * Change notices of the data version: a second Redis connection subscribed to the keyspace channel of
 * `keys.dataVersion`, so the dashboard knows the version without a GET per request (web/data.ts
 * VersionReader). Every writer already INCRs that key in the transaction or script that changes data
 * (lib/store, the maillog commit, probes, acks, the alert outbox); Redis announces each INCR on
 * `__keyspace@<db>__:<key>` when `notify-keyspace-events` holds K and $ (or A), which this module sets
 * when missing (adding to what is there). Nothing else changes for the writers.
 *
 * The watch is trusted only while it is known to work; otherwise the reader asks Redis per request as
 * before (never a page from a version nobody checked):
 * - Redis refuses CONFIG (a managed service, an ACL): no watch, logged once;
 * - the subscriber connection drops: not trusted until it is subscribed again;
 * - every `checkIntervalMs` the known version is compared with a GET; a difference whose notice does
 *   not follow within `graceMs` (someone turned the notices off) ends the watch, logged, and it is
 *   tried again after `retryMs`. So a missed notice costs at most about a second of an old page.
 */
import type { Keys } from '../lib/keys.js';
import type { Logger } from '../lib/log.js';
import { duplicateRedis, type Redis } from '../lib/redis.js';
import { readVersion, type VersionReader } from './data.js';

export interface VersionWatchOptions {
  /** How often the known version is compared with a GET. Default 1000 ms. */
  checkIntervalMs?: number;
  /** How long a difference found by that check waits for its notice. Default 250 ms. */
  graceMs?: number;
  /** After the watch broke, how long before it is set up again. Default 30 s. */
  retryMs?: number;
}

export interface VersionWatch {
  close(): void;
}

/** The flags `notify-keyspace-events` needs for INCR notices on key channels, added to `flags`; null when present. */
export function missingNotifyFlags(flags: string): string | null {
  const keyspace = flags.includes('K');
  const strings = flags.includes('$') || flags.includes('A');
  if (keyspace && strings) return null;
  return flags + (keyspace ? '' : 'K') + (strings ? '' : '$');
}

/** Make Redis announce INCRs on key channels; the reason when it cannot. */
async function enableNotices(redis: Redis, log: Logger): Promise<string | null> {
  try {
    const reply = (await redis.call('CONFIG', 'GET', 'notify-keyspace-events')) as string[];
    const now = reply[1] ?? '';
    const wanted = missingNotifyFlags(now);
    if (wanted === null) return null;
    await redis.call('CONFIG', 'SET', 'notify-keyspace-events', wanted);
    log.info('Redis keyspace notifications turned on for the dashboard (notify-keyspace-events)', { was: now, now: wanted });
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Start watching; the reader falls back to a GET per request whenever the watch is not live. */
export function watchVersion(redis: Redis, k: Keys, reader: VersionReader, log: Logger, opts: VersionWatchOptions = {}): VersionWatch {
  const checkIntervalMs = opts.checkIntervalMs ?? 1000;
  const graceMs = opts.graceMs ?? 250;
  const retryMs = opts.retryMs ?? 30_000;
  const channel = `__keyspace@${redis.options.db ?? 0}__:${k.dataVersion}`;
  let closed = false;
  let sub: Redis | null = null;
  let retry: NodeJS.Timeout | undefined;
  let grace: NodeJS.Timeout | undefined;
  let checking = false;

  const stop = (why: string | null) => {
    reader.setWatching(false);
    clearTimeout(grace);
    const s = sub;
    sub = null;
    s?.disconnect();
    if (why !== null && !closed) {
      log.warn('dashboard: data version notices not working; reading the version per request', { reason: why, retryInSec: retryMs / 1000 });
      retry = setTimeout(() => void start(), retryMs);
    }
  };

  const start = async () => {
    if (closed) return;
    const refused = await enableNotices(redis, log);
    if (refused !== null) {
      // A permission, not a failure: asked again only after a restart.
      if (!closed) log.info('dashboard: Redis refused CONFIG for keyspace notifications; reading the data version per request', { reason: refused });
      return;
    }
    if (closed) return;
    const s = duplicateRedis(redis, { lazyConnect: true, autoResubscribe: false, enableOfflineQueue: false });
    sub = s;
    s.on('error', () => {}); // a drop is seen as 'close'; the main connection reports Redis errors
    s.on('message', (ch: string) => {
      if (ch === channel) reader.invalidate();
    });
    s.on('close', () => reader.setWatching(false));
    // Each (re)connection: subscribe, then trust (what was written meanwhile is read fresh).
    s.on('ready', () => {
      s.subscribe(channel).then(
        () => {
          if (sub === s) reader.setWatching(true);
        },
        () => {},
      );
    });
    await s.connect().catch(() => {}); // not reachable now: it reconnects by itself
  };

  // The check: the version known without asking, compared with Redis's.
  const timer = setInterval(() => {
    const known = reader.current();
    if (known === undefined || checking || sub === null) return;
    checking = true;
    const g = reader.changes;
    readVersion(redis, k)
      .then((v) => {
        if (reader.changes !== g || v === known) return;
        // Changed with no notice yet: forget, and see whether the notice follows.
        reader.invalidate();
        const g2 = reader.changes;
        clearTimeout(grace);
        grace = setTimeout(() => {
          if (reader.changes === g2 && sub !== null) stop(`the version changed (${known} -> ${v}) and no notice came within ${graceMs} ms`);
        }, graceMs);
      })
      .catch(() => {})
      .finally(() => (checking = false));
  }, checkIntervalMs);
  timer.unref();

  void start();
  return {
    close() {
      closed = true;
      clearInterval(timer);
      clearTimeout(retry);
      stop(null);
    },
  };
}
