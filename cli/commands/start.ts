/** `mtarep start`: dashboard, source schedulers and a worker in one process (the main job). */
import type { ConfiguredContext } from '../commands.js';
import { exitCodes } from '../exit-codes.js';
import { failFastCopy } from '../../lib/redis.js';
import { openRedis } from '../runtime.js';
import { untilSignal, withSession } from '../session.js';
import { ensureHtpasswd } from './passwd.js';
import { startAlertTicker } from '../../collector/alerts.js';
import { startScheduler } from '../../collector/scheduler.js';
import { intervalOf } from '../../collector/sources/index.js';
import { startServer } from '../../web/server.js';

export async function run({ config, values }: ConfiguredContext): Promise<number> {
  return withSession(config, { verbose: values.verbose === true }, async (log) => {
    ensureHtpasswd(config, log);
    const handle = await openRedis(config, log);
    // The dashboard's own connection fails fast while Redis is down; the collector's rides out a blip.
    const webRedis = await failFastCopy(handle.redis);
    const server = await startServer({ config, redis: webRedis, log });
    log.info(`dashboard listening on ${server.url}`, { redis: handle.target });
    const scheduler = await startScheduler({ config, redis: handle.redis, log });
    // Alerts: the engine reads the issue events every 30 s (digest windows, reminders, dead man's switch).
    const alerts = startAlertTicker({ config, redis: handle.redis, log, intervalOf: (s) => intervalOf(config, s) });
    void alerts.kick();
    await untilSignal();
    log.info('stopping: no new jobs; running ones finish');
    await server.close();
    await scheduler.close();
    await alerts.stop();
    webRedis.disconnect();
    await handle.close();
    return exitCodes.ok;
  });
}
