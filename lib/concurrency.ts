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
