/**
 * Node built-ins loaded on first use, for modules that a short command loads but whose use of the
 * built-in is rare: `node:crypto` costs a start about 5-10 ms (it loads its streams and ciphers), and
 * `mtarep check-config` needs it only when the config lists webhooks or ESP keys. A plain
 * `import crypto from 'node:crypto'` runs at module load, in the CLI bundle too.
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);
let cryptoModule: typeof import('node:crypto') | undefined;

/** `node:crypto`, loaded at the first call. */
export function nodeCrypto(): typeof import('node:crypto') {
  return (cryptoModule ??= load('node:crypto') as typeof import('node:crypto'));
}
