/**
 * A real Redis for a test file: the run's throwaway server (global-setup.ts), a database of its own,
 * flushed at the start. Use `prefix` for mtarep keys. A file that reads what is server-wide (INFO
 * commandstats after CONFIG RESETSTAT: test files in other workers run commands on the shared server
 * at the same time) takes a server of its own instead: `ownTestRedis`.
 */
import { inject } from 'vitest';
import { connectRedis, type Redis } from '../../lib/redis.js';
import { startThrowawayRedis } from './throwaway-redis.js';

export interface TestRedis {
  redis: Redis;
  /** URL of this file's database, for code that connects by itself. */
  url: string;
  db: number;
  prefix: string;
  close(): Promise<void>;
}

export async function testRedis(): Promise<TestRedis> {
  const base = inject('redisUrl');
  const admin = await connectRedis({ url: `${base}/0` }, { reconnect: false });
  const n = await admin.incr('mtarep-test:db-counter');
  admin.disconnect();
  const db = (n % 63) + 1;
  const url = `${base}/${db}`;
  const redis = await connectRedis({ url }, { reconnect: false });
  await redis.flushdb();
  return {
    redis,
    url,
    db,
    prefix: 'mtarep:',
    close: async () => {
      await redis.quit();
    },
  };
}

/** A throwaway redis-server for this file alone (database 0), stopped by `close`. */
export async function ownTestRedis(): Promise<TestRedis> {
  const server = await startThrowawayRedis();
  const redis = await connectRedis({ url: server.url }, { reconnect: false });
  return {
    redis,
    url: server.url,
    db: 0,
    prefix: 'mtarep:',
    close: async () => {
      await redis.quit();
      await server.stop();
    },
  };
}
