/**
 * Webhook batches that arrive while the store is busy are stored together: ONE ingest script call
 * (lib/esp/webhooks/ingest.ts storeBatches) for all the batches waiting with the same provider and
 * arrival day, instead of one call each. Per call the script's fixed work (key type checks, one
 * SMISMEMBER per seen-id set, the counter increments summed per field, the list trimming) and the
 * client's (a command, a socket write, a reply) are shared by every batch in it.
 *
 * Exactly once holds as for a batch stored alone: each request's promise settles only after the call
 * holding its batch returned (its events are stored when it is acknowledged); the call is atomic (all
 * or nothing); and the script deduplicates ids across the whole call, so a batch and its retry stored
 * together count once.
 *
 * Up to `inFlight` calls (default 2) run at a time per queue; while they run the next requests gather,
 * and a request arriving when fewer run is stored at once. Two, not one: with one call at a time
 * node waited for Redis's answer and Redis for node's next call, each idle while the other worked;
 * with the next call already sent, Redis starts it the moment the first ends (bench:webhooks,
 * 2026-11-30, alternated in the same hour: 0.56x-0.70x of do-nothing in five runs against
 * 0.43x-0.52x in three with one). More than two made the calls smaller without keeping either side
 * busier (three or four: 0.49x-0.61x).
 * The calls share one connection, so Redis runs them in the order they were sent, one after the
 * other: a batch and its retry in two calls count once, as in two requests far apart.
 * A call failing on a key of the wrong type is retried batch by batch, so only the requests whose
 * batch touches that key fail.
 */
import type { Keys } from '../../keys.js';
import type { Redis } from '../../redis.js';
import type { EspEvent } from './events.js';
import { BadKeyError, prepareBatch, storeBatches, type IngestOptions, type IngestResult, type PreparedBatch } from './ingest.js';

/** The most events one call stores (a single larger batch is still stored, alone). */
export const maxEventsPerCall = 5000;

interface Waiting {
  batch: PreparedBatch;
  resolve(r: IngestResult): void;
  reject(e: unknown): void;
}

export class IngestQueue {
  private waiting: Waiting[] = [];
  /** Calls running now (at most inFlight). */
  private running = 0;
  private readonly inFlight: number;
  /** Script calls made (for tests and the benchmark). */
  calls = 0;

  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
    private readonly opts: Pick<IngestOptions, 'countersId' | 'counterTtlSec' | 'timeZone'> & { inFlight?: number },
  ) {
    this.inFlight = opts.inFlight ?? 2;
    if (!Number.isInteger(this.inFlight) || this.inFlight < 1) throw new Error(`IngestQueue: inFlight must be a positive integer, not ${String(opts.inFlight)}`);
  }

  /** Store a batch (see ingestEvents); settles once its events are stored, or the store failed. */
  ingest(events: readonly EspEvent[], opts: Pick<IngestOptions, 'now' | 'latest'> = {}): Promise<IngestResult> {
    if (events.length === 0) return Promise.resolve({ counted: [], settled: [] });
    let batch: PreparedBatch;
    try {
      batch = prepareBatch(this.k, events, { ...this.opts, ...opts });
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<IngestResult>((resolve, reject) => {
      this.waiting.push({ batch, resolve, reject });
      if (this.running < this.inFlight) void this.drain();
    });
  }

  /** One of the (at most inFlight) loops storing what waits, until nothing does. */
  private async drain(): Promise<void> {
    this.running++;
    try {
      while (this.waiting.length > 0) await this.store(this.next());
    } finally {
      this.running--;
    }
  }

  /** The oldest waiting batch and every other one that can share its call, in arrival order. */
  private next(): Waiting[] {
    const head = this.waiting[0]!.batch;
    const take: Waiting[] = [];
    const rest: Waiting[] = [];
    let events = 0;
    for (const w of this.waiting) {
      const b = w.batch;
      if (b.provider === head.provider && b.arrivalDay === head.arrivalDay && (take.length === 0 || events + b.ids.length <= maxEventsPerCall)) {
        take.push(w);
        events += b.ids.length;
      } else rest.push(w);
    }
    this.waiting = rest;
    return take;
  }

  private async store(take: Waiting[]): Promise<void> {
    this.calls++;
    let results: IngestResult[];
    try {
      results = await storeBatches(this.redis, this.k, take.map((w) => w.batch), this.opts);
    } catch (e) {
      if (!(e instanceof BadKeyError) || take.length === 1) {
        for (const w of take) w.reject(e);
        return;
      }
      // Nothing was written: each batch again on its own, so only those touching the bad key fail.
      for (const w of take) {
        this.calls++;
        try {
          w.resolve((await storeBatches(this.redis, this.k, [w.batch], this.opts))[0]!);
        } catch (e2) {
          w.reject(e2);
        }
      }
      return;
    }
    take.forEach((w, i) => w.resolve(results[i]!));
  }
}
