import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureEmbeddedRedis, findRedisServer, RedisNotInstalledError } from '../cli/redis-embedded.js';
import { connectRedis, RedisUnavailableError } from '../lib/redis.js';

describe('embedded redis-server', () => {
  it('starts with data on disk, is shared by a second process, keeps data across a restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-emb-'));
    const first = await ensureEmbeddedRedis({ dataDir });
    expect(first.owner).toBe(true);
    expect(fs.statSync(first.socket).isSocket()).toBe(true);
    const r = await connectRedis({ path: first.socket }, { reconnect: false });
    expect(await r.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    await r.set('mtarep:probe', 'kept');

    // A second mtarep process (cron collect beside start) finds it and does not own it.
    const second = await ensureEmbeddedRedis({ dataDir });
    expect(second.owner).toBe(false);
    expect(second.socket).toBe(first.socket);
    await second.stop(); // a non-owner's stop leaves the server running
    expect(await r.get('mtarep:probe')).toBe('kept');
    r.disconnect();

    await first.stop();
    expect(fs.existsSync(first.socket)).toBe(false);
    expect(fs.readdirSync(path.join(dataDir, 'redis')).join(' ')).toMatch(/mtarep\.rdb|appendonlydir|mtarep\.aof/);

    const again = await ensureEmbeddedRedis({ dataDir });
    const r2 = await connectRedis({ path: again.socket }, { reconnect: false });
    expect(await r2.get('mtarep:probe')).toBe('kept');
    r2.disconnect();
    await again.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('says exactly what to install when redis-server is missing', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtarep-emb-'));
    expect(findRedisServer({ PATH: '/nonexistent' })).not.toBeNull(); // the usual places are searched too
    const err = (await ensureEmbeddedRedis({ dataDir, locate: () => null }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(RedisNotInstalledError);
    expect(err.message).toMatch(/apt-get install redis-server/);
    expect(err.message).toMatch(/redis_url/);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a Redis that is not there fails fast with the target named and the password hidden', async () => {
    const err = await connectRedis({ url: 'redis://:hunter22@127.0.0.1:1/0' }, { reconnect: false, connectTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as Error).message).toMatch(/^cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0: /);
    expect((err as Error).message).not.toContain('hunter22');
  });
});
