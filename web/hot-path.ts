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
 * (web/send-page.ts `pageChoice` and `answerOf`: encoding, ETag, 304). Anything else (a login to
 * check, a page to render, a version to read, an unusual query, a body, any other route or method)
 * goes on to Hono, which answers it as before. Nothing here decides what a page shows.
 *
 * Why: measured in bench:web, Hono's chain (request and response objects, middleware, the two
 * sub-apps) and a Redis GET per request cost ~0.3 ms, three times what sending a 39 KiB gzip page costs.
 * What is left per request is made once where it can be: the cache key per user and query, the whole
 * answer (node's flat header list, body) per page variant and encoding; the few request headers read
 * are taken from `rawHeaders` (`hotHeaders`) rather than node's lazily built `req.headers` object.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { webhookVendors } from '../lib/esp/webhooks/receive.js';
import type { WebhookVendor } from '../lib/esp/webhooks/events.js';
import type { HtpasswdStore } from './auth.js';
import { declaredLength, readIncoming } from './body-limit.js';
import type { WebContext } from './context.js';
import { overviewKey } from './routes/pages.js';
import { webhookReceiver } from './routes/webhooks.js';
import type { PageBytes } from './cache.js';
import { answerOf, pageChoice, type PageChoice } from './send-page.js';
import { parseSort, sortKeysOf } from './viewmodel/overview.js';

/** A query the hot path reads exactly as Hono would (no percent-escapes, no '+'): else Hono answers. */
const plainQuery = /^[A-Za-z0-9_.=&-]*$/;

/** Answers the request and returns true, or returns false having touched nothing (Hono answers it). */
export type HotPath = (req: IncomingMessage, res: ServerResponse) => boolean;

export function overviewHotPath(w: WebContext, store: HtpasswdStore, sharedHeaders: Readonly<Record<string, string>>): HotPath {
  const sortKeys = sortKeysOf(w.config, w.plugins);
  // The page's cache key per user and query, made once: each request looks up the same string (its
  // hash known) instead of building and hashing a new one.
  const pageKeys = new Map<string, Map<string, string>>();
  const keyOf = (user: string, query: string): string => {
    let byQuery = pageKeys.get(user);
    if (byQuery === undefined) {
      if (pageKeys.size >= 1000) pageKeys.clear();
      pageKeys.set(user, (byQuery = new Map()));
    }
    let key = byQuery.get(query);
    if (key === undefined) {
      const params = query === '' ? null : new URLSearchParams(query);
      key = overviewKey(user, parseSort(params?.get('sort') ?? undefined, params?.get('dir') ?? undefined, sortKeys));
      if (byQuery.size >= 64) byQuery.clear();
      byQuery.set(query, key);
    }
    return key;
  };
  // The whole answer (status, every header as node's flat list, body) per page variant and choice.
  const prepared = new WeakMap<PageBytes, Map<PageChoice, Prepared>>();
  const preparedOf = (b: PageBytes, choice: PageChoice): Prepared => {
    let byChoice = prepared.get(b);
    if (byChoice === undefined) prepared.set(b, (byChoice = new Map()));
    let p = byChoice.get(choice);
    if (p === undefined) {
      const a = answerOf(b, choice);
      const headers = { ...sharedHeaders, ...a.headers, ...(a.body === null ? {} : { 'Content-Length': String(a.body.length) }) };
      p = { status: a.status, headers: Object.entries(headers).flat(), body: a.body ?? undefined };
      byChoice.set(choice, p);
    }
    return p;
  };
  return (req, res) => {
    if (req.method !== 'GET') return false;
    const url = req.url ?? '';
    let query = '';
    if (url !== '/') {
      if (!url.startsWith('/?')) return false;
      query = url.slice(2);
      if (!plainQuery.test(query)) return false;
    }
    const h = hotHeaders(req.rawHeaders);
    if (h === null) return false;
    // Unknown while a change notice waits for its read: then only the last page marked "may be a
    // moment old" while it is being rebuilt (web/cache.ts peek); with no live watch, Hono reads it.
    if (!w.version.live) return false;
    const version = w.version.current();
    const user = store.rememberedHeader(h.authorization, req.socket);
    if (user === null) return false;
    const served = w.cache.peek(keyOf(user, query), version, req.socket);
    if (served === undefined) return false;
    const p = preparedOf(served.bytes, pageChoice(served.bytes, h.ifNoneMatch, h.acceptEncoding));
    res.writeHead(p.status, p.headers);
    res.end(p.body);
    return true;
  };
}

interface Prepared {
  status: 200 | 304;
  headers: string[];
  body: Buffer | undefined;
}

/** The request headers the overview's hot path reads, as node's `req.headers` would give them. */
interface HotHeaders {
  authorization: string | undefined;
  ifNoneMatch: string | undefined;
  acceptEncoding: string | undefined;
}

/**
 * The headers `overviewHotPath` reads, from `rawHeaders` in one pass; null when the request has a
 * body (a Content-Length other than 0, a Transfer-Encoding) or more than one Authorization header
 * (node's `req.headers` keeps the first, Hono's request joins them and refuses the login: Hono's
 * answer). Why not `req.headers`: node builds that whole object on first use, a cost per request
 * larger than the rest of the hot path's own work. Repeated If-None-Match and Accept-Encoding headers
 * are joined with ', ' as both node and Hono do.
 */
export function hotHeaders(raw: readonly string[]): HotHeaders | null {
  const h: HotHeaders = { authorization: undefined, ifNoneMatch: undefined, acceptEncoding: undefined };
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    // Names by length first: most headers are dismissed without lower-casing them.
    switch (name.length) {
      case 13: {
        const n = name.toLowerCase();
        if (n === 'authorization') {
          if (h.authorization !== undefined) return null;
          h.authorization = value;
        } else if (n === 'if-none-match') h.ifNoneMatch = h.ifNoneMatch === undefined ? value : `${h.ifNoneMatch}, ${value}`;
        break;
      }
      case 14:
        if (value !== '0' && name.toLowerCase() === 'content-length') return null;
        break;
      case 15:
        if (name.toLowerCase() === 'accept-encoding') h.acceptEncoding = h.acceptEncoding === undefined ? value : `${h.acceptEncoding}, ${value}`;
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') return null;
        break;
    }
  }
  return h;
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
