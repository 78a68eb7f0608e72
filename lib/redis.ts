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
 * cause when Redis does not answer within the connect timeout.
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
  try {
    await redis.connect(); // resolves once the ready check passed
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    const cause = lastError ?? (e as Error);
    throw new RedisUnavailableError(`cannot reach Redis at ${describeTarget(target)}: ${cause.message}`, { cause });
  }
  return redis;
}

/**
 * A copy of a connection (same server, database and options) that fails fast while Redis is down:
 * for the dashboard when it shares a process with the collector (`mtarep start`).
 */
export async function failFastCopy(redis: Redis): Promise<Redis> {
  const copy = redis.duplicate({ ...failFastOptions, lazyConnect: true });
  copy.on('error', () => {}); // reported by the original connection's handler; commands fail with their own error
  await copy.connect();
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
