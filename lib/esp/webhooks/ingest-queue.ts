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
 * together count once. One call runs at a time per queue: while it runs the next requests gather, and
 * a request arriving when nothing runs is stored at once. A call failing on a key of the wrong type is
 * retried batch by batch, so only the requests whose batch touches that key fail.
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
  private busy = false;
  /** Script calls made (for tests and the benchmark). */
  calls = 0;

  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
    private readonly opts: Pick<IngestOptions, 'countersId' | 'counterTtlSec' | 'timeZone'>,
  ) {}

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
      if (!this.busy) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      while (this.waiting.length > 0) await this.store(this.next());
    } finally {
      this.busy = false;
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
