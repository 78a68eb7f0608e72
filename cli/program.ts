/**
 * The `mtarep` program: parse the command line, load the config, hand over to the command's module
 * (cli/commands.ts lists them and imports each only when it runs). The only place that exits; the
 * exit codes are in cli/exit-codes.ts. Library code throws. Started by cli/main.ts, from these modules
 * or from the bundle a build makes of them (scripts/build-bundle.ts).
 */
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { commandHelp, commonOptions, findCommand, usage, type CommandContext } from './commands.js';
import { exitCodes } from './exit-codes.js';
import { mtarepVersion } from '../lib/version.js';
import { phase } from '../lib/phases.js';

function fail(message: string, code: number): never {
  process.stderr.write(`mtarep: ${message}\n`);
  process.exit(code);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage());
    return cmd === undefined ? exitCodes.usage : exitCodes.ok;
  }
  if (cmd === '--version' || cmd === '-V') {
    process.stdout.write(`${mtarepVersion()}\n`);
    return exitCodes.ok;
  }
  const spec = findCommand(cmd);
  if (!spec) fail(`unknown command "${cmd}" (try mtarep --help)`, exitCodes.usage);

  let parsed;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, options: { ...commonOptions, ...spec.options } });
  } catch (e) {
    fail(`${(e as Error).message} (try mtarep ${spec.name} --help)`, spec.usageExitCode ?? exitCodes.usage);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(commandHelp(spec));
    return exitCodes.ok;
  }
  const min = spec.positionals?.min ?? 0;
  const max = spec.positionals?.max ?? 0;
  if (positionals.length < min || positionals.length > max) {
    fail(spec.positionals && positionals.length < min ? spec.positionals.usage : `unexpected argument "${positionals[max]}"`, spec.usageExitCode ?? exitCodes.usage);
  }
  const configArg = values.config as string;
  const ctx: CommandContext = { configPath: path.resolve(configArg), configArg, values, positionals };

  if (spec.config === 'none') return (await spec.load()).run(ctx);

  // Loaded only by commands that read a config (yaml and zod are not needed for --version or --help).
  const { ConfigError, loadConfig } = await import('../lib/config/load.js');
  let config;
  try {
    config = loadConfig(ctx.configPath, { checkFiles: spec.config === 'load' });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(e.message + '\n');
      if (!fs.existsSync(ctx.configPath)) {
        process.stderr.write(`mtarep: create one with \`mtarep init --config ${configArg}\` or copy mtarep.example.yml\n`);
      }
      return exitCodes.config;
    }
    throw e;
  }
  phase('config loaded');
  const mod = await spec.load();
  phase('command loaded');
  return mod.run({ ...ctx, config });
}

/** Run `mtarep <argv>` and exit with its code. */
export function start(argv: string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`mtarep: ${(e as Error).message}\n`);
      process.exit(exitCodes.fatal);
    },
  );
}
