/**
 * The dashboard sub-app: everything a person uses in a browser. Every route here (pages, assets, API,
 * the ack form, unknown paths) is behind basic auth, and every unsafe method behind hono's Origin check
 * (web/origin-check.tsx; plus the per-user form token every form route checks, web/form.tsx). A new
 * page goes in web/routes/ and is registered in `dashboardApp` below; it is then behind auth and CSRF
 * without doing anything else.
 */
import { Hono } from 'hono';
import { ErrorPage } from '../views/error.js';
import { page } from '../views/layout.js';
import { assetRoutes } from './assets.js';
import { basicAuth, type HtpasswdStore } from './auth.js';
import type { WebContext } from './context.js';
import type { WebEnv } from './env.js';
import { originCheck } from './origin-check.js';
import { ackRoutes } from './routes/ack.js';
import { apiRoutes } from './routes/api.js';
import { deliveryRoutes } from './routes/delivery.js';
import { espRoutes } from './routes/esp.js';
import { eventsRoutes } from './routes/events.js';
import { probesApiRoutes } from './routes/probes-api.js';
import { pageRoutes } from './routes/pages.js';

export function dashboardApp(w: WebContext, store: HtpasswdStore): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.use('*', basicAuth(store));
  app.use('*', originCheck(w.log));
  assetRoutes(app);
  pageRoutes(app, w);
  deliveryRoutes(app, w);
  ackRoutes(app, w);
  espRoutes(app, w); // before apiRoutes: /api/esp is not a host
  eventsRoutes(app, w); // before apiRoutes: /api/events is not a host
  probesApiRoutes(app, w); // before apiRoutes: /api/probes is not a host name
  apiRoutes(app, w);
  app.notFound((c) => {
    if (c.req.path.startsWith('/api/')) return c.json({ error: 'not found' }, 404);
    return c.html(page(ErrorPage({ user: c.get('user') ?? '', status: 404, title: 'Not found', message: 'There is no page at this address.' })), 404);
  });
  return app;
}
