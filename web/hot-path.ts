/**
 * Hot paths in the raw node:http request listener before Hono: the overview's (below) and the ESP
 * webhooks' (webhookHotPath, further down).
 *
 * The overview's hot path, in the raw node:http request listener before Hono. A `GET /` whose login
 * is remembered (web/auth.ts `rememberedLogin`, the first step of the basic-auth check) and whose page
 * is cached for a data version known without a round trip (web/data.ts VersionReader while its watch
 * is live, web/version-watch.ts) is answered here with the bytes and headers the route would send
 * (web/cache.ts `peek`: the current page, or the last one marked "may be a moment old" while the page
 * is being rebuilt):
 * the security headers of composeApp's one middleware (`sharedHeaders`) and the page's own
 * (web/send-page.ts `pageAnswer`: encoding, ETag, 304). Anything else (a login to check, a page to
 * render, a version to read, an unusual query, a body, any other route or method) goes on to Hono,
 * which answers it as before. Nothing here decides what a page shows.
 *
 * Why: measured in bench:web, Hono's chain (request and response objects, middleware, the two
 * sub-apps) and a Redis GET per request cost ~0.3 ms, three times what sending a 39 KiB gzip page costs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { webhookVendors } from '../lib/esp/webhooks/receive.js';
import type { WebhookVendor } from '../lib/esp/webhooks/events.js';
import type { HtpasswdStore } from './auth.js';
import { declaredLength, readIncoming } from './body-limit.js';
import type { WebContext } from './context.js';
import { overviewKey } from './routes/pages.js';
import { webhookReceiver } from './routes/webhooks.js';
import { pageAnswer, type PageAnswer } from './send-page.js';
import { parseSort, sortKeysOf } from './viewmodel/overview.js';

/** A query the hot path reads exactly as Hono would (no percent-escapes, no '+'): else Hono answers. */
const plainQuery = /^[A-Za-z0-9_.=&-]*$/;

/** Answers the request and returns true, or returns false having touched nothing (Hono answers it). */
export type HotPath = (req: IncomingMessage, res: ServerResponse) => boolean;

export function overviewHotPath(w: WebContext, store: HtpasswdStore, sharedHeaders: Readonly<Record<string, string>>): HotPath {
  const sortKeys = sortKeysOf(w.config, w.plugins);
  // The whole header set of an answer, made once per page variant, encoding and status.
  const made = new WeakMap<Buffer, Map<string, Record<string, string>>>();
  const headersOf = (a: PageAnswer): Record<string, string> => {
    const forBody = made.get(a.bytes.identity) ?? new Map<string, Record<string, string>>();
    made.set(a.bytes.identity, forBody);
    const id = `${a.status} ${a.headers['Content-Encoding'] ?? ''}`;
    let h = forBody.get(id);
    if (h === undefined) {
      h = { ...sharedHeaders, ...a.headers, ...(a.body === null ? {} : { 'Content-Length': String(a.body.length) }) };
      forBody.set(id, h);
    }
    return h;
  };
  return (req, res) => {
    if (req.method !== 'GET') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== '/') return false;
    const query = q < 0 ? '' : url.slice(q + 1);
    if (!plainQuery.test(query)) return false;
    const length = req.headers['content-length'];
    if ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined) return false;
    // Unknown while a change notice waits for its read: then only the last page marked "may be a
    // moment old" while it is being rebuilt (web/cache.ts peek); with no live watch, Hono reads it.
    if (!w.version.live) return false;
    const version = w.version.current();
    const user = store.rememberedHeader(req.headers.authorization, req.socket);
    if (user === null) return false;
    const params = query === '' ? null : new URLSearchParams(query);
    const sort = parseSort(params?.get('sort') ?? undefined, params?.get('dir') ?? undefined, sortKeys);
    const served = w.cache.peek(overviewKey(user, sort), version, req.socket);
    if (served === undefined) return false;
    const a = pageAnswer(served.bytes, req.headers['if-none-match'], req.headers['accept-encoding']);
    res.writeHead(a.status, headersOf(a));
    res.end(a.body ?? undefined);
    return true;
  };
}

/** `/webhooks/<vendor>` exactly (a query, a trailing slash or any other path: Hono answers). */
const webhookPaths = new Map<string, WebhookVendor>(webhookVendors.map((v) => [`/webhooks/${v}`, v]));

/**
 * The ESP webhooks' hot path: a `POST /webhooks/<vendor>` that declares its body length within the
 * app's limit (web/body-limit.ts) is answered here by the same receiver the Hono route uses
 * (web/routes/webhooks.ts webhookReceiver: signature, replay window, parse, exactly-once store), with
 * the headers composeApp's middleware gives every response (`sharedHeaders`, `Cache-Control:
 * no-store`) and the route's JSON. A failure the receiver does not answer itself is logged and
 * answered 500 as the app's error handler does (web/server.ts). Anything else (HEAD, a chunked body,
 * a length over the limit: 413) goes on to Hono.
 *
 * Why: measured in bench:webhooks, Hono's chain (web Request and Response, middleware, the machine
 * sub-app) costs a request about as much CPU as storing a batch of 100 events.
 */
export function webhookHotPath(w: WebContext, sharedHeaders: Readonly<Record<string, string>>): HotPath {
  const receiver = webhookReceiver(w);
  const headers: [string, string][] = [...Object.entries(sharedHeaders), ['content-type', 'application/json'], ['cache-control', 'no-store']];
  const send = (res: ServerResponse, status: number, body: Record<string, unknown>) => {
    const text = JSON.stringify(body);
    res.writeHead(status, [...headers.flat(), 'content-length', String(Buffer.byteLength(text))]);
    res.end(text);
  };
  const answer = async (vendor: WebhookVendor, size: number, req: IncomingMessage, res: ServerResponse) => {
    try {
      const body = await readIncoming(req, size);
      const r = await receiver.receive(vendor, { header: (name) => headerOf(req, name), body });
      send(res, r.status, r.body);
    } catch (e) {
      const err = e as Error;
      w.log.error('dashboard request failed', { path: `/webhooks/${vendor}`, error: err.message, stack: err.stack });
      if (!res.headersSent && !res.destroyed) send(res, 500, { error: 'internal error' });
    }
  };
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const vendor = webhookPaths.get(req.url ?? '');
    if (vendor === undefined) return false;
    const size = declaredLength(req);
    if (size === null) return false;
    void answer(vendor, size, req, res);
    return true;
  };
}

/** A request header as Hono's `c.req.header(name)` reads it (repeated ones joined with ', '). */
function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Several hot paths in turn: the first that answers. */
export function hotPaths(...paths: HotPath[]): HotPath {
  return (req, res) => paths.some((p) => p(req, res));
}
