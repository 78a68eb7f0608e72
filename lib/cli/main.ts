#!/usr/bin/env node
/**
 * The `mtarep` command. The only place that decides exit codes (see `exitCodes`); library code throws.
 */
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from '../config/load.js';
import { exitCodes, usage, commandHelp, type Command } from './help.js';
import { cmdCheckConfig } from './check-config.js';
import { cmdPasswd, ensureHtpasswd } from './passwd.js';
import { cmdInit } from './init.js';
import { loggerFor, openRedis } from '../runtime.js';
import { RedisUnavailableError } from '../redis.js';
import { RedisNotInstalledError } from '../redis-embedded.js';
import { runCollect, LockHeldError, formatSummaryLine } from '../../collector/run.js';
import { ProgressBar } from './progress.js';
import { startServer } from '../../web/server.js';
import type { Logger } from '../log.js';
import { mtarepVersion } from '../version.js';

const commands: Command[] = ['start', 'collect', 'serve', 'check-config', 'passwd', 'init'];

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
  if (!commands.includes(cmd as Command)) fail(`unknown command "${cmd}" (try mtarep --help)`, exitCodes.usage);
  const command = cmd as Command;

  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c', default: 'mtarep.yml' },
        help: { type: 'boolean', short: 'h' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        verbose: { type: 'boolean', short: 'v' },
        'password-stdin': { type: 'boolean' },
        force: { type: 'boolean' },
      },
    });
  } catch (e) {
    fail(`${(e as Error).message} (try mtarep ${command} --help)`, exitCodes.usage);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(commandHelp(command));
    return exitCodes.ok;
  }
  const configPath = path.resolve(values.config!);

  if (command === 'init') return cmdInit(configPath, { force: values.force === true });

  const expected = command === 'passwd' ? 1 : 0;
  if (positionals.length !== expected) {
    fail(
      expected === 1 ? 'passwd needs exactly one user name: mtarep passwd <user>' : `unexpected argument "${positionals[0]}"`,
      exitCodes.usage,
    );
  }

  let config: Config;
  try {
    config = loadConfig(configPath, { checkFiles: command !== 'passwd' });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(e.message + '\n');
      if (!fs.existsSync(configPath)) {
        process.stderr.write(`mtarep: create one with \`mtarep init --config ${values.config}\` or copy mtarep.example.yml\n`);
      }
      return exitCodes.config;
    }
    throw e;
  }

  if (command === 'check-config') return cmdCheckConfig(config, process.stdout);
  if (command === 'passwd') return cmdPasswd(config, positionals[0]!, { stdin: values['password-stdin'] === true });

  const cron = command === 'collect' && !process.stderr.isTTY;
  // collect on a terminal draws a progress bar; log lines are written above it.
  const bar = command === 'collect' && process.stderr.isTTY && values.json !== true ? new ProgressBar() : undefined;
  const log = loggerFor(config, {
    ...(bar ? { stream: bar.logStream() } : {}),
    level: values.verbose ? 'debug' : 'info',
    // Under cron: nothing on stderr unless something failed; the summary line goes to stdout.
    ...(cron || values.quiet ? { stderrLevel: 'warn' as const } : {}),
  });
  // Config warnings are for a person: under cron they go to error_log only, or every run would mail them.
  for (const w of config.warnings) (cron ? log.info : log.warn)(w);

  try {
    if (command === 'collect') return await collectOnce(config, log, { json: values.json === true, ...(bar ? { progress: bar } : {}) });
    if (command === 'serve') return await serveOnly(config, log);
    return await startAll(config, log);
  } catch (e) {
    if (e instanceof RedisUnavailableError || e instanceof RedisNotInstalledError) {
      log.error(e.message);
      return exitCodes.fatal;
    }
    log.error('unexpected failure', { error: (e as Error).message, stack: (e as Error).stack });
    return exitCodes.fatal;
  }
}

async function collectOnce(config: Config, log: Logger, opts: { json: boolean; progress?: ProgressBar }): Promise<number> {
  const handle = await openRedis(config, log, { reconnect: false });
  const progress = opts.progress;
  try {
    const summary = await runCollect({ config, redis: handle.redis, log, ...(progress ? { progress } : {}) });
    progress?.done();
    process.stdout.write(opts.json ? JSON.stringify(summary, null, 2) + '\n' : formatSummaryLine(summary) + '\n');
    return summary.status === 'ok' ? exitCodes.ok : summary.status === 'partial' ? exitCodes.partial : exitCodes.fatal;
  } catch (e) {
    progress?.done();
    if (e instanceof LockHeldError) {
      log.warn(e.message);
      if (opts.json) process.stdout.write(JSON.stringify({ status: 'locked', message: e.message }) + '\n');
      return exitCodes.locked;
    }
    throw e;
  } finally {
    await handle.close();
  }
}

async function serveOnly(config: Config, log: Logger): Promise<number> {
  ensureHtpasswd(config, log);
  const handle = await openRedis(config, log);
  const server = await startServer({ config, redis: handle.redis, log });
  log.info(`dashboard listening on ${server.url}`, { redis: handle.target });
  await untilSignal();
  await server.close();
  await handle.close();
  return exitCodes.ok;
}

async function startAll(config: Config, log: Logger): Promise<number> {
  ensureHtpasswd(config, log);
  const handle = await openRedis(config, log);
  const server = await startServer({ config, redis: handle.redis, log });
  log.info(`dashboard listening on ${server.url}`, { redis: handle.target });
  log.info(`collector runs now and every ${config.collectInterval} s`);

  let stopping = false;
  let running: Promise<void> | null = null;
  const runOnce = async () => {
    try {
      await runCollect({ config, redis: handle.redis, log }); // it logs its own summary
    } catch (e) {
      if (e instanceof LockHeldError) log.warn(e.message);
      else log.error('collector run failed', { error: (e as Error).message });
    }
  };
  const tick = () => {
    if (stopping || running) return;
    running = runOnce().finally(() => {
      running = null;
    });
  };
  tick();
  const timer = setInterval(tick, config.collectInterval * 1000);
  await untilSignal();
  stopping = true;
  clearInterval(timer);
  log.info('stopping');
  await server.close();
  if (running) await running;
  await handle.close();
  return exitCodes.ok;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`mtarep: ${(e as Error).message}\n`);
    process.exit(exitCodes.fatal);
  },
);
