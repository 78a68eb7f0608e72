/**
 * Sending a cached page (web/cache.ts): the bytes in the best encoding the client accepts, with
 * `Vary: Accept-Encoding`, a weak ETag and 304 Not Modified when the client already has those bytes.
 * Pages are per user: `private` (no shared cache may keep them), `no-cache` (a browser keeps them but
 * asks each time, which the ETag makes a small 304). One answer for both ways a page goes out: the
 * Hono route (`sendPage`) and the raw listener's hot path (web/hot-path.ts).
 */
import type { Context } from 'hono';
import { etagMatches, pickEncoding, type Encoding, type PageBytes, type Served } from './cache.js';
import type { WebEnv } from './env.js';

export interface PageAnswer {
  status: 200 | 304;
  headers: Record<string, string>;
  /** null for 304. */
  body: Buffer | null;
  /** The page variant answered with. */
  bytes: PageBytes;
}

/** How a request is answered: 304 (the client has these bytes), else the encoding sent. */
export type PageChoice = 304 | Encoding;

/** The choice for a request with these If-None-Match / Accept-Encoding headers. */
export function pageChoice(b: PageBytes, ifNoneMatch: string | undefined, acceptEncoding: string | undefined): PageChoice {
  return etagMatches(ifNoneMatch, b.etag) ? 304 : pickEncoding(acceptEncoding, b);
}

/** The status, headers and bytes of a choice (`pageChoice`). */
export function answerOf(b: PageBytes, choice: PageChoice): PageAnswer {
  const headers: Record<string, string> = {
    'Content-Type': 'text/html; charset=UTF-8',
    'Cache-Control': 'private, no-cache',
    ETag: b.etag,
    Vary: 'Accept-Encoding, Authorization',
  };
  if (choice === 304) return { status: 304, headers, body: null, bytes: b };
  if (choice !== 'identity') headers['Content-Encoding'] = choice;
  return { status: 200, headers, body: choice === 'identity' ? b.identity : b[choice]!, bytes: b };
}

/** The status, headers and bytes that answer a request with these If-None-Match / Accept-Encoding headers. */
export function pageAnswer(b: PageBytes, ifNoneMatch: string | undefined, acceptEncoding: string | undefined): PageAnswer {
  return answerOf(b, pageChoice(b, ifNoneMatch, acceptEncoding));
}

export function sendPage(c: Context<WebEnv>, served: Served): Response {
  const a = pageAnswer(served.bytes, c.req.header('if-none-match'), c.req.header('accept-encoding'));
  if (a.body === null) return c.body(null, 304, a.headers);
  // The Buffer itself, not a copy: @hono/node-server writes a Uint8Array body as is.
  return c.body(a.body as Uint8Array<ArrayBuffer>, 200, a.headers);
}
