/**
 * Start a worker thread from a module beside the caller, however mtarep runs: from the compiled build
 * (`<name>.js` beside the calling module), from the CLI bundle (`import.meta.url` is the bundle's, and
 * scripts/build-bundle.ts writes the worker beside it), or from the TypeScript sources (tests, tsx:
 * `<name>.ts`, with tsx registered first). The bootstrap is plain JS so it runs in all three.
 */
import { Worker } from 'node:worker_threads';

const BOOT = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.entry.endsWith('.ts')) (await import('tsx/esm/api')).register();
  await import(workerData.entry);
})();
`;

/**
 * A worker running module `name` (without extension) found from `callerUrl` (the caller's
 * `import.meta.url`); `data` is its `workerData` (with `entry` added).
 */
export function startWorker(callerUrl: string, name: string, data: Record<string, unknown>): Worker {
  const entry = new URL(`./${name}${callerUrl.endsWith('.ts') ? '.ts' : '.js'}`, callerUrl).href;
  return new Worker(BOOT, { eval: true, workerData: { ...data, entry } });
}
