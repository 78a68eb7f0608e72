/**
 * Opening what a command needs: the logger for a config, and Redis (the configured one, or the
 * embedded server under data_dir). Shared by every CLI command.
 */
import fs from 'node:fs';
import type { Config } from '../lib/config/normalize.js';
import { createLogger, secretsOf, type Level, type Logger } from '../lib/log.js';
import { connectRedis, RedisUnavailableError, type Redis } from '../lib/redis.js';
import { describeTarget, type RedisTarget } from '../lib/redis-target.js';
import { ensureEmbeddedRedis } from './redis-embedded.js';
import { fileErrorText } from '../lib/files.js';

export function loggerFor(
  config: Config,
  opts: { level?: Level; stderrLevel?: Level; stream?: NodeJS.WritableStream & { isTTY?: boolean } } = {},
): Logger {
  // data_dir (and so an error_log or htpasswd inside it) is mtarep's own: create it on first start.
  try {
    fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o750 });
  } catch (e) {
    // Commands that load the config without its file checks get here with a data_dir the checks reject.
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'a file stands where a folder must be' : fileErrorText(e);
    throw new Error(`data_dir: cannot create ${config.dataDir}: ${why}`, { cause: e });
  }
  return createLogger({
    secrets: secretsOf(config),
    ...(config.errorLog !== undefined ? { file: config.errorLog } : {}),
    ...(opts.level !== undefined ? { level: opts.level } : {}),
    ...(opts.stderrLevel !== undefined ? { stderrLevel: opts.stderrLevel } : {}),
    ...(opts.stream !== undefined ? { stream: opts.stream } : {}),
  });
}

export interface RedisHandle {
  redis: Redis;
  /** What it is connected to, password redacted. */
  target: string;
  embedded: boolean;
  close(): Promise<void>;
}

/** Connect to the configured Redis, or start/find the embedded one. Throws with a clear message. */
export async function openRedis(config: Config, log: Logger, opts: { reconnect?: boolean; failFast?: boolean } = {}): Promise<RedisHandle> {
  let target: RedisTarget;
  let stopEmbedded = async () => {};
  let embedded = false;
  if (config.redis.url !== undefined) {
    target = { url: config.redis.url };
  } else {
    const emb = await ensureEmbeddedRedis({
      dataDir: config.dataDir,
      onLine: (line) => log.debug('redis-server', { line }),
    });
    if (emb.owner) log.info('started embedded redis-server', { socket: emb.socket });
    target = { path: emb.socket };
    stopEmbedded = emb.stop;
    embedded = true;
  }
  let redis: Redis;
  try {
    redis = await connectRedis(target, {
      ...(opts.reconnect !== undefined ? { reconnect: opts.reconnect } : {}),
      ...(opts.failFast !== undefined ? { failFast: opts.failFast } : {}),
    });
  } catch (e) {
    await stopEmbedded();
    throw e;
  }
  redis.on('error', (e: Error) => log.warn('redis connection error', { error: e.message }));
  const version = await redisVersion(redis);
  if (version !== null && version < 7) {
    await redis.quit().catch(() => redis.disconnect());
    await stopEmbedded();
    throw new RedisUnavailableError(`Redis at ${describeTarget(target)} is version ${version}: mtarep needs Redis 7 or newer (EXPIRE NX)`);
  }
  return {
    redis,
    target: describeTarget(target),
    embedded,
    close: async () => {
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
      await stopEmbedded();
    },
  };
}

/** Major version of the server, or null when INFO does not say (a proxy, a restricted user). */
async function redisVersion(redis: Redis): Promise<number | null> {
  try {
    const m = /redis_version:(\d+)/.exec(await redis.info('server'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
