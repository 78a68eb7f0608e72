/**
 * The CLI as one CommonJS bundle, dist/bundle/mtarep.cjs (run by `npm run build` after tsc), which
 * cli/main.ts starts through a V8 code cache (cli/bundle-loader.ts): issue 13 asks `check-config` to
 * start in 0.15 s, and compiling zod, yaml and mtarep's own modules on every start cost more than that.
 * CommonJS because Node 20 can use a code cache only for scripts (vm.Script), not for ES modules.
 *  - mtarep's code and the packages every collect or check-config start loads are bundled: zod
 *    (tree-shaken: `import * as z from 'zod'`), yaml, ioredis, ssh2 and nodemailer, with their own
 *    dependencies; their `__dirname`/`__filename` still name their folder in node_modules, and native
 *    addons (ssh2's crypto binding, cpu-features) are required from there. The other npm packages
 *    (hono, bullmq, csv-parse, ...) stay in node_modules, required by the command that uses them.
 *    Commands stay lazy: esbuild turns each `import()` of a module into a function that runs it on
 *    first use.
 *  - `import.meta.url` is the bundle's own URL: what is found from it (package.json, views/assets,
 *    the maillog scan worker and the dashboard's render worker, bundled beside it as ES modules) is
 *    found from dist/bundle/.
 *  - Beside it, one folder up, the launcher dist/cli/mtarep.cjs (package.json "bin"): cli/main.ts
 *    as a small CommonJS script with the light part of the program inside (argument parsing, --help,
 *    --version; the command modules stay outside, in dist/cli/commands/ where tsc wrote them), so
 *    `mtarep --version` and `--help` load no other file, and a command loads the bundle.
 *  - Beside it, one bundle per command, dist/bundle/mtarep-<command>.cjs: the same program with only that
 *    command's module (the other commands' `import()`s lead to a stub that says so). The launcher runs
 *    a command from its own bundle when there is one: `check-config` then reads and deserialises
 *    0.6 MB and its code cache instead of the whole program's 2.5 MB (about 13 ms of CPU per start).
 *  - The first line holds the sha256 of the code, the name of the bundle's code caches; the code is
 *    wrapped as a CommonJS module function (a script whose value is that function), which
 *    cli/bundle-loader.ts compiles and calls.
 * esbuild (a devDependency) does the bundling.
 *   tsx scripts/build-bundle.ts [OUT_DIR]      (default dist/bundle)
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Bundled (with their dependencies); every other dependency stays an external require(). */
const BUNDLED = new Set(['zod', 'yaml', 'ioredis', 'ssh2', 'nodemailer']);
/** Native addons: never bundled. */
const NATIVE = ['cpu-features'];

function externals(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const names = [...Object.keys(pkg.dependencies).filter((d) => !BUNDLED.has(d)), ...NATIVE];
  return [...names, ...names.map((n) => `${n}/*`)];
}

/**
 * Bundled packages keep their place: `__dirname` and `__filename` in their code become their folder
 * and file in node_modules (found from the bundle's own folder), and a `.node` addon is required from
 * there. Each addon path is checked to exist when the build finishes.
 */
function keepPackagePaths(outDir: string, addons: string[]): esbuild.Plugin {
  const fromBundle = (p: string) => JSON.stringify(path.relative(outDir, p));
  return {
    name: 'keep-package-paths',
    setup(build) {
      build.onResolve({ filter: /\.node$/ }, (args) => {
        const abs = path.resolve(args.resolveDir, args.path);
        addons.push(abs);
        return { path: './' + path.relative(outDir, abs), external: true };
      });
      build.onLoad({ filter: /[\\/]node_modules[\\/].*\.c?js$/ }, (args) => {
        const text = fs.readFileSync(args.path, 'utf8');
        if (!/\b__(dirname|filename)\b/.test(text)) return undefined;
        return {
          contents: text
            .replace(/\b__dirname\b/g, `require("node:path").join(__dirname, ${fromBundle(path.dirname(args.path))})`)
            .replace(/\b__filename\b/g, `require("node:path").join(__dirname, ${fromBundle(args.path)})`),
          loader: 'js',
        };
      });
    },
  };
}

/**
 * The launcher holds cli/main.ts, the program's light part and the bundle loader. What cli/ imports
 * only when a command runs (the command modules, the config loader) stays outside: tsc's output in
 * dist/, used only when there is no bundle or MTAREP_BUNDLE=0. The paths stay as written, relative to
 * cli/, which is where the launcher lies (dist/cli/).
 */
function lightLauncher(): esbuild.Plugin {
  return {
    name: 'light-launcher',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind !== 'dynamic-import' || path.basename(args.importer) === 'main.ts') return undefined;
        if (path.dirname(args.importer) !== path.join(root, 'cli')) {
          return { errors: [{ text: `the launcher reaches import('${args.path}') outside cli/ (in ${path.relative(root, args.importer)}); keep it out of cli/main.ts's light path` }] };
        }
        return { path: args.path, external: true };
      });
    },
  };
}

