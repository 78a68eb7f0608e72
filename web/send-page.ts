/**
 * Sending a cached page (web/cache.ts): the bytes in the best encoding the client accepts, with
 * `Vary: Accept-Encoding`, a weak ETag and 304 Not Modified when the client already has those bytes.
 * Pages are per user: `private` (no shared cache may keep them), `no-cache` (a browser keeps them but
 * asks each time, which the ETag makes a small 304).
 */
import type { Context } from 'hono';
import { etagMatches, pickEncoding, type Served } from './cache.js';
import type { WebEnv } from './env.js';

export function sendPage(c: Context<WebEnv>, served: Served): Response {
  const b = served.bytes;
  const headers: Record<string, string> = {
    'Content-Type': 'text/html; charset=UTF-8',
    'Cache-Control': 'private, no-cache',
    ETag: b.etag,
    Vary: 'Accept-Encoding, Authorization',
  };
  if (etagMatches(c.req.header('if-none-match'), b.etag)) return c.body(null, 304, headers);
  const enc = pickEncoding(c.req.header('accept-encoding'), b);
  if (enc !== 'identity') headers['Content-Encoding'] = enc;
  const body = enc === 'identity' ? b.identity : b[enc]!;
  // The Buffer itself, not a copy: @hono/node-server writes a Uint8Array body as is.
  return c.body(body as Uint8Array<ArrayBuffer>, 200, headers);
}
