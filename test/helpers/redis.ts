/**
 * A real Redis for a test file: the run's throwaway server (global-setup.ts), a database of its own,
 * flushed at the start. Use `prefix` for mtarep keys.
 */
import { inject } from 'vitest';
import { connectRedis, type Redis } from '../../lib/redis.js';

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
