/** `mtarep serve`: the dashboard only (the collector runs from cron or elsewhere). */
import type { ConfiguredContext } from '../commands.js';
import { exitCodes } from '../exit-codes.js';
import { openRedis } from '../runtime.js';
import { untilSignal, withSession } from '../session.js';
import { ensureHtpasswd } from './passwd.js';
import { startAlertTicker } from '../../collector/alerts.js';
import { intervalOf } from '../../collector/sources/index.js';
import { startServer } from '../../web/server.js';

export async function run({ config }: ConfiguredContext): Promise<number> {
  return withSession(config, {}, async (log) => {
    ensureHtpasswd(config, log);
    const handle = await openRedis(config, log, { failFast: true });
    const server = await startServer({ config, redis: handle.redis, log });
    log.info(`dashboard listening on ${server.url}`, { redis: handle.target });
    // With the collector under cron, this process sends the alerts that are due between runs and
    // watches for a collector that stopped (dead man's switch).
    const alerts = startAlertTicker({ config, redis: handle.redis, log, intervalOf: (s) => intervalOf(config, s) });
    void alerts.kick();
    await untilSignal();
    await alerts.stop();
    await server.close();
    await handle.close();
    return exitCodes.ok;
  });
}
