/**
 * Start the bundled CLI (dist/bundle/mtarep.cjs, made by scripts/build-bundle.ts) through a V8 code
 * cache, so a start does not compile zod, yaml and mtarep's own code again (Node 20 has no
 * module.enableCompileCache). The cache is an optimisation, never a correctness dependency:
 *  - one file per bundle build, Node version, architecture and command (each command caches what it
 *    ran), in a folder only this user can write ($XDG_CACHE_HOME/mtarep, ~/.cache/mtarep, else
 *    <tmpdir>/mtarep-cache-<uid>); a folder or file another user could write is not used, since a
 *    code cache is code;
 *  - V8 checks a cache against its version, flags and the source, and rejects it when they differ:
 *    then the bundle is compiled as usual and the cache written again when the process exits;
 *  - a cache is written by a run that did its work (exit 0 or 1), not by one that stopped at a bad
 *    config or command line: it holds the functions that run compiled, and it is kept once accepted;
 *  - any error reading or writing the cache leaves the start as it would be without it.
 * MTAREP_CODE_CACHE=0 switches the cache off.
 */
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { enableLinearRegExp } from '../lib/regex-safety.js';
import { nodeOs } from '../lib/lazy-builtins.js';

/** What happened to the code cache: for tests and debugging. */
export type CacheState = 'off' | 'none' | 'accepted' | 'rejected';

export interface LoadedBundle<T> {
  exports: T;
  cache: CacheState;
  /** The cache file used and (re)written, when there is one. */
  cacheFile?: string;
}

/**
 * A bundle (scripts/build-bundle.ts): `// mtarep-bundle <sha256 of the code>`, then the code already
 * wrapped as a CommonJS module function (compiled as it is: no copy of megabytes to wrap it here).
 */
const HEADER = /^\/\/ mtarep-bundle ([0-9a-f]{64})\n\(function \(exports, require, module, __filename, __dirname\) \{\n/;

/**
 * Where a bundle lies, as 12 hex digits (FNV-1a over its absolute path, two 32-bit lanes): the first
 * part of its caches' names, so installs in different places do not remove each other's caches. Not
 * a security measure (the folder is the user's own); node:crypto would cost every start ~5 ms.
 */
export function cachePlace(file: string): string {
  const p = path.resolve(file);
  let a = 0x811c9dc5;
  let b = 0x2b992ddf;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (a >>> 15);
  }
  return ((a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0')).slice(0, 12);
}

function ownedPrivate(st: fs.Stats): boolean {
  const uid = process.getuid?.();
  return (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;
}

/** A folder for code caches that only this user can write, created when missing; undefined when none. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  // Each candidate made only when the ones before it are not usable (node:os is loaded only then).
  const candidates: (() => string | undefined)[] = [
    () => (env['XDG_CACHE_HOME'] && path.isAbsolute(env['XDG_CACHE_HOME']) ? path.join(env['XDG_CACHE_HOME'], 'mtarep') : undefined),
    () => {
      const home = env['HOME'] || nodeOs().homedir();
      return home && path.isAbsolute(home) ? path.join(home, '.cache', 'mtarep') : undefined;
    },
    () => path.join(nodeOs().tmpdir(), `mtarep-cache-${process.getuid?.() ?? 'user'}`),
  ];
  for (const candidate of candidates) {
    const dir = candidate();
    if (dir === undefined) continue;
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const st = fs.lstatSync(dir);
      if (st.isDirectory() && ownedPrivate(st)) return dir;
    } catch {
      // not writable here: try the next
    }
  }
  return undefined;
}

function readCache(file: string): Buffer | undefined {
  try {
    const st = fs.lstatSync(file);
    if (!st.isFile() || !ownedPrivate(st)) return undefined;
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Write atomically, then remove this bundle location's older caches of the same command (earlier
 * builds, other Node versions): names starting with `place` and ending with `tail`.
 */
function writeCache(dir: string, name: string, place: string, tail: string, data: Buffer): void {
  const file = path.join(dir, name);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, file);
    for (const f of fs.readdirSync(dir)) {
      if (f !== name && f.startsWith(place + '-') && f.endsWith(tail)) fs.rmSync(path.join(dir, f), { force: true });
    }
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Load a CommonJS bundle made by scripts/build-bundle.ts and return its exports, or undefined when
 * there is no bundle at `file` (then the caller runs the modules). `key` names the cache entry (the
 * command); `cacheDir` overrides the folder (tests).
 */
export function loadBundle<T>(file: string, key: string, opts: { cacheDir?: string | undefined; env?: NodeJS.ProcessEnv } = {}): LoadedBundle<T> | undefined {
  let text: string;
  let stat: fs.Stats;
  try {
    const buf = fs.readFileSync(file);
    stat = fs.statSync(file);
    // The bundle is ASCII (esbuild escapes the rest): latin1 is a plain copy.
    text = buf.toString('latin1');
  } catch {
    return undefined;
  }
  const header = HEADER.exec(text);
  if (!header) throw new Error(`${file} is not an mtarep bundle (rebuild with npm run build)`);
  // V8 keeps the flags a cache was made under and rejects it under others; the config load switches
  // these regexp flags on (lib/regex-safety.ts), so they are set before compiling.
  enableLinearRegExp();

  const env = opts.env ?? process.env;
  const safeKey = /^[a-z][a-z0-9-]{0,40}$/.test(key) ? key : 'other';
  const dir = env['MTAREP_CODE_CACHE'] === '0' ? undefined : (opts.cacheDir ?? codeCacheDir(env));
  // <where>-<build>-...: where the bundle lies (so installs do not remove each other's caches), the
  // build's hash of the source, and its size and mtime (a bundle changed without a rebuild).
  const place = cachePlace(file);
  const tail = `-${process.arch}-${safeKey}.v8`;
  const name = `${place}-${header[1]!.slice(0, 20)}-${stat.size}-${Math.floor(stat.mtimeMs)}-${process.version}${tail}`;
  const cacheFile = dir && path.join(dir, name);
  const cachedData = cacheFile ? readCache(cacheFile) : undefined;

  const script = new vm.Script(text, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const cache: CacheState = !cacheFile ? 'off' : !cachedData ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';
  if (cacheFile && cache !== 'accepted') {
    // Written when the command is done: the cache then holds every function this command compiled.
    // Only after a run that did its work (exit 0, or 1: done with some checks failed). An accepted
    // cache is never written again, and one made by a run that stopped at a config or usage error
    // (exit 2) holds little of the command: every later start would compile the rest again (seen:
    // check-config 3-5 ms slower for good after a first run on a bad config).
    process.once('exit', (code) => {
      if (code === 0 || code === 1) writeCache(dir, name, place, tail, script.createCachedData());
    });
  }
  const fn = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dirname: string) => void;
  const mod = { exports: {} as unknown };
  fn(mod.exports, createRequire(file), mod, file, path.dirname(file));
  return { exports: mod.exports as T, cache, ...(cacheFile ? { cacheFile } : {}) };
}
