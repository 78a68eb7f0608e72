#!/usr/bin/env node
/**
 * The `mtarep` command. A build (`npm run build`) makes two starts of it:
 *  - dist/cli/mtarep.cjs (package.json "bin", what the README's cron line and unit run): this file
 *    bundled as one small CommonJS script (scripts/build-bundle.ts) with the light part of the program
 *    (argument parsing, --help, --version) inside, so `--version` and `--help` load nothing else:
 *    an ES module entry alone costs node more than a CommonJS one;
 *  - dist/cli/main.js (tsc's output of this file), the same as an ES module.
 * Either starts a command from its own bundle dist/bundle/mtarep-<command>.cjs (the program with only
 * that command's code), else from the whole program's dist/bundle/mtarep.cjs, through a V8 code cache
 * (cli/bundle-loader.ts), so a command does not compile its code again on every start. The sources
 * through tsx, a tsc-only build (no bundle) and MTAREP_BUNDLE=0 run the modules: the same program,
 * cli/program.ts.
 */
import { fileURLToPath } from 'node:url';
import { exitCodes } from './exit-codes.js';
import { phase } from '../lib/phases.js';
import type * as ProgramModule from './program.js';

phase('main');

type Program = typeof ProgramModule;

const argv = process.argv.slice(2);
const command = argv[0];
const light = command === undefined || command.startsWith('-') || command === 'help';
const url = import.meta.url;

/** The program from the build's bundle, or undefined when there is none (or it is not to be used). */
async function fromBundle(): Promise<Program | undefined> {
  if (light || !/\.c?js$/.test(url) || process.env['MTAREP_BUNDLE'] === '0') return undefined;
  const { loadBundle } = await import('./bundle-loader.js');
  const own = /^[a-z][a-z0-9-]*$/.test(command!) ? loadBundle<Program>(fileURLToPath(new URL(`../bundle/mtarep-${command}.cjs`, url)), command!) : undefined;
  return (own ?? loadBundle<Program>(fileURLToPath(new URL('../bundle/mtarep.cjs', url)), command!))?.exports;
}

fromBundle()
  .then(async (program) => {
    phase('program loaded');
    (program ?? (await import('./program.js'))).start(argv);
  })
  .catch((e: unknown) => {
    process.stderr.write(`mtarep: ${(e as Error).message}\n`);
    process.exit(exitCodes.fatal);
  });
