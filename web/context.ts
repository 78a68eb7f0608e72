/** What every route handler shares: config, Redis, keys, caches, the clock. Built once by createApp. */
import type { AnyPlugin } from '../lib/checks/index.js';
import type { Config } from '../lib/config/normalize.js';
import type { Keys } from '../lib/keys.js';
import type { Logger } from '../lib/log.js';
import type { Redis } from '../lib/redis.js';
import type { PageCache } from './cache.js';
import type { CounterReader } from './counters.js';
import type { CsrfTokens } from './csrf.js';
import type { VersionReader } from './data.js';
import type { RenderThread } from './render-thread.js';

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
  /** The per-IP check plugins the pages and the API show (lib/checks/). */
  plugins: readonly AnyPlugin[];
  /** Where the overview is built when set (startServer); else in the request's thread. */
  renderThread?: RenderThread;
}

/**
 * The same-origin path to go back to after a form: '/' when none is given, null when the one given is
 * not a plain path on this site (another host, a backslash, white space or a control character, which
 * no Location header may carry). Checked before the form acts, so a bad one changes nothing.
 */
export function backPath(back: unknown): string | null {
  if (back === undefined || back === '') return '/';
  if (typeof back !== 'string' || back.length > 500) return null;
  return /^\/(?![/\\])[\x21-\x5b\x5d-\x7e]*$/.test(back) ? back : null;
}

