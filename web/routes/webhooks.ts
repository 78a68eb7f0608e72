/**
 * POST /webhooks/sendgrid | mailgun | mandrill: the ESPs' event webhooks, on the machine sub-app
 * (outside basic auth and CSRF: each request is authenticated by its vendor's signature in
 * lib/esp/webhooks). HEAD answers 200 when the route is configured (Mandrill checks a new URL that
 * way); other methods 405. Bodies over the app-wide limit (web/body-limit.ts) are refused by it: 413.
 * On a socket (startServer), a POST with a declared body length is answered before Hono by
 * web/hot-path.ts webhookHotPath, with the same receiver, headers and answers.
 */
import type { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { WebhookReceiver, webhookVendors } from '../../lib/esp/webhooks/receive.js';
import { readBody } from '../body-limit.js';
import type { WebContext } from '../context.js';
import type { WebEnv } from '../env.js';

/** The one receiver of an app (its routes and the hot path share it, and so its ingest queue). */
const receivers = new WeakMap<WebContext, WebhookReceiver>();

export function webhookReceiver(w: WebContext): WebhookReceiver {
  let r = receivers.get(w);
  if (r === undefined) {
    r = new WebhookReceiver({ esp: w.config.esp, redis: w.redis, k: w.k, log: w.log, now: w.now, counterTtlSec: w.config.retention.countersDays * 86400 });
    receivers.set(w, r);
  }
  return r;
}

export function webhookRoutes(app: Hono<WebEnv>, w: WebContext): void {
  const receiver = webhookReceiver(w);
  for (const vendor of webhookVendors) {
    const path = `/webhooks/${vendor}`;
    app.post(path, async (c) => {
      const body = await readBody(c);
      const r = await receiver.receive(vendor, { header: (n) => c.req.header(n), body });
      return c.json(r.body, r.status as ContentfulStatusCode);
    });
    // Hono serves HEAD with the GET handler.
    app.get(path, (c) => {
      if (c.req.method === 'HEAD') return c.body(null, receiver.configured(vendor) ? 200 : 404);
      return c.json({ error: 'method not allowed: the ESP POSTs its events here' }, 405, { Allow: 'POST, HEAD' });
    });
    app.on(['PUT', 'DELETE', 'PATCH', 'OPTIONS'], path, (c) => c.json({ error: 'method not allowed' }, 405, { Allow: 'POST, HEAD' }));
  }
}
