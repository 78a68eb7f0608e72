import { describe, expect, it } from 'vitest';
import { testRedis } from './helpers/redis.js';

describe('test redis', () => {
  it('gives each file its own flushed database on the throwaway server', async () => {
    const t = await testRedis();
    expect(t.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+\/\d+$/);
    expect(t.url).not.toContain(':6379/');
    expect(await t.redis.dbsize()).toBe(0);
    await t.close();
  });
});
