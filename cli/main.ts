#!/usr/bin/env node
/**
 * The `mtarep` command (package.json "bin"). A build (`npm run build`) also bundles the program into
 * dist/bundle/mtarep.cjs (scripts/build-bundle.ts); started from there through a V8 code cache
 * (cli/bundle-loader.ts) a command does not compile its code again on every start. `--version`,
 * `--help` (no command) load four small modules, less than the bundle: they run the modules. So do
 * the sources through tsx, a tsc-only build (no bundle) and MTAREP_BUNDLE=0: the same program,
 * cli/program.ts.
 */
import { fileURLToPath } from 'node:url';

type Program = typeof import('./program.js');

const argv = process.argv.slice(2);
const command = argv[0];
const light = command === undefined || command.startsWith('-') || command === 'help';
let program: Program | undefined;
if (!light && import.meta.url.endsWith('.js') && process.env['MTAREP_BUNDLE'] !== '0') {
  const { loadBundle } = await import('./bundle-loader.js');
  program = loadBundle<Program>(fileURLToPath(new URL('../bundle/mtarep.cjs', import.meta.url)), command)?.exports;
}
(program ?? (await import('./program.js'))).start(argv);
