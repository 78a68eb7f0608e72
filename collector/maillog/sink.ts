/**
 * Where read bytes go to be scanned: inline (small reads: the usual incremental run), or a worker
 * thread for large ones (a first run's tail, a rotation, a long backlog), so decryption and SSH on
 * the main thread and the scan on another core overlap. Both give the same `ScanResult`; the worker
 * applies backpressure (the SSH channel is paused while it is behind) so memory stays flat.
 */
import { phase } from '../../lib/phases.js';
import { startWorker } from '../../lib/worker-thread.js';
import type { ProviderBlockRule } from '../../lib/config/normalize.js';
import type { CounterType } from '../../lib/keys.js';
import { blockMatcher, type SlowPattern } from './blocks.js';
import { QueueMap, type QueueLimits } from './queue.js';
import { MaillogScanner, type BlockCandidate } from './scan.js';
import { HostClock } from './time.js';

export interface ScanInit {
  rules: readonly ProviderBlockRule[];
  timezone: string | undefined;
  nowMs: number;
  /** First run: only today's lines count. */
  firstRun: boolean;
  queue: Record<string, string>;
  queueLimits: QueueLimits;
  /** Passes this scanner runs (default all; see MaillogScanner). */
  passes?: { count: boolean; status: boolean; host: boolean };
}

export interface ScanResult {
  lines: number;
  unparsed: number;
  expiredUnknown: number;
  counters: Map<string, Map<CounterType, Map<string, number>>>;
  blocks: Map<string, BlockCandidate>;
  queue: { set: [string, string][]; del: string[] };
  /** Provider-block patterns that were slow on some lines (named in the run's notes). */
  slow: SlowPattern[];
}

export interface ScanSink {
  /** Complete lines (the Buffer is not kept). */
  feed(lines: Buffer): void;
  /** Set by the reader: true = pause the source, false = resume it. */
  onBackpressure?: (pause: boolean) => void;
  finish(): Promise<ScanResult>;
  /** Abandon (on error): frees the worker. */
  close(): void;
}

/** Scan in this thread. */
export function inlineSink(init: ScanInit): ScanSink {
  const clock = new HostClock(new Date(init.nowMs), init.timezone);
  const queue = new QueueMap(init.queue, init.queueLimits);
  const matcher = blockMatcher(init.rules);
  const scanner = new MaillogScanner({
    clock,
    matcher,
    queue,
    ...(init.firstRun ? { countsDay: (d: string) => d === clock.today } : {}),
    ...(init.passes ? { passes: init.passes } : {}),
  });
  return {
    feed: (b) => scanner.feed(b),
    finish: async () => {
      queue.prune(Math.floor(init.nowMs / 1000));
      return {
        lines: scanner.lines,
        unparsed: scanner.unparsed,
        expiredUnknown: scanner.expiredUnknown,
        counters: scanner.counters,
        blocks: scanner.blocks,
        queue: queue.changes(),
        slow: matcher.slow(),
      };
    },
    close: () => {},
  };
}


const BATCH = 1 << 20;
const STATUS = Buffer.from(', status=');
const HIGH = 8;
const LOW = 2;

/**
 * Scan in a worker thread. Returns at once: batches posted while the thread still starts wait in its
 * port (and count against the backpressure limit), so the read does not wait for the thread. The
 * work is split: this thread counts lines, tests the (rare) `: host` lines for blocks and copies the
 * status lines out; the worker parses those (counters, queue, blocks on them).
 */
