/**
 * The Delivery pages (issue 9): GET /delivery (every probe domain, failing first), GET
 * /delivery/<domain> (recent probes, daily chart), POST /delivery/<domain>/maintenance (the switch:
 * per-user CSRF token as for acknowledgements, plus hono's Origin check; who and when recorded by
 * lib/probes/domains.ts, the same code as `mtarep domains maintenance`). Reads are a fixed number of
 * Redis round trips whatever the number of domains.
 */
import type { Hono } from 'hono';
import { DomainError, domainStore } from '../../lib/probes/domains.js';
import { probeStore } from '../../lib/probes/store.js';
import { DomainPage } from '../../views/delivery-domain.js';
import { DeliveryPage } from '../../views/delivery.js';
import { ErrorPage } from '../../views/error.js';
import { page } from '../../views/layout.js';
import type { WebContext } from '../context.js';
import { guard } from '../data.js';
import type { WebEnv } from '../env.js';
import { checkedForm } from '../form.js';
import { limitsOfConfig } from '../viewmodel/delivery.js';
import { buildDeliveryPage, buildDomainPage, parseDeliverySort, parseSpan, spanRange } from '../viewmodel/delivery-page.js';

const htmlHeaders = { 'Cache-Control': 'no-store' };
/** Recent probes shown on a domain page. */
const RECENT = 200;

export function deliveryRoutes(app: Hono<WebEnv>, w: WebContext): void {
  const prefix = w.config.redis.prefix;
  const domains = domainStore(w.redis, prefix);
  const probes = probeStore(w.redis, prefix);

  app.get('/delivery', async (c) => {
    const user = c.get('user');
    const sort = parseDeliverySort(c.req.query('sort'), c.req.query('dir'));
    // Three commands sent together: one round trip however many domains there are.
    const [version, all, summaries, state] = await guard('delivery', () => Promise.all([w.version.read(), domains.all(), probes.summaries(), probes.state()]));
    const m = buildDeliveryPage(all, summaries, state, {
      configured: w.config.probes !== undefined,
      window: w.config.probes?.window ?? 86_400,
      now: w.now(),
      sort,
      version,
    });
    return c.html(page(<DeliveryPage m={m} user={user} />), 200, htmlHeaders);
  });

  app.get('/delivery/:domain', async (c) => {
    const user = c.get('user');
    const name = c.req.param('domain');
    const d = await guard('delivery', () => domains.get(name));
    if (!d) {
      return c.html(page(<ErrorPage user={user} status={404} title="Unknown domain" message="No probe domain of that name (see mtarep domains list)." />), 404, htmlHeaders);
    }
    const now = w.now();
    const limits = limitsOfConfig(w.config);
    const span = parseSpan(c.req.query('days'));
    const { from, to } = spanRange(now, span);
    const t = now.getTime();
    const since = limits ? t - Math.max(limits.window, limits.maxSecUntilFail) * 1000 : t;
    const [summary, state, recs, stats] = await guard('delivery', () =>
      Promise.all([probes.summary(d.domain), probes.state(), limits ? probes.forDomain(d.domain, since, t) : Promise.resolve([]), probes.stats(d.domain, from, to)]),
    );
    const recent = recs.reverse().slice(0, RECENT);
    const m = buildDomainPage(d, summary, recent, stats, state, { limits, now, span });
    return c.html(page(<DomainPage m={m} user={user} csrf={w.csrf.tokenFor(user)} />), 200, htmlHeaders);
  });

  app.post('/delivery/:domain/maintenance', async (c) => {
    const user = c.get('user');
    const form = await checkedForm(c, w);
    if (form instanceof Response) return form;
    const st = form['state'];
    if (st !== 'on' && st !== 'off') {
      return c.html(page(<ErrorPage user={user} status={400} title="Bad request" message="Maintenance must be switched on or off. Nothing was changed." />), 400);
    }
    const name = c.req.param('domain');
    // An unknown domain is an answer (null), not an outage: guard turns only Redis failures into a 503.
    const rec = await guard('maintenance', () =>
      domains.setMaintenance(name, st === 'on', user, w.now()).catch((e: unknown) => (e instanceof DomainError ? null : Promise.reject(e))),
    );
    if (!rec) {
      return c.html(page(<ErrorPage user={user} status={404} title="Unknown domain" message="No probe domain of that name: it may have been removed. Nothing was changed." />), 404);
    }
    w.version.invalidate();
    w.log.info('probe domain maintenance switched from the dashboard', { domain: rec.domain, maintenance: rec.maintenance, user });
    return c.redirect(`/delivery/${encodeURIComponent(rec.domain)}`, 303);
  });
}
