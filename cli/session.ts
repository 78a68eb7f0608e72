/**
 * What the long-running and collecting commands share: a logger set up for how the command was
 * started (terminal or cron), config warnings logged once, and fatal errors (Redis unreachable,
 * redis-server missing, anything unexpected) turned into exit code 4 with one logged line.
 */
import type { Config } from '../lib/config/normalize.js';
import type { Logger } from '../lib/log.js';
import { RedisUnavailableError } from '../lib/redis.js';
import { exitCodes } from './exit-codes.js';
import { RedisNotInstalledError } from './redis-embedded.js';
import { loggerFor } from './runtime.js';

export interface SessionOpts {
  verbose?: boolean;
  /** Only warnings and errors on stderr (cron, --quiet). */
  quiet?: boolean;
  /** Config warnings go to error_log only (cron: a person is not reading stderr). */
  warningsToFileOnly?: boolean;
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

export async function withSession(config: Config, opts: SessionOpts, body: (log: Logger) => Promise<number>): Promise<number> {
  const log = loggerFor(config, {
    ...(opts.stream ? { stream: opts.stream } : {}),
    level: opts.verbose ? 'debug' : 'info',
    ...(opts.quiet ? { stderrLevel: 'warn' as const } : {}),
  });
  for (const w of config.warnings) (opts.warningsToFileOnly ? log.info : log.warn)(w);
  try {
    return await body(log);
  } catch (e) {
    if (e instanceof RedisUnavailableError || e instanceof RedisNotInstalledError) {
      log.error(e.message);
      return exitCodes.fatal;
    }
    log.error('unexpected failure', { error: (e as Error).message, stack: (e as Error).stack });
    return exitCodes.fatal;
  }
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<void> {
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
