/**
 * The CLI that the process tests spawn: the sources transpiled to JavaScript once per test run (esbuild,
 * the transpiler tsx itself uses; no bundling, one .js per .ts, the same layout as `dist/`), so each
 * spawned `mtarep` starts like the installed one instead of compiling TypeScript on every start
 * (tsx costs 0.4-0.9 s of CPU per process here, and the suite starts about a hundred).
 *
 * The output goes under `<repo>/.test-build/<id>/` so that what the code finds by walking up from
 * itself (package.json for the version, views/assets, node_modules) is the repository's own.
 * Type errors are not this step's business: `npm test` runs `tsc --noEmit` first.
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

/** The source floors the CLI is made of (tsconfig.build.json's include). */
export const SOURCE_DIRS = ['lib', 'cli', 'collector', 'web', 'views'] as const;

function sources(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const d of SOURCE_DIRS) walk(path.join(root, d));
  return out;
}

/** Transpile the sources of `root` into a fresh folder; returns the path of its `cli/main.js`. */
export async function buildCli(root: string, id: string): Promise<{ main: string; dir: string }> {
  const dir = path.join(root, '.test-build', id);
  fs.rmSync(dir, { recursive: true, force: true });
  await build({
    entryPoints: sources(root),
    outbase: root,
    outdir: dir,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    jsx: 'automatic',
    jsxImportSource: 'hono/jsx',
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  // Node must read the .js files as ES modules: the repository's package.json says "type": "module",
  // and it is found by walking up from .test-build/<id>/.
  const main = path.join(dir, 'cli', 'main.js');
  if (!fs.existsSync(main)) throw new Error(`the test build did not produce ${main}`);
  return { main, dir };
}
