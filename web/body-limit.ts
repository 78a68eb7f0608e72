/**
 * A limit on request bodies, for every route (a logged-in POST /ack once read 250 MB into 1.3 GB of
 * memory). Nothing is buffered here: a declared Content-Length over the limit is refused before the
 * route runs, and a body without one (chunked) is counted as the route reads it, failing with
 * BodyTooLargeError at the first byte over the limit. The app's error handler answers 413 for both.
 */
import type { MiddlewareHandler } from 'hono';
import type { WebEnv } from './env.js';

/** Largest request body accepted anywhere (forms are a few hundred bytes; webhook batches more). */
export const maxBodyBytes = 1024 * 1024;

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

export function bodyLimit(limit = maxBodyBytes): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    // GET and HEAD carry no body (fetch's Request refuses one); asking for `raw.body` would make
    // @hono/node-server build a full Request per page view, the largest cost of a cached page.
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const raw = c.req.raw;
    if (raw.body === null) return next();
    const declared = raw.headers.get('content-length');
    if (declared !== null && !raw.headers.has('transfer-encoding')) {
      if (!/^\d+$/.test(declared) || Number(declared) > limit) throw new BodyTooLargeError(limit);
      return next();
    }
    let seen = 0;
    const counted = raw.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          seen += chunk.byteLength;
          if (seen > limit) ctl.error(new BodyTooLargeError(limit));
          else ctl.enqueue(chunk);
        },
      }),
    );
    c.req.raw = new Request(raw, { body: counted, duplex: 'half' } as RequestInit);
    return next();
  };
}