/** The command modules cli/commands.ts imports (`import('./commands/<name>.js')`): one bundle each. */
function commandModules(): string[] {
  const text = fs.readFileSync(path.join(root, 'cli', 'commands.ts'), 'utf8');
  const names = [...text.matchAll(/import\('\.\/commands\/([a-z0-9-]+)\.js'\)/g)].map((m) => m[1]!);
  if (names.length === 0) throw new Error('no command modules found in cli/commands.ts');
  return names;
}

/**
 * A command's own bundle: cli/commands.ts's `import()` of every other command leads to a stub (the
 * launcher runs this bundle only for this command, so the stub runs only if that rule is broken).
 */
function onlyCommand(name: string): esbuild.Plugin {
  const commandsFile = path.join(root, 'cli', 'commands.ts');
  return {
    name: 'only-command',
    setup(build) {
      build.onResolve({ filter: /^\.\/commands\/[a-z0-9-]+\.js$/ }, (args) => {
        if (args.kind !== 'dynamic-import' || args.importer !== commandsFile || args.path === `./commands/${name}.js`) return undefined;
        return { path: args.path, namespace: 'other-command' };
      });
      build.onLoad({ filter: /.*/, namespace: 'other-command' }, (args) => ({
        contents: `export async function run() { throw new Error(${JSON.stringify(`this bundle holds the ${name} command only, not ${args.path}`)}); }`,
        loader: 'js',
      }));
    },
  };
}

/** The code wrapped as a CommonJS module function, under the line naming its hash (cli/bundle-loader.ts). */
function wrapped(code: string): string {
  const hash = crypto.createHash('sha256').update(code).digest('hex');
  return `// mtarep-bundle ${hash}\n(function (exports, require, module, __filename, __dirname) {\n${code}\n})\n`;
}

function writeAtomic(file: string, text: string, mode?: number): void {
  fs.writeFileSync(file + '.tmp', text, mode === undefined ? {} : { mode });
  fs.renameSync(file + '.tmp', file);
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
  const addons: string[] = [];
  const cliOut = path.join(outDir, '..', 'cli');
  const programBuild = (file: string, plugins: esbuild.Plugin[]) =>
    esbuild.build({
      ...common,
      plugins: [keepPackagePaths(outDir, addons), ...plugins],
      entryPoints: [path.join(root, 'cli/program.ts')],
      outfile: path.join(outDir, file),
      format: 'cjs',
      define: { 'import.meta.url': '__mtarep_url' },
      banner: { js: 'var __mtarep_url = require("node:url").pathToFileURL(__filename).href;' },
    });
  const commands = commandModules();
  const commandBuilds = Promise.all(commands.map((name) => programBuild(`mtarep-${name}.cjs`, [onlyCommand(name)])));
  const [program, worker, renderWorker, launcher] = await Promise.all([
    programBuild('mtarep.cjs', []),
    // An ES module: collector/maillog/sink.ts starts it with import().
    esbuild.build({ ...common, entryPoints: [path.join(root, 'collector/maillog/scan-worker.ts')], outfile: path.join(outDir, 'scan-worker.js'), format: 'esm' }),
    // The dashboard's render thread (web/render-thread.ts), started the same way.
    esbuild.build({ ...common, entryPoints: [path.join(root, 'web/render-worker.ts')], outfile: path.join(outDir, 'render-worker.js'), format: 'esm' }),
    esbuild.build({
      ...common,
      plugins: [lightLauncher()],
      entryPoints: [path.join(root, 'cli/main.ts')],
      outfile: path.join(cliOut, 'mtarep.cjs'),
      format: 'cjs',
      define: { 'import.meta.url': '__mtarep_url' },
      banner: { js: 'var __mtarep_url = require("node:url").pathToFileURL(__filename).href;' },
    }),
  ]);
  const perCommand = await commandBuilds;
  for (const a of addons) if (!fs.existsSync(a)) throw new Error(`native addon ${a} (required by a bundled package) is missing`);
  const file = path.join(outDir, 'mtarep.cjs');
  // Already wrapped as a CommonJS module function: cli/bundle-loader.ts compiles the file as it is.
  writeAtomic(file, wrapped(program.outputFiles![0]!.text));
  commands.forEach((name, i) => writeAtomic(path.join(outDir, `mtarep-${name}.cjs`), wrapped(perCommand[i]!.outputFiles![0]!.text)));
  fs.writeFileSync(path.join(outDir, 'scan-worker.js'), worker.outputFiles![0]!.text);
  fs.writeFileSync(path.join(outDir, 'render-worker.js'), renderWorker.outputFiles![0]!.text);
  fs.mkdirSync(cliOut, { recursive: true });
  const launcherFile = path.join(cliOut, 'mtarep.cjs');
  writeAtomic(launcherFile, launcher.outputFiles![0]!.text, 0o755);
  return file;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = await buildBundle(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  process.stdout.write(`bundle: ${path.relative(process.cwd(), file)} (${(fs.statSync(file).size / 1024).toFixed(0)} KiB)\n`);
}
