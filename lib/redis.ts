/**
 * Redis connections. A configured `redis_url` / `redis_server` is used as is; otherwise mtarep runs
 * its own `redis-server` (see redis-embedded.ts). Connections fail fast: a Redis outage gives a clear
 * error within seconds instead of ioredis's default minute of queued retries.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { describeTarget, type RedisTarget } from './redis-target.js';

export type { Redis } from 'ioredis';

export class RedisUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisUnavailableError';
  }
}

export interface ConnectOptions {
  /** Per-command timeout. Default 5 s. */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Keep reconnecting after a drop (servers); a CLI run gives up instead. Default true. */
  reconnect?: boolean;
  /**
   * For the dashboard: while the connection is down a command fails at once instead of waiting in
   * ioredis's offline queue for a reconnection (each 503 took 0.7-4 s), and a command cut off by a
   * drop is not retried. Default false (the collector rides out a short blip).
   */
  failFast?: boolean;
  /** Delay before each reconnection attempt (default: 200 ms per attempt so far, at most 2 s). */
  reconnectDelayMs?: number;
}

/** The options that make a connection fail fast while Redis is down (see ConnectOptions.failFast). */
export const failFastOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 0 } as const;

/**
 * Connect and PING. Throws RedisUnavailableError naming the target (password redacted) and the
 * cause when Redis does not answer within the connect timeout, or refuses the URL's database.
 */
export async function connectRedis(target: RedisTarget, opts: ConnectOptions = {}): Promise<Redis> {
  const base: RedisOptions = {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    commandTimeout: opts.commandTimeoutMs ?? 5000,
    connectTimeout: opts.connectTimeoutMs ?? 3000,
    enableReadyCheck: true,
    retryStrategy: opts.reconnect === false ? () => null : (times) => opts.reconnectDelayMs ?? Math.min(times * 200, 2000),
    ...(opts.failFast ? failFastOptions : {}),
  };
  const redis = 'url' in target ? new Redis(target.url, base) : new Redis({ ...base, path: target.path });
  let lastError: Error | undefined;
  redis.on('error', (e: Error) => {
    lastError = e;
  });
  const guard = guardDatabase(redis);
  try {
    await redis.connect(); // resolves once the ready check passed
    await redis.ping();
    await checkDatabase(redis, guard);
  } catch (e) {
    redis.disconnect();
    if (guard.refused) throw refusedError(redis, guard.refused, describeTarget(target));
    const cause = lastError ?? (e as Error);
    throw new RedisUnavailableError(`cannot reach Redis at ${describeTarget(target)}: ${cause.message}`, { cause });
  }
  return redis;
}

/**
 * A copy of a connection (same server, database and options, `override` aside), guarded like the
 * original against a refused database. For the connections BullMQ and the dashboard's subscriber
 * need, and failFastCopy.
 */
export function duplicateRedis(redis: Redis, override: Partial<RedisOptions> = {}): Redis {
  const copy = redis.duplicate(override);
  guardDatabase(copy);
  return copy;
}

/**
 * A copy of a connection (same server, database and options) that fails fast while Redis is down:
 * for the dashboard when it shares a process with the collector (`mtarep start`).
 */
export async function failFastCopy(redis: Redis): Promise<Redis> {
  const copy = redis.duplicate({ ...failFastOptions, lazyConnect: true });
  copy.on('error', () => {}); // reported by the original connection's handler; commands fail with their own error
  const guard = guardDatabase(copy);
  try {
    await copy.connect();
    await checkDatabase(copy, guard);
  } catch (e) {
    copy.disconnect();
    throw guard.refused ? refusedError(copy, guard.refused) : e;
  }
  return copy;
}

/** Errors the Redis client raises itself (a dropped connection, a timeout, an error reply). */
export function isRedisClientError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  return (
    e instanceof RedisUnavailableError ||
    e.name === 'ReplyError' ||
    e.name === 'MaxRetriesPerRequestError' ||
    /^(Connection is closed\.|Command timed out|Stream isn't writeable|Connection in subscriber mode)/.test(e.message)
  );
}

/** An error's message, saying "Redis" when the Redis client raised it without naming Redis. */
export function describeError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return isRedisClientError(e) && !/redis/i.test(message) ? `Redis: ${message}` : message;
}

/**
 * Run a MULTI and check every reply: EXEC does not roll back, so a failed command inside it must
 * not go unnoticed. Returns the replies.
 */
export async function execChecked(multi: ReturnType<Redis['multi']>, what: string): Promise<unknown[]> {
  const res = await multi.exec();
  if (res === null) throw new Error(`${what}: transaction aborted (a watched key changed)`);
  const failed = res.find(([err]) => err !== null);
  if (failed) throw new Error(`${what}: ${(failed[0] as Error).message}`);
  return res.map(([, v]) => v);
}

/**
 * ioredis selects the URL's database on each (re)connection but does not wait for the answer: when
 * the server refuses (a number past its `databases`, an ACL without SELECT) it emits an 'error' and
 * sends the queued commands anyway, to database 0. This closes such a connection for good instead,
 * before the commands queued behind the SELECT go out, and re-emits the refusal as a
 * RedisUnavailableError naming the database; its commands then fail with "Connection is closed.".
 */
function guardDatabase(redis: Redis): { refused: Error | undefined } {
  const state: { refused: Error | undefined } = { refused: undefined };
  redis.on('error', (e: Error & { command?: { name?: string } }) => {
    // After a failed AUTH the SELECT fails too (NOAUTH): that is the password, reported as such.
    if (e.command?.name !== 'select' || /^(NOAUTH|WRONGPASS)\b/.test(e.message) || state.refused) return;
    state.refused = e;
    redis.disconnect();
    redis.emit('error', refusedError(redis, e));
  });
  return state;
}

/** At connect, the SELECT is asked again and awaited: its 'error' event alone could come too late. */
async function checkDatabase(redis: Redis, guard: { refused: Error | undefined }): Promise<void> {
  const db = redis.options.db ?? 0;
  if (guard.refused) throw guard.refused;
  if (db !== 0) {
    await redis.select(db).catch((e: unknown) => {
      if (!/^(NOAUTH|WRONGPASS)\b/.test((e as Error).message)) guard.refused ??= e as Error;
      throw e;
    });
  }
}

function refusedError(redis: Redis, cause: Error, target?: string): RedisUnavailableError {
  const db = redis.options.db ?? 0;
  const where = target === undefined ? 'Redis' : `Redis at ${target}`;
  const outcome = target === undefined ? 'connection closed, nothing more is sent on it' : 'nothing was written';
  return new RedisUnavailableError(`${where} refused database ${db} of redis_url (the number after host:port): ${cause.message}; ${outcome}`, { cause });
}
