import { describe, expect, it } from 'vitest';
import { createLimiter, mapLimit, mapLimitEach } from '../lib/concurrency.js';

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



describe('mapLimitEach (tasks that report to a callback)', () => {
  it('keeps input order whether a task finishes at once or later', async () => {
    const out = await mapLimitEach([3, 1, 2, 5], 2, (x, i, done) => {
      if (i % 2 === 0) done(null, x * 2);
      else setImmediate(() => done(null, x * 2));
    });
    expect(out).toEqual([6, 2, 4, 10]);
    expect(await mapLimitEach([], 4, (x: number, _i, done) => done(null, x))).toEqual([]);
  });
  it('never has more than max tasks running, and starts each item once', async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    await mapLimitEach(Array.from({ length: 40 }, (_, i) => i), 4, (x, i, done) => {
      expect(i).toBe(x);
      seen.push(x);
      running++;
      peak = Math.max(peak, running);
      setImmediate(() => {
        running--;
        done(null, x);
      });
    });
    expect(peak).toBe(4);
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });
  it('runs 200,000 tasks that finish at once without growing the stack', async () => {
    const items = Array.from({ length: 200_000 }, (_, i) => i);
    const out = await mapLimitEach(items, 128, (x, _i, done) => done(null, x + 1));
    expect(out.length).toBe(200_000);
    expect(out[199_999]).toBe(200_000);
  });
  it('rejects with the first error, passed or thrown, and starts no task after it', async () => {
    const started: number[] = [];
    await expect(
      mapLimitEach([1, 2, 3, 4, 5], 1, (x, _i, done) => {
        started.push(x);
        if (x === 2) setImmediate(() => done(new Error('two')));
        else setImmediate(() => done(null, x));
      }),
    ).rejects.toThrow('two');
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([1, 2]);
    await expect(
      mapLimitEach([1, 2, 3], 2, (x, _i, done) => {
        if (x === 3) throw new Error('thrown while starting');
        setImmediate(() => done(null, x));
      }),
    ).rejects.toThrow('thrown while starting');
    // A rejection passed on as it came, with no reason at all, is still a failure.
    await expect(mapLimitEach([1], 1, (_x, _i, done) => void Promise.reject(undefined).catch(done))).rejects.toBeUndefined();
  });
  it('ignores a second call of a task\'s callback', async () => {
    const out = await mapLimitEach([1, 2], 1, (x, _i, done) => {
      done(null, x);
      done(null, 99);
      done(new Error('late'));
    });
    expect(out).toEqual([1, 2]);
  });
});
