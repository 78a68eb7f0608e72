/**
 * The web app: Hono on @hono/node-server, composed of two sub-apps.
 * - web/dashboard.ts: what people use (pages, assets, API, forms), all behind basic auth and CSRF.
 * - web/machine.ts: what programs call (webhooks, metrics), NOT behind basic auth; each route there
 *   authenticates its caller itself. A request goes to the machine sub-app first and to the dashboard
 *   when no machine route answers it, so a route is outside the login only if it is registered there.
 * Around both: secure headers (CSP, no inline script) and `Cache-Control: no-store` on every response,
 * and one error handler (Redis failures become a fast 503 page, JSON under /api).
 * On a socket (startServer), a cached overview whose version is known and an ESP webhook POST are
 * answered before Hono (web/hot-path.ts) with the same headers, the data version is watched (web/version-watch.ts), and
 * the overview is built in a worker thread (web/render-thread.ts).
 */
import http from 'node:http';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import type { Config } from '../lib/config/normalize.js';
import { keys } from '../lib/keys.js';
import type { Logger } from '../lib/log.js';
import { RedisUnavailableError, type Redis } from '../lib/redis.js';
import { WrongTypeError } from '../lib/store/index.js';
import { ErrorPage } from '../views/error.js';
import { page } from '../views/layout.js';
import { staleMarker, staleNote } from '../views/overview.js';
import { HtpasswdStore } from './auth.js';
import { bodyLimit, BodyTooLargeError } from './body-limit.js';
import type { LoginLimitOptions } from './login-limiter.js';
import { PageCache, type PageCacheOptions } from './cache.js';
import type { WebContext } from './context.js';
import { CounterReader } from './counters.js';
import { CsrfTokens } from './csrf.js';
import { dashboardApp } from './dashboard.js';
import { VersionReader } from './data.js';
import type { WebEnv } from './env.js';
import { hotPaths, overviewHotPath, webhookHotPath, type HotPath } from './hot-path.js';
import { RenderThread, redisTargetOf } from './render-thread.js';
import { machineApp } from './machine.js';
import { watchVersion, type VersionWatchOptions } from './version-watch.js';
import { checkPlugins, type AnyPlugin } from '../lib/checks/index.js';

export interface WebDeps {
  config: Config;
  redis: Redis;
  log: Logger;
  /** The clock (tests pass a fixed one). */
  now?: () => Date;
  /** How often the htpasswd file's metadata is checked for changes (default 1000 ms). */
  htpasswdStatIntervalMs?: number;
  /** Limits on failed-login work per client address (defaults in web/login-limiter.ts). */
  loginLimits?: LoginLimitOptions;
  /** The per-IP check plugins shown (default: lib/checks/index.ts; tests add their own). */
  plugins?: readonly AnyPlugin[];
  /** The overview's page cache: how long a request waits before it gets the last good page, etc. */
  pageCache?: PageCacheOptions;
  /** startServer: the data version's change notices (web/version-watch.ts); false: a GET per request. */
  versionWatch?: VersionWatchOptions | false;
  /** startServer: build the overview in a worker thread (web/render-thread.ts). Default true, unless `plugins` are given (a worker uses the built-in ones). */
  renderThread?: boolean;
}

