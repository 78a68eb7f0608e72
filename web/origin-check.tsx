/**
 * The dashboard's Origin check on unsafe methods: hono's csrf() middleware, exactly as strict as it is
 * (the Origin's host must be the host the browser addressed, or Sec-Fetch-Site must be same-origin),
 * with its refusal answered like every other error: a page that says why (JSON under /api/), logged.
 * hono's own answer is a bare text/plain "Forbidden".
 */
import type { Context, MiddlewareHandler } from 'hono';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from '../lib/log.js';
import { ErrorPage } from '../views/error.js';
import { page } from '../views/layout.js';
import type { WebEnv } from './env.js';

/** Same origin for POSTs: the Origin's host must be the host the browser addressed. */
function sameHost(origin: string, c: { req: { header(n: string): string | undefined; url: string } }): boolean {
  try {
    return new URL(origin).host === (c.req.header('host') ?? new URL(c.req.url).host);
  } catch {
    return false;
  }
}

/** Why a request was refused, for the page and the log. */
function refusal(c: Context<WebEnv>): { reason: string; message: string; hint: string } {
  const origin = c.req.header('origin');
  const site = c.req.header('sec-fetch-site');
  if (origin === undefined && site === undefined) {
    return {
      reason: 'no Origin header',
      message: 'The request did not say which site it came from (it had no Origin header), so it was refused. Nothing was done.',
      hint: 'Browsers send Origin with every form; a proxy in front of mtarep may strip it: configure it to pass the Origin header on.',
    };
  }
  return {
    reason: origin === undefined ? `Sec-Fetch-Site ${site!.slice(0, 40)}` : `Origin ${origin.slice(0, 200)}`,
    message: 'The request came from another site than this dashboard, so it was refused. Nothing was done.',
    hint: "If you sent it from this dashboard's own page, a proxy in front of mtarep may change the Host header: configure it to pass on the Host the browser sent.",
  };
}

/** hono's csrf() Origin check, its refusal answered with the app's 403 page (or JSON under /api/) and logged. */
export function originCheck(log: Logger): MiddlewareHandler<WebEnv> {
  const check = csrf({ origin: sameHost });
  return async (c, next): Promise<Response | void> => {
    let passed = false;
    try {
      await check(c, () => {
        passed = true;
        return next();
      });
    } catch (e) {
      // Only csrf()'s own refusal, thrown before it lets the request through; anything later is not its.
      if (passed || !(e instanceof HTTPException) || e.status !== 403) throw e;
      const why = refusal(c);
      log.warn('request refused by the Origin check', { method: c.req.method, path: c.req.path, user: c.get('user'), reason: why.reason });
      if (c.req.path.startsWith('/api/')) return c.json({ error: 'cross-origin request refused', message: why.message }, 403);
      return c.html(page(<ErrorPage user={c.get('user')} status={403} title="Request refused" message={why.message} hint={why.hint} />), 403);
    }
  };
}
