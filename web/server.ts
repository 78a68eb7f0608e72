/**
 * The dashboard's HTTP server: Hono on @hono/node-server. Middleware order matters: secure headers
 * (CSP, no inline script) on every response, then basic auth on every route (pages, assets, API),
 * then the routes. Redis failures become a fast 503 page (JSON under /api).
 */
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import type { Config } from '../lib/config/normalize.js';
import { keys } from '../lib/keys.js';
import type { Logger } from '../lib/log.js';
import { RedisUnavailableError, type Redis } from '../lib/redis.js';
import { ErrorPage } from '../views/error.js';
import { page } from '../views/layout.js';
import { assetRoutes } from './assets.js';
import { basicAuth, HtpasswdStore } from './auth.js';
import { PageCache } from './cache.js';
import type { WebContext } from './context.js';
import { CounterReader } from './counters.js';
import { CsrfTokens } from './csrf.js';
import { VersionReader } from './data.js';
import type { WebEnv } from './env.js';
import { ackRoutes } from './routes/ack.js';
import { apiRoutes } from './routes/api.js';
import { pageRoutes } from './routes/pages.js';

export interface WebDeps {
  config: Config;
  redis: Redis;
  log: Logger;
  /** The clock (tests pass a fixed one). */
  now?: () => Date;
  /** How often the htpasswd file's metadata is checked for changes (default 1000 ms). */
  htpasswdStatIntervalMs?: number;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** The Content-Security-Policy: no inline script, nothing from other origins. */
export const csp = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  // Highcharts styles its SVG through the CSSOM, which style-src does not restrict; nothing is inline.
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/** Same origin for POSTs: the Origin's host must be the host the browser addressed. */
function sameHost(origin: string, c: { req: { header(n: string): string | undefined; url: string } }): boolean {
  try {
    return new URL(origin).host === (c.req.header('host') ?? new URL(c.req.url).host);
  } catch {
    return false;
  }
}

export function createApp(deps: WebDeps): Hono<WebEnv> {
  const { config, redis, log } = deps;
  const k = keys(config.redis.prefix);
  const w: WebContext = {
    config,
    redis,
    log,
    k,
    cache: new PageCache(),
    csrf: new CsrfTokens(),
    counters: new CounterReader(redis, k),
    version: new VersionReader(redis, k),
    now: deps.now ?? (() => new Date()),
  };
  const store = new HtpasswdStore(config.httpAuthFile, log, {
    ...(deps.htpasswdStatIntervalMs !== undefined ? { statIntervalMs: deps.htpasswdStatIntervalMs } : {}),
  });

  const app = new Hono<WebEnv>();
  app.use('*', secureHeaders({ contentSecurityPolicy: csp, xFrameOptions: 'DENY' }));
  // Everything but the static assets is per user and changes with the data: never stored by caches
  // (error pages included). Routes that set their own Cache-Control keep it.
  app.use('*', async (c, next) => {
    await next();
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
  });
  app.use('*', basicAuth(store));
  app.use('*', csrf({ origin: sameHost }));
  assetRoutes(app);
  pageRoutes(app, w);
  ackRoutes(app, w);
  apiRoutes(app, w);

  app.notFound((c) => {
    if (c.req.path.startsWith('/api/')) return c.json({ error: 'not found' }, 404);
    return c.html(page(ErrorPage({ user: c.get('user') ?? '', status: 404, title: 'Not found', message: 'There is no page at this address.' })), 404);
  });

  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    const api = c.req.path.startsWith('/api/');
    if (err instanceof RedisUnavailableError) {
      log.warn('dashboard request failed: Redis unavailable', { path: c.req.path, error: err.message });
      const message = 'The dashboard cannot reach its Redis database, so there is nothing to show right now.';
      if (api) return c.json({ error: 'redis unavailable', message }, 503, { 'Retry-After': '10' });
      return c.html(
        page(ErrorPage({ user: c.get('user') ?? '', status: 503, title: 'Redis unavailable', message, hint: 'Check that redis-server is running (mtarep start runs its own); this page retries when reloaded.' })),
        503,
        { 'Retry-After': '10', 'Cache-Control': 'no-store' },
      );
    }
    log.error('dashboard request failed', { path: c.req.path, error: err.message, stack: err.stack });
    if (api) return c.json({ error: 'internal error' }, 500);
    return c.html(page(ErrorPage({ user: c.get('user') ?? '', status: 500, title: 'Internal error', message: 'Something went wrong; the error is in the log.' })), 500);
  });
  return app;
}

export async function startServer(deps: WebDeps): Promise<RunningServer> {
  const app = createApp(deps);
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: deps.config.listen.host, port: deps.config.listen.port }, (info: AddressInfo) => {
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}/`,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            // Keep-alive connections would hold close() open.
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    server.once('error', reject);
  });
}
