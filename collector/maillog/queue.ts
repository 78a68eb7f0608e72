/**
 * Recipients awaiting a verdict, per queue id: qmgr's `status=expired` line names no recipient, so
 * the recipients still deferred for that queue id are remembered (across runs, in Redis) until the
 * message is delivered, bounced, expired or too old. Bounded in count and age. Pure in-memory state
 * loaded from and diffed back to the `maillogQueue(host)` hash.
 */

export interface QueueEntry {
  /** Recipients (lower-cased) whose newest status is `deferred`. */
  r: string[];
  /** Epoch seconds of the newest deferral. */
  t: number;
}

export interface QueueLimits {
  maxEntries: number;
  maxAgeSec: number;
}

/** Postfix gives up after maximal_queue_lifetime (5 days by default): a week and a day is plenty. */
export const defaultQueueLimits: QueueLimits = { maxEntries: 200_000, maxAgeSec: 8 * 86_400 };

export class QueueMap {
  private readonly entries: Map<string, QueueEntry>;
  private readonly initial: ReadonlySet<string>;
  private readonly touched = new Set<string>();

  constructor(stored: Record<string, string>, private readonly limits: QueueLimits = defaultQueueLimits) {
    this.entries = new Map();
    for (const [qid, json] of Object.entries(stored)) {
      try {
        const e = JSON.parse(json) as QueueEntry;
        if (Array.isArray(e.r) && typeof e.t === 'number') this.entries.set(qid, { r: e.r.map(String), t: e.t });
        else this.touched.add(qid); // malformed: dropped at commit
      } catch {
        this.touched.add(qid);
      }
    }
    this.initial = new Set(Object.keys(stored));
  }

  get size(): number {
    return this.entries.size;
  }

  get(qid: string): QueueEntry | undefined {
    return this.entries.get(qid);
  }

  deferred(qid: string, rcpt: string, tSec: number): void {
    let e = this.entries.get(qid);
    if (!e) {
      e = { r: [], t: tSec };
      this.entries.set(qid, e);
      // Bounded during a read too (a long backlog can hold more deferrals than the limit).
      if (this.entries.size > this.limits.maxEntries + Math.max(16, Math.ceil(this.limits.maxEntries / 8))) this.dropOldest();
    }
    if (!e.r.includes(rcpt)) e.r.push(rcpt);
    if (tSec > e.t) e.t = tSec;
    this.touched.add(qid);
  }

  /** A final status (sent / bounced) for one recipient: it no longer awaits expiry. */
  settled(qid: string, rcpt: string): void {
    if (this.entries.size === 0) return;
    const e = this.entries.get(qid);
    if (!e) return;
    const i = e.r.indexOf(rcpt);
    if (i < 0) return;
    e.r.splice(i, 1);
    if (e.r.length === 0) this.entries.delete(qid);
    this.touched.add(qid);
  }

  /** The message expired: returns the recipients it still had, and forgets it. */
  expired(qid: string): string[] {
    const e = this.entries.get(qid);
    if (!e) return [];
    this.entries.delete(qid);
    this.touched.add(qid);
    return e.r;
  }

  /** Drop entries older than the age limit, then the oldest beyond the count limit. */
  prune(nowSec: number): number {
    let dropped = 0;
    for (const [qid, e] of this.entries) {
      if (nowSec - e.t > this.limits.maxAgeSec) {
        this.entries.delete(qid);
        this.touched.add(qid);
        dropped++;
      }
    }
    return dropped + this.dropOldest();
  }

  /** Drop the oldest entries beyond the count limit. */
  private dropOldest(): number {
    const excess = this.entries.size - this.limits.maxEntries;
    if (excess <= 0) return 0;
    const byAge = [...this.entries].sort((a, b) => a[1].t - b[1].t);
    for (const [qid] of byAge.slice(0, excess)) {
      this.entries.delete(qid);
      this.touched.add(qid);
    }
    return excess;
  }

  /** What to write back: entries to set (JSON) and queue ids to delete. */
  changes(): { set: [string, string][]; del: string[] } {
    const set: [string, string][] = [];
    const del: string[] = [];
    for (const qid of this.touched) {
      const e = this.entries.get(qid);
      if (e) set.push([qid, JSON.stringify(e)]);
      else if (this.initial.has(qid)) del.push(qid);
    }
    return { set, del };
  }
}
