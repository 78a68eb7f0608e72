/**
 * Per-zone politeness: at most `perSecond` queries per second, evenly spaced (no bursts), so a
 * free-use limit (Spamhaus, Mailspike, Validity) is never exceeded. Callers wait here *before* taking
 * a concurrency slot, so a slow-paced zone never holds slots the other zones could use.
 *
 * Waiters are released one after another and each release is spaced from the *actual* time of the
 * previous one: a timer that fires late (a busy event loop) delays the queries behind it instead of
 * letting them go out together in a burst.
 */
export interface RateLimiter {
  /** Resolves when the caller may send one query. */
  acquire(): Promise<void>;
}

export const unlimited: RateLimiter = { acquire: () => Promise.resolve() };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `clock` and `wait` are parameters so the spacing can be tested without timing. */
export function createRateLimiter(
  perSecond: number | undefined,
  clock: () => number = () => performance.now(),
  wait: (ms: number) => Promise<void> = sleep,
): RateLimiter {
  if (perSecond === undefined) return unlimited;
  if (!(perSecond > 0)) throw new Error(`rate limit must be positive, got ${perSecond}`);
  const interval = 1000 / perSecond;
  let lastRelease = -Infinity;
  let queue: Promise<void> = Promise.resolve();
  return {
    acquire() {
      const turn = queue.then(async () => {
        let now = clock();
        // Rounded up: a timer may fire a fraction of a millisecond early, never a whole one.
        while (now < lastRelease + interval) {
          await wait(Math.ceil(lastRelease + interval - now));
          now = clock();
        }
        lastRelease = now;
      });
      queue = turn;
      return turn;
    },
  };
}
