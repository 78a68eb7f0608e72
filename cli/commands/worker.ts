/** `mtarep worker`: take source runs and shards from the job queue, beside `mtarep start` elsewhere. */
import type { ConfiguredContext } from '../commands.js';
import { exitCodes } from '../exit-codes.js';
import { openRedis } from '../runtime.js';
import { untilSignal, withSession } from '../session.js';
import { startScheduler } from '../../collector/scheduler.js';

export async function run({ config, values }: ConfiguredContext): Promise<number> {
  return withSession(config, { verbose: values.verbose === true }, async (log) => {
    const handle = await openRedis(config, log);
    const concurrency = values.shards === undefined ? 1 : Number(values.shards);
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      log.error(`--shards must be a whole number of 1 or more, not "${String(values.shards)}"`);
      await handle.close();
      return exitCodes.usage;
    }
    const scheduler = await startScheduler({ config, redis: handle.redis, log, schedule: false, shardConcurrency: concurrency });
    await untilSignal();
    log.info('stopping: no new jobs; running ones finish');
    await scheduler.close();
    await handle.close();
    return exitCodes.ok;
  });
}
