/** What every route handler shares: config, Redis, keys, caches, the clock. Built once by createApp. */
import type { Config } from '../lib/config/normalize.js';
import type { Keys } from '../lib/keys.js';
import type { Logger } from '../lib/log.js';
import type { Redis } from '../lib/redis.js';
import type { PageCache } from './cache.js';
import type { CounterReader } from './counters.js';
import type { CsrfTokens } from './csrf.js';
import type { VersionReader } from './data.js';

export interface WebContext {
  config: Config;
  redis: Redis;
  log: Logger;
  k: Keys;
  cache: PageCache;
  csrf: CsrfTokens;
  counters: CounterReader;
  version: VersionReader;
  now: () => Date;
}

/** A same-origin path to go back to after a form, or '/' (never another host: no open redirect). */
export function safeBack(back: unknown): string {
  if (typeof back !== 'string' || back.length > 500) return '/';
  return /^\/(?![/\\])[^\s\\]*$/.test(back) ? back : '/';
}
