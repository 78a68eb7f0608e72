/**
 * Page routes: overview (cached as bytes per data version, web/cache.ts), issue details (the overview's
 * window, on demand) and issue page, host page, graphs, help, version.
 * Each handler: read data (fixed round trips) -> pure view model -> escaped view.
 */
import type { Hono } from 'hono';
import { dayKey } from '../../lib/keys.js';
import { mtarepVersion } from '../../lib/version.js';
import { severityRules } from '../../lib/severity.js';
import { ErrorPage } from '../../views/error.js';
import { GraphsPage } from '../../views/graphs.js';
import { HelpPage } from '../../views/help.js';
import { HostPage } from '../../views/host.js';
import { IssueBody } from '../../views/issue.js';
import { Layout, page } from '../../views/layout.js';
import { VersionPage } from '../../views/version.js';
import { backPath, type WebContext } from '../context.js';
import { hostIps, loadHistory, loadSnapshot, guard } from '../data.js';
import type { WebEnv } from '../env.js';
import { sendPage } from '../send-page.js';
import { countersModel, historyModel, parseDay } from '../viewmodel/graphs.js';
import { buildHostPage } from '../viewmodel/host.js';
import { buildIssueViews, type IssueView } from '../viewmodel/issues.js';
import { parseSort, sortKeysOf } from '../viewmodel/overview.js';
import { rowSeverityOf } from '../viewmodel/severity.js';
import { durationText } from '../../views/format.js';
import { renderOverview } from '../overview-render.js';
import { RenderThreadStopped } from '../render-thread.js';


const htmlHeaders = { 'Cache-Control': 'no-store' };

/** The overview's page-cache key: one page per user and sort (web/hot-path.ts serves the same entries). */
export function overviewKey(user: string, sort: { sort: string; dir: string }): string {
  return `overview\0${user}\0${sort.sort}\0${sort.dir}`;
}

export function pageRoutes(app: Hono<WebEnv>, w: WebContext): void {
  const { config, redis, k } = w;
  const sortKeys = sortKeysOf(config, w.plugins);

  app.get('/', async (c) => {
    const user = c.get('user');
    const sort = parseSort(c.req.query('sort'), c.req.query('dir'), sortKeys);
    const key = overviewKey(user, sort);
    const served = await w.cache.page(key, () => w.version.read(), (version) => {
      const job = { user, sort, version, now: w.now() };
      // Requests that arrived meanwhile are answered (from the cache) before the HTML is built.
      const here = () => renderOverview(w, job, () => new Promise((r) => setImmediate(r)));
      // In the render thread when there is one (startServer), so that serving goes on meanwhile; here
      // when it cannot start.
      const thread = w.renderThread;
      if (!thread?.usable) return here();
      return thread.render(job).catch((e: unknown) => {
        if (e instanceof RenderThreadStopped && !thread.usable) return here();
        throw e;
      });
    });
    return sendPage(c, served);
  });

  // The current issues by id, kept for one data version: the overview's issue window asks for them
  // one click at a time.
  let issuesMemo: { version: string; byId: Map<string, IssueView> } | null = null;
  async function currentIssues(): Promise<Map<string, IssueView>> {
    const version = await w.version.read();
    if (issuesMemo?.version === version) return issuesMemo.byId;
    const snap = await loadSnapshot(redis, k, config);
    const byId = new Map(buildIssueViews(config, [...snap.ips.values()], [...snap.blocks.values()], snap.acks).map((i) => [i.id, i]));
    // Kept under the version read *before* loading: a write in between only costs a reload.
    issuesMemo = { version, byId };
    return byId;
  }

  // The overview's issue window: one issue's details as an HTML fragment, fetched by app.js when a
  // badge is clicked (the overview's rows carry none of it). `back` is where Acknowledge returns to.
  app.get('/issue/part', async (c) => {
    const user = c.get('user');
    const issue = (await currentIssues()).get(c.req.query('id') ?? '');
    if (!issue) {
      const gone = <p class="notice">This issue does not exist (any more): it may have been resolved since the page was loaded.</p>;
      return c.html(String(gone), 404, htmlHeaders);
    }
    const back = backPath(c.req.query('back')) ?? '/';
    return c.html(String(<IssueBody issue={issue} csrf={w.csrf.tokenFor(user)} back={back} />), 200, htmlHeaders);
  });

  app.get('/issue', async (c) => {
    const user = c.get('user');
    const id = c.req.query('id') ?? '';
    const snap = await loadSnapshot(redis, k, config);
    const issue = buildIssueViews(config, [...snap.ips.values()], [...snap.blocks.values()], snap.acks).find((i) => i.id === id);
    if (!issue) {
      return c.html(
        page(<ErrorPage user={user} status={404} title="No such issue" message="This issue does not exist (any more): it may have been resolved since the page was loaded." />),
        404,
        htmlHeaders,
      );
    }
    return c.html(
      page(
        <Layout title="Issue" user={user} active="issue">
          <section class="prose">
            <IssueBody issue={issue} csrf={w.csrf.tokenFor(user)} back={`/issue?id=${encodeURIComponent(id)}`} />
          </section>
        </Layout>,
      ),
      200,
      htmlHeaders,
    );
  });

  app.get('/host/:name', async (c) => {
    const user = c.get('user');
    const host = config.hosts.find((h) => h.name === c.req.param('name'));
    if (!host) {
      return c.html(page(<ErrorPage user={user} status={404} title="Unknown host" message="No host of that name is configured in mta_map." />), 404, htmlHeaders);
    }
    const snap = await loadSnapshot(redis, k, config);
    const now = w.now();
    const ips = hostIps(config, host.name, snap.hosts.get(host.name));
    const history = await loadHistory(redis, k, ips, now.getTime() - config.retention.historyDays * 86_400_000);
    const m = buildHostPage(config, snap, host, history, now, w.plugins);
    return c.html(page(<HostPage user={user} m={m} />), 200, htmlHeaders);
  });

  app.get('/graphs', async (c) => {
    const user = c.get('user');
    const q = c.req.query('day');
    const day = q === undefined || q === '' ? dayKey(w.now()) : parseDay(q);
    if (day === null) {
      return c.html(page(<ErrorPage user={user} status={400} title="Bad date" message="The day must be a date such as 2024-05-01." />), 400, htmlHeaders);
    }
    const counters = await w.counters.day(day, config.graphDomains);
    return c.html(page(<GraphsPage user={user} m={countersModel(day, config.graphDomains, counters)} />), 200, htmlHeaders);
  });

  app.get('/help', (c) => {
    const rules = severityRules(config);
    return c.html(
      page(
        <HelpPage
          user={c.get('user')}
          trapsWarning={rules.sndsTrapsWarning}
          scoreWarning={rules.senderscoreWarning}
          criticalZones={config.severity.criticalZones}
          staleAfter={durationText(rules.staleAfterMs / 1000)}
          probes={
            config.probes
              ? { maxReturn: durationText(config.probes.maxReturnS), untilFail: durationText(config.probes.maxSecUntilFail), window: durationText(config.probes.window) }
              : null
          }
        />,
      ),
      200,
      htmlHeaders,
    );
  });

  app.get('/version', async (c) => {
    let redisVersion = 'unavailable';
    try {
      const info = await guard('info', () => redis.info('server'));
      redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    } catch {
      /* the version page still shows mtarep's own version */
    }
    return c.html(page(<VersionPage user={c.get('user')} version={mtarepVersion()} node={process.version} redis={redisVersion} />), 200, htmlHeaders);
  });
}
