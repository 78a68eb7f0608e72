/**
 * The sub-app for machine callers (ESP webhooks under /webhooks/, Prometheus' /metrics): routes that
 * are NOT behind the dashboard's basic auth and CSRF check, because their callers are programs that
 * authenticate their own way (a signature, a bearer token, or `basicAuth(deps.htpasswd)` explicitly).
 * Registering a route here is the one deliberate way to put a route outside the dashboard's login:
 * createApp (web/server.ts) sends a request here first and hands it to the dashboard sub-app only when
 * no route here answers it. So: every route here authenticates its caller itself, and middleware here
 * is registered on its own paths (`app.use('/metrics', ...)`), never on '*'.
 */
import { Hono } from 'hono';
import type { HtpasswdStore } from './auth.js';
import type { WebContext } from './context.js';
import type { WebEnv } from './env.js';
import { metricsRoutes } from './routes/metrics.js';
import { webhookRoutes } from './routes/webhooks.js';

export interface MachineDeps {
  w: WebContext;
  /** The dashboard's users, for a machine route that accepts the same login (e.g. /metrics). */
  htpasswd: HtpasswdStore;
}

/** The machine callers' routes. Each is one `xxxRoutes(app, deps)` line, like the dashboard's. */
export function machineApp(deps: MachineDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  metricsRoutes(app, deps.w, deps.htpasswd);
  webhookRoutes(app, deps.w);
  return app;
}
