/**
 * Worker-thread side of `workerSink` (sink.ts): runs the same inline scanner on batches of complete
 * lines posted by the reading thread, acknowledges each batch (for backpressure) by handing its
 * memory back for the next batch, and posts the result at the end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { threadCpuMs } from '../../lib/phases.js';
import { inlineSink, type ScanInit } from './sink.js';

const port = parentPort!;
const sink = inlineSink((workerData as { init: ScanInit }).init);
port.on('message', (m: { type: 'data'; buf: ArrayBuffer; len: number } | { type: 'end' }) => {
  if (m.type === 'data') {
    sink.feed(Buffer.from(m.buf, 0, m.len));
    // The scanner keeps nothing of the bytes (only strings it copied out): the memory goes back.
    port.postMessage({ type: 'ack', buf: m.buf }, [m.buf]);
  } else {
    void sink.finish().then((result) => port.postMessage({ type: 'result', result, cpuMs: threadCpuMs() }));
  }
});
