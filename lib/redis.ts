/**
 * Redis connections. A configured `redis_url` / `redis_server` is used as is; otherwise mtarep runs
 * its own `redis-server` (see redis-embedded.ts). Connections fail fast: a Redis outage gives a clear
 * error within seconds instead of ioredis's default minute of queued retries.
 */
import { Redis, type RedisOptions } from 'ioredis';

export type { Redis } from 'ioredis';

export class RedisUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisUnavailableError';
  }
}

/** Where to connect: a URL, or a unix socket path of the embedded server. */
export type RedisTarget = { url: string } | { path: string };

/** A URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid redis url)';
  }
}

export function describeTarget(t: RedisTarget): string {
  return 'url' in t ? redactUrl(t.url) : `unix:${t.path}`;
}

export interface ConnectOptions {
  /** Per-command timeout. Default 5 s. */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Keep reconnecting after a drop (servers); a CLI run gives up instead. Default true. */
  reconnect?: boolean;
}

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
    retryStrategy: opts.reconnect === false ? () => null : (times) => Math.min(times * 200, 2000),
  };
  const redis = 'url' in target ? new Redis(target.url, base) : new Redis({ ...base, path: target.path });
  let lastError: Error | undefined;
  redis.on('error', (e: Error) => {
    lastError = e;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    const cause = lastError ?? (e as Error);
    throw new RedisUnavailableError(`cannot reach Redis at ${describeTarget(target)}: ${cause.message}`, { cause });
  }
  return redis;
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