export function workerSink(init: ScanInit): ScanSink {
  const worker = startWorker(import.meta.url, 'scan-worker', { init: { ...init, passes: { count: false, status: true, host: false } } });
  const local = inlineSink({ ...init, queue: {}, passes: { count: true, status: false, host: true } });
  let failure: Error | null = null;
  let onResult: ((r: ScanResult) => void) | null = null;
  let onFail: ((e: Error) => void) | null = null;
  let outstanding = 0;
  let paused = false;
  let resulted = false;
  const spare: Uint8Array<ArrayBuffer>[] = [];
  const sink: ScanSink = {
    feed,
    finish,
    close: () => void worker.terminate(),
  };
  // A dead scanner must not leave the SSH channel paused (the read would then end as a misleading
  // idle timeout): let data flow, so the next feed throws this failure.
  const failed = (e: Error) => {
    failure = e;
    onFail?.(e);
    if (paused) {
      paused = false;
      sink.onBackpressure?.(false);
    }
  };
  worker.on('message', (m: { type: string; result?: ScanResult; cpuMs?: number; buf?: ArrayBuffer }) => {
    if (m.type === 'ack') {
      outstanding--;
      if (m.buf?.byteLength === BATCH && spare.length < HIGH) spare.push(new Uint8Array(m.buf));
      if (paused && outstanding <= LOW) {
        paused = false;
        sink.onBackpressure?.(false);
      }
    } else if (m.type === 'result') {
      resulted = true;
      if (m.cpuMs !== undefined) phase('scan thread cpu', { value: m.cpuMs, unit: 'ms' });
      onResult?.(m.result!);
    }
  });
  worker.on('error', (e) => failed(new Error(`maillog scanner thread failed: ${e.message}`, { cause: e })));
  // Any end before the result is a failure, whatever the code: node reports 0 for a thread ended
  // before it came online (a slow start on a loaded machine), as for one that returned.
  worker.on('exit', (code) => {
    if (!failure && !resulted) failed(new Error(`maillog scanner thread exited before its result (code ${code})`));
  });

  // Batches go to the worker and come back with its acknowledgement: a read of hundreds of MB reuses
  // a few MB instead of allocating (and making the GC collect) a new buffer per batch.
  let batch = new Uint8Array(new ArrayBuffer(BATCH));
  let used = 0;
  function send(buf: Uint8Array, len: number): void {
    if (failure) throw failure;
    worker.postMessage({ type: 'data', buf: buf.buffer, len }, [buf.buffer as ArrayBuffer]);
    outstanding++;
    if (!paused && outstanding >= HIGH) {
      paused = true;
      sink.onBackpressure?.(true);
    }
  }
  function flush(): void {
    if (used === 0) return;
    send(batch, used);
    batch = spare.pop() ?? new Uint8Array(new ArrayBuffer(BATCH));
    used = 0;
  }
  /**
   * Copy bytes [start, end) of `b` (one line) into the batch, ending it with a newline: the last line
   * of a finished file may have none, and must not run into the next file's first line.
   */
  function put(b: Buffer, start: number, end: number): void {
    const lf = end > start && b[end - 1] === 10 ? 0 : 1;
    const len = end - start + lf;
    if (len > BATCH - used) flush();
    if (len > BATCH) {
      const own = new Uint8Array(new ArrayBuffer(len));
      b.copy(own, 0, start, end);
      if (lf) own[len - 1] = 10;
      send(own, len);
      return;
    }
    b.copy(batch, used, start, end);
    used += len;
    if (lf) batch[used - 1] = 10;
  }
  function feed(b: Buffer): void {
    local.feed(b);
    // Only the status lines go over (about a third of the bytes): this thread finds them, the
    // worker parses them. A line is cut out whole, with its newline.
    let at = 0;
    while ((at = b.indexOf(STATUS, at)) !== -1) {
      const start = b.lastIndexOf(10, at) + 1;
      const nl = b.indexOf(10, at);
      const end = nl < 0 ? b.length : nl + 1;
      put(b, start, end);
      at = end;
    }
  }
  function finish(): Promise<ScanResult> {
    flush();
    return new Promise<ScanResult>((resolve, reject) => {
      if (failure) return reject(failure);
      onResult = (r) => {
        void worker.terminate();
        void local.finish().then((mine) => {
          for (const [provider, b] of mine.blocks) {
            const cur = r.blocks.get(provider);
            if (!cur || b.ms >= cur.ms) r.blocks.set(provider, b);
          }
          resolve({ ...r, lines: mine.lines, slow: [...r.slow, ...mine.slow] });
        }, reject);
      };
      onFail = reject;
      worker.postMessage({ type: 'end' });
    });
  }
  return sink;
}
