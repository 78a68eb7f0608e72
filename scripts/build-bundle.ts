/**
 * The CLI as one CommonJS bundle, dist/bundle/mtarep.cjs (run by `npm run build` after tsc), which
 * cli/main.ts starts through a V8 code cache (cli/bundle-loader.ts): issue 13 asks `check-config` to
 * start in 0.15 s, and compiling zod, yaml and mtarep's own modules on every start cost more than that.
 * CommonJS because Node 20 can use a code cache only for scripts (vm.Script), not for ES modules.
 *  - mtarep's code, zod and yaml are bundled (tree-shaken: `import * as z from 'zod'`); the other npm
 *    packages stay in node_modules, loaded with require() by the command that uses them. Commands
 *    stay lazy: esbuild turns each `import()` of a module into a function that runs it on first use.
 *  - `import.meta.url` is the bundle's own URL: what is found from it (package.json, views/assets,
 *    the maillog scan worker, bundled beside it as an ES module) is found from dist/bundle/.
 *  - The first line holds the sha256 of the rest, the name of the bundle's code caches.
 * esbuild (a devDependency) does the bundling.
 *   tsx scripts/build-bundle.ts [OUT_DIR]      (default dist/bundle)
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Bundled; every other dependency stays an external require(). */
const BUNDLED = new Set(['zod', 'yaml']);

function externals(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const names = Object.keys(pkg.dependencies).filter((d) => !BUNDLED.has(d));
  return [...names, ...names.map((n) => `${n}/*`)];
}

/** Build the bundle (and the scan worker beside it) into `outDir`; returns the bundle's path. */
export async function buildBundle(outDir = path.join(root, 'dist', 'bundle')): Promise<string> {
  fs.mkdirSync(outDir, { recursive: true });
  const common: esbuild.BuildOptions = {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node20',
    external: externals(),
    logLevel: 'error',
    charset: 'ascii',
    legalComments: 'none',
    write: false,
  };
  const [program, worker] = await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: [path.join(root, 'cli/program.ts')],
      outfile: path.join(outDir, 'mtarep.cjs'),
      format: 'cjs',
      define: { 'import.meta.url': '__mtarep_url' },
      banner: { js: 'var __mtarep_url = require("node:url").pathToFileURL(__filename).href;' },
    }),
    // An ES module: collector/maillog/sink.ts starts it with import().
    esbuild.build({ ...common, entryPoints: [path.join(root, 'collector/maillog/scan-worker.ts')], outfile: path.join(outDir, 'scan-worker.js'), format: 'esm' }),
  ]);
  const code = program.outputFiles![0]!.text;
  const hash = crypto.createHash('sha256').update(code).digest('hex');
  const file = path.join(outDir, 'mtarep.cjs');
  fs.writeFileSync(file + '.tmp', `// mtarep-bundle ${hash}\n${code}`);
  fs.renameSync(file + '.tmp', file);
  fs.writeFileSync(path.join(outDir, 'scan-worker.js'), worker.outputFiles![0]!.text);
  return file;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = await buildBundle(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  process.stdout.write(`bundle: ${path.relative(process.cwd(), file)} (${(fs.statSync(file).size / 1024).toFixed(0)} KiB)\n`);
}
