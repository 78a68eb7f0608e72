import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../lib/net/dns/rate-limit.js';

describe('rate limiter (fake clock)', () => {
  it('spaces releases 1/rate apart with no burst', async () => {
    let now = 1000;
    const waits: number[] = [];
    const released: number[] = [];
    const rl = createRateLimiter(10, () => now, async (ms) => {
      waits.push(ms);
      now += ms;
    });
    await Promise.all(Array.from({ length: 5 }, () => rl.acquire().then(() => released.push(now))));
    expect(released).toEqual([1000, 1100, 1200, 1300, 1400]);
    expect(waits).toEqual([100, 100, 100, 100]);
    // After an idle second the next query goes at once, without a saved-up burst.
    now += 5000;
    waits.length = 0;
    await rl.acquire();
    await rl.acquire();
    expect(waits).toEqual([100]);
  });
  it('a timer that fires late delays the queries behind it instead of bursting them', async () => {
    let now = 0;
    const released: number[] = [];
    // Every timer fires 250 ms late (a busy event loop).
    const rl = createRateLimiter(10, () => now, async (ms) => {
      now += ms + 250;
    });
    await Promise.all(Array.from({ length: 6 }, () => rl.acquire().then(() => released.push(now))));
    for (let i = 1; i < released.length; i++) expect(released[i]! - released[i - 1]!).toBeGreaterThanOrEqual(100);
  });
  it('has no limit when none is configured', async () => {
    const rl = createRateLimiter(undefined, () => 0, async () => {
      throw new Error('must not wait');
    });
    for (let i = 0; i < 100; i++) await rl.acquire();
  });
  it('rejects a non-positive rate', () => {
    expect(() => createRateLimiter(0)).toThrow(/positive/);
  });
});
