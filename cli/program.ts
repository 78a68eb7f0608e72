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

/**
 * A parseArgs error in our words. node's own text explains its `--` escape with unbalanced quotes
 * ("as in '-- \"--jsn\"") and says `<value>` where a reader wants the option's name.
 */
function argsErrorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const message = String(err?.message ?? e);
  // The option as node quotes it: '--jsn', '-c', '-c, --config <value>' (the long name wins).
  const quoted = /^(?:Unknown option|Option) '([^']+)'/.exec(message)?.[1] ?? '';
  const names = quoted.replace(/ <value>$/, '').split(', ');
  // An ambiguous `-c -x` names only the short form first; its hint has the long one ('--config=-XYZ').
  const opt = /use '(--[^=']+)=-XYZ'/.exec(message)?.[1] ?? names[names.length - 1] ?? quoted;
  if (err?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && opt) return `unknown option ${opt}`;
  if (err?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && opt) {
    if (/argument missing/.test(message)) return `option ${opt} needs a value`;
    if (/does not take an argument/.test(message)) return `option ${opt} takes no value`;
    if (/ambiguous/.test(message)) return `option ${opt} needs a value; for one starting with '-', write ${opt}=-VALUE`;
  }
  return message.split('\n')[0]!;
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
    // Named as typed, with its subcommand when one comes before the bad option: "domains list: ...".
    const sub = rest.find((a) => !a.startsWith('-'));
    const what = sub !== undefined && spec.subcommands?.includes(sub) ? `${spec.name} ${sub}` : spec.name;
    fail(`${what}: ${argsErrorText(e)} (try mtarep ${spec.name} --help)`, spec.usageExitCode ?? exitCodes.usage);
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
