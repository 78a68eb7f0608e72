import { describe, expect, it } from 'vitest';
import { createLimiter, mapLimit } from '../lib/concurrency.js';

describe('limiter', () => {
  it('never runs more than max at once and runs everything', async () => {
    const lim = createLimiter(3);
    let inFlight = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        lim.run(async () => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((r) => setTimeout(r, i % 3));
          inFlight--;
          return i;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(lim.active).toBe(0);
  });
  it('releases the slot when a task throws', async () => {
    const lim = createLimiter(1);
    await expect(lim.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lim.run(() => { throw new Error('sync'); })).rejects.toThrow('sync');
    await expect(lim.run(async () => 7)).resolves.toBe(7);
  });
});

describe('mapLimit', () => {
  it('keeps input order', async () => {
    expect(await mapLimit([3, 1, 2], 2, async (x) => x * 2)).toEqual([6, 2, 4]);
    expect(await mapLimit([], 4, async (x) => x)).toEqual([]);
  });
  it('never has more than max calls in flight, and starts each item once', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await mapLimit(Array.from({ length: 40 }, (_, i) => i), 4, async (x, i) => {
      expect(i).toBe(x);
      seen.push(x);
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
    });
    expect(peak).toBe(4);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });
  it('rejects with the first error', async () => {
    await expect(mapLimit([1, 2, 3], 2, async (x) => { if (x === 2) throw new Error('two'); return x; })).rejects.toThrow('two');
  });
});


