/**
 * The render thread's side (web/render-thread.ts): connect to Redis once, then for each request build
 * the overview with the same function the request thread uses and send the HTML back as bytes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { checkPlugins } from '../lib/checks/index.js';
import { keys } from '../lib/keys.js';
import { connectRedis, type Redis } from '../lib/redis.js';
import { renderOverview } from './overview-render.js';
import type { WorkerData, WorkerReply, WorkerRequest } from './render-thread.js';

const data = workerData as WorkerData;
const k = keys(data.config.redis.prefix);
let redis: Promise<Redis> | null = null;

function connection(): Promise<Redis> {
  redis ??= connectRedis(data.redis.path !== undefined ? { path: data.redis.path } : { url: data.redis.url! }).catch((e: unknown) => {
    redis = null; // tried again with the next render
    throw e;
  });
  return redis;
}

parentPort!.on('message', (m: WorkerRequest) => {
  void (async () => {
    let reply: WorkerReply;
    const transfer: ArrayBuffer[] = [];
    try {
      const html = await renderOverview({ config: data.config, redis: await connection(), k, plugins: checkPlugins }, { ...m.job, now: new Date(m.job.now) });
      const bytes = Buffer.from(html);
      // A Buffer of its own (not a slice of the shared pool), so its memory can move to the other thread.
      const own = new Uint8Array(bytes.length);
      own.set(bytes);
      transfer.push(own.buffer);
      reply = { id: m.id, html: own };
    } catch (e) {
      const err = e as Error & { key?: string };
      reply = { id: m.id, error: { name: err.name, message: err.message, ...(typeof err.key === 'string' ? { key: err.key } : {}) } };
    }
    parentPort!.postMessage(reply, transfer);
  })();
});
