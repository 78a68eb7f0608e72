/** `mtarep start`: dashboard and collector on a schedule in one process (the main job). */
import type { ConfiguredContext } from '../commands.js';
import { exitCodes } from '../exit-codes.js';
import { failFastCopy } from '../../lib/redis.js';
import { openRedis } from '../runtime.js';
import { untilSignal, withSession } from '../session.js';
import { ensureHtpasswd } from './passwd.js';
import { runCollect, LockHeldError } from '../../collector/run.js';
import { startServer } from '../../web/server.js';

export async function run({ config, values }: ConfiguredContext): Promise<number> {
  return withSession(config, { verbose: values.verbose === true }, async (log) => {
    ensureHtpasswd(config, log);
    const handle = await openRedis(config, log);
    // The dashboard's own connection fails fast while Redis is down; the collector's rides out a blip.
    const webRedis = await failFastCopy(handle.redis);
    const server = await startServer({ config, redis: webRedis, log });
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
    webRedis.disconnect();
    await handle.close();
    return exitCodes.ok;
  });
}
