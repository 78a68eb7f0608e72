/**
 * The one concurrency helper: a counting semaphore (`createLimiter`: at most `max` tasks in flight, the
 * rest wait in FIFO order) and `mapLimit` over a list. Node's resolvers have no concurrency limit of
 * their own, so every DNS query goes through a limiter; SSH reads and HTTP lookups use `mapLimit`.
 */
export interface Limiter {
  /** Run `fn` when a slot is free; the slot is released when it settles. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  readonly active: number;
  readonly waiting: number;
}

export function createLimiter(max: number): Limiter {
  if (!Number.isInteger(max) || max < 1) throw new Error(`concurrency must be a positive integer, got ${max}`);
  let active = 0;
  // A queue with a moving head: Array.shift() is O(n) and the queue can hold 200k entries.
  let queue: Array<() => void> = [];
  let head = 0;
  const release = () => {
    active--;
    if (head < queue.length) {
      const next = queue[head]!;
      queue[head++] = undefined as unknown as () => void;
      if (head > 1024 && head * 2 > queue.length) {
        queue = queue.slice(head);
        head = 0;
      }
      active++;
      next();
    }
  };
  return {
    get active() {
      return active;
    },
    get waiting() {
      return queue.length - head;
    },
    run<T>(fn: () => Promise<T>): Promise<T> {
      const start = (): Promise<T> => {
        let p: Promise<T>;
        try {
          p = fn();
        } catch (e) {
          p = Promise.reject(e);
        }
        return p.finally(release);
      };
      if (active < max) {
        active++;
        return start();
      }
      return new Promise<T>((resolve, reject) => {
        queue.push(() => start().then(resolve, reject));
      });
    },
  };
}

/** Map `items` through `fn` with at most `max` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], max: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, max), items.length) }, worker));
  return out;
}

/**
 * The callback a `mapLimitEach` task calls once: `null` and its result, or an error (anything else,
 * so that `.catch(done)` never turns a rejection into a result, whatever it was rejected with).
 */
export type Done<R> = (err: unknown, result?: R) => void;

/**
 * `mapLimit` for tasks that report to a callback instead of returning a promise: the hot path of
 * 200,000 DNSBL lookups, where a promise and an async function per task were a measurable part of
 * the check. A task calls `done` once (later calls are ignored), at once or later; the first error
 * (passed to `done` or thrown by a task as it starts) rejects the whole map and starts no more tasks.
 */
export function mapLimitEach<T, R>(items: readonly T[], max: number, task: (item: T, index: number, done: Done<R>) => void): Promise<R[]> {
  return new Promise((resolve, reject) => {
    const out = new Array<R>(items.length);
    const limit = Math.max(1, max);
    let next = 0;
    let running = 0;
    let left = items.length;
    let failed = false;
    let pumping = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      reject(e);
    };
    // Starts tasks while slots are free; a task that finishes at once frees its slot within the loop
    // (no recursion however many finish synchronously).
    const pump = () => {
      if (pumping) return;
      pumping = true;
      try {
        while (!failed && running < limit && next < items.length) {
          const i = next++;
          running++;
          let called = false;
          task(items[i]!, i, (err, r) => {
            if (called || failed) return;
            called = true;
            if (err !== null) return fail(err);
            out[i] = r as R;
            running--;
            if (--left === 0) resolve(out);
            else pump();
          });
        }
      } catch (e) {
        fail(e);
      } finally {
        pumping = false;
      }
    };
    if (left === 0) resolve(out);
    else pump();
  });
}
