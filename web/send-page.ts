/**
 * Sending a cached page (web/cache.ts): the bytes in the best encoding the client accepts, with
 * `Vary: Accept-Encoding`, a weak ETag and 304 Not Modified when the client already has those bytes.
 * Pages are per user: `private` (no shared cache may keep them), `no-cache` (a browser keeps them but
 * asks each time, which the ETag makes a small 304). One answer for both ways a page goes out: the
 * Hono route (`sendPage`) and the raw listener's hot path (web/hot-path.ts).
 */
import type { Context } from 'hono';
import { etagMatches, pickEncoding, type PageBytes, type Served } from './cache.js';
import type { WebEnv } from './env.js';

export interface PageAnswer {
  status: 200 | 304;
  headers: Record<string, string>;
  /** null for 304. */
  body: Buffer | null;
  /** The page variant answered with. */
  bytes: PageBytes;
}

/** The status, headers and bytes that answer a request with these If-None-Match / Accept-Encoding headers. */
export function pageAnswer(b: PageBytes, ifNoneMatch: string | undefined, acceptEncoding: string | undefined): PageAnswer {
  const headers: Record<string, string> = {
    'Content-Type': 'text/html; charset=UTF-8',
    'Cache-Control': 'private, no-cache',
    ETag: b.etag,
    Vary: 'Accept-Encoding, Authorization',
  };
  if (etagMatches(ifNoneMatch, b.etag)) return { status: 304, headers, body: null, bytes: b };
  const enc = pickEncoding(acceptEncoding, b);
  if (enc !== 'identity') headers['Content-Encoding'] = enc;
  return { status: 200, headers, body: enc === 'identity' ? b.identity : b[enc]!, bytes: b };
}

export function sendPage(c: Context<WebEnv>, served: Served): Response {
  const a = pageAnswer(served.bytes, c.req.header('if-none-match'), c.req.header('accept-encoding'));
  if (a.body === null) return c.body(null, 304, a.headers);
  // The Buffer itself, not a copy: @hono/node-server writes a Uint8Array body as is.
  return c.body(a.body as Uint8Array<ArrayBuffer>, 200, a.headers);
}
