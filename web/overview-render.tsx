/**
 * The overview's HTML for one user and sort at one data version: read (fixed round trips), view
 * model, view. The one function both ways of building it use: in the request's own thread, or in the
 * render thread (web/render-thread.ts) so that serving goes on meanwhile.
 */
import { readAlertHealth } from '../lib/alerts/delivery-log.js';
import type { AnyPlugin } from '../lib/checks/index.js';
import type { Config } from '../lib/config/normalize.js';
import type { Keys } from '../lib/keys.js';
import type { Redis } from '../lib/redis.js';
import { FirstTimePage } from '../views/first-time.js';
import { page } from '../views/layout.js';
import { OverviewPage } from '../views/overview.js';
import { guard, loadSnapshot } from './data.js';
import { loadFailingCount } from './viewmodel/delivery.js';
import { alertNoticeOf } from './viewmodel/events.js';
import { buildOverview, type parseSort } from './viewmodel/overview.js';

export interface OverviewJob {
  user: string;
  sort: ReturnType<typeof parseSort>;
  /** The data version read before loading: the page is cached under it (a write in between only costs a re-render). */
  version: string;
  /** The page's "now" (relative times). */
  now: Date;
}

export interface OverviewSources {
  config: Config;
  redis: Redis;
  k: Keys;
  plugins: readonly AnyPlugin[];
}

/** `pause` runs between the view model and the HTML (the request thread answers waiting requests there). */
export async function renderOverview(s: OverviewSources, job: OverviewJob, pause: () => Promise<void> = async () => {}): Promise<string> {
  const { config, redis, k } = s;
  // Outbox changes bump the data version too (lib/alerts/outbox.ts): the cached page's alert line stays right.
  const [snap, delivery, health] = await Promise.all([
    loadSnapshot(redis, k, config),
    guard('probes', () => loadFailingCount(redis, config)),
    guard('alerts', () => readAlertHealth(redis, k, job.now)),
  ]);
  const m = buildOverview(config, snap, job.now, job.sort, s.plugins);
  const alerts = alertNoticeOf(health, job.now);
  await pause();
  return m.firstTime
    ? page(<FirstTimePage config={config} user={job.user} />)
    : page(<OverviewPage m={m} user={job.user} version={job.version} delivery={delivery} alerts={alerts} />);
}
