/**
 * Node built-ins loaded on first use, for modules that a short command loads but whose use of the
 * built-in is rare: `node:crypto` costs a start about 5-10 ms (it loads its streams and ciphers), and
 * `mtarep check-config` needs it only when the config lists webhooks or ESP keys; `node:os` ~1.5 ms,
 * for the home folder that $HOME already names. A plain
 * `import crypto from 'node:crypto'` runs at module load, in the CLI bundle too.
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);
let cryptoModule: typeof import('node:crypto') | undefined;
let osModule: typeof import('node:os') | undefined;

/** `node:os`, loaded at the first call. */
export function nodeOs(): typeof import('node:os') {
  return (osModule ??= load('node:os') as typeof import('node:os'));
}

/** The home folder as os.homedir() gives it (which reads $HOME first), without loading node:os when $HOME is set. */
export function homeDir(): string {
  return process.env['HOME'] ?? nodeOs().homedir();
}

/** `node:crypto`, loaded at the first call. */
export function nodeCrypto(): typeof import('node:crypto') {
  return (cryptoModule ??= load('node:crypto') as typeof import('node:crypto'));
}