export interface RunningServer {
  url: string;
  /** The node:http server underneath (for benchmarks that watch its connections and requests). */
  http: http.Server;
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

/** The security headers of every response: one middleware, whose headers the hot path also sends. */
const securityHeaders = secureHeaders({ contentSecurityPolicy: csp, xFrameOptions: 'DENY' });

/** The headers `securityHeaders` puts on a response, for answers written without Hono (web/hot-path.ts). */
export async function securityHeaderValues(): Promise<Record<string, string>> {
  const probe = new Hono();
  probe.use('*', securityHeaders);
  probe.get('/', (c) => c.body(null, 204));
  return Object.fromEntries((await probe.request('/')).headers);
}

/** What Node's http module refuses in a header value (it would throw while writing the response). */
const invalidHeaderValue = /[^\t\x20-\x7e\x80-\xff]/;

/** What every route shares, built once per app. */
export function webContext(deps: WebDeps): WebContext {
  const { config, redis, log } = deps;
  const k = keys(config.redis.prefix);
  return {
    config,
    redis,
    log,
    k,
    cache: new PageCache(
      { marker: staleMarker, note: staleNote },
      { onError: (e, key) => log.warn('overview render after a slow read failed', { page: key.split('\0')[0], error: (e as Error).message }), ...deps.pageCache },
    ),
    csrf: new CsrfTokens(),
    counters: new CounterReader(redis, k),
    version: new VersionReader(redis, k),
    now: deps.now ?? (() => new Date()),
    plugins: deps.plugins ?? checkPlugins,
  };
}

/** One error handler for both sub-apps: the same pages, headers and log lines whichever one failed. */
function errorHandler(log: Logger) {
  return (err: Error, c: Context<WebEnv>): Response => {
    if (err instanceof HTTPException) return err.getResponse();
    // Machines get JSON: the API, and the ESPs' webhooks (as their hot path answers, web/hot-path.ts).
    const api = c.req.path.startsWith('/api/') || c.req.path.startsWith('/webhooks/');
    const tooLarge = err instanceof BodyTooLargeError ? err : err.cause instanceof BodyTooLargeError ? err.cause : null;
    if (tooLarge) {
      log.warn('request body too large: refused', { path: c.req.path, limit: tooLarge.limit });
      const message = `The request body is larger than ${tooLarge.limit} bytes. Nothing was stored.`;
      // The rest of the body is not read: close the connection rather than drain it.
      if (api) return c.json({ error: 'payload too large', message }, 413, { Connection: 'close' });
      return c.html(page(ErrorPage({ user: c.get('user') ?? '', status: 413, title: 'Request too large', message })), 413, { Connection: 'close' });
    }
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
    if (err instanceof WrongTypeError) {
      // Redis is up; one key is not what mtarep stores there. Name it (key names hold no secret).
      log.error('dashboard request failed: a stored key has the wrong type', { path: c.req.path, key: err.key });
      const message = `The Redis key ${err.key} holds another Redis type than mtarep stores there, so this could not be saved. Delete or fix that key; the rest of the dashboard works.`;
      if (api) return c.json({ error: 'wrong key type', key: err.key, message }, 500);
      return c.html(page(ErrorPage({ user: c.get('user') ?? '', status: 500, title: 'Stored data problem', message })), 500);
    }
    log.error('dashboard request failed', { path: c.req.path, error: err.message, stack: err.stack });
    if (api) return c.json({ error: 'internal error' }, 500);
    return c.html(page(ErrorPage({ user: c.get('user') ?? '', status: 500, title: 'Internal error', message: 'Something went wrong; the error is in the log.' })), 500);
  };
}

/**
 * The whole app from its two sub-apps: shared headers and error handling around both; a request is the
 * machine sub-app's when one of its routes answers it, else the dashboard's (login first).
 */
export function composeApp(parts: { machine: Hono<WebEnv>; dashboard: Hono<WebEnv>; log: Logger }): Hono<WebEnv> {
  const { machine, dashboard, log } = parts;
  const onError = errorHandler(log);
  // The machine sub-app's "not found" means "not a machine route": marked, then passed on. The mark is
  // a header, not the Response object: for HEAD, Hono answers with a copy of the GET response.
  const passOn = 'x-mtarep-not-a-machine-route';
  machine.notFound(() => new Response(null, { status: 404, headers: { [passOn]: '1' } }));
  machine.onError(onError);
  dashboard.onError(onError);

  const app = new Hono<WebEnv>();
  app.use('*', securityHeaders);
  // Everything but the static assets is per user and changes with the data: never stored by caches
  // (error pages included). Routes that set their own Cache-Control keep it.
  app.use('*', async (c, next) => {
    await next();
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
  });
  // A header value Node would refuse to write (a control character) would fail after the app, as a
  // bare 500 with a stack on stderr and none of the headers above: caught here, it goes through the
  // error handler like any other failure.
  app.use('*', async (c, next) => {
    await next();
    for (const [name, value] of c.res.headers) {
      if (invalidHeaderValue.test(value)) {
        c.res = undefined; // hono: drop the response built so far
        c.res = onError(new Error(`response header ${name} holds a character HTTP cannot carry`), c);
        return;
      }
    }
  });
  app.use('*', bodyLimit());
  app.all('*', async (c) => {
    const res = await machine.fetch(c.req.raw, c.env);
    return res.status === 404 && res.headers.has(passOn) ? dashboard.fetch(c.req.raw, c.env) : res;
  });
  app.onError(onError);
  return app;
}

/** The app and what its routes share (startServer's hot path uses the same context and login store). */
function buildApp(deps: WebDeps): { app: Hono<WebEnv>; w: WebContext; htpasswd: HtpasswdStore } {
  const w = webContext(deps);
  const htpasswd = new HtpasswdStore(deps.config.httpAuthFile, deps.log, {
    ...(deps.htpasswdStatIntervalMs !== undefined ? { statIntervalMs: deps.htpasswdStatIntervalMs } : {}),
    ...(deps.loginLimits !== undefined ? { limits: deps.loginLimits } : {}),
  });
  return { app: composeApp({ machine: machineApp({ w, htpasswd }), dashboard: dashboardApp(w, htpasswd), log: deps.log }), w, htpasswd };
}

export function createApp(deps: WebDeps): Hono<WebEnv> {
  return buildApp(deps).app;
}

/**
 * What startServer answers before Hono (web/hot-path.ts): a cached overview, the ESP webhooks' POSTs.
 * Exported for the benchmarks, which serve their app the way startServer does.
 */
export async function serverHotPath(w: WebContext, htpasswd: HtpasswdStore): Promise<HotPath> {
  const shared = await securityHeaderValues();
  return hotPaths(overviewHotPath(w, htpasswd, shared), webhookHotPath(w, shared));
}

export async function startServer(deps: WebDeps): Promise<RunningServer> {
  const { app, w, htpasswd } = buildApp(deps);
  const hot = await serverHotPath(w, htpasswd);
  const watch = deps.versionWatch === false ? null : watchVersion(deps.redis, w.k, w.version, deps.log, deps.versionWatch);
  const thread = (deps.renderThread ?? deps.plugins === undefined) ? new RenderThread({ config: deps.config, redis: redisTargetOf(deps.redis) }, deps.log) : null;
  if (thread) w.renderThread = thread;
  // The hot path first; whatever it does not answer goes to Hono's listener untouched.
  const createServer = ((options: http.ServerOptions, listener: http.RequestListener) =>
    http.createServer(options, (req, res) => {
      if (!hot(req, res)) listener(req, res);
    })) as unknown as typeof http.createServer;
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: deps.config.listen.host, port: deps.config.listen.port, createServer }, (info: AddressInfo) => {
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}/`,
        http: server as http.Server,
        close: () =>
          new Promise<void>((r) => {
            watch?.close();
            void thread?.close();
            server.close(() => r());
            // Keep-alive connections would hold close() open.
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    server.once('error', (e) => {
      watch?.close();
      void thread?.close();
      reject(e);
    });
  });
}
